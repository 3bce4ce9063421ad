"""Rule: a finding that a fresh repetition of its request no longer shows is dropped."""

from __future__ import annotations

from middlebrick.filtering.facts import ScanFacts
from middlebrick.filtering.rules import Verdict, evidence_rule
from middlebrick.findings import Finding


@evidence_rule(applies_to=("*",))
def contradicted(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """Drop what a corroborating probe contradicted: the same request, sent again fresh in the
    state the scan left the target in, no longer showed the flaw."""
    if finding.fingerprint not in facts.contradicted:
        return None
    return Verdict.drop("sent again fresh, its request no longer showed it")
