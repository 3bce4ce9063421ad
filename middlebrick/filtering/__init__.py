"""Filter step: the one place where the evidence rules apply to every finding.

In order: duplicates (same fingerprint) are merged; the evidence rules run, each over every
finding (``rules``: contradicted, member directories and role words in content, the caller's own
data, public by design, caused by the scan);
the findings of one root cause become one (``root_cause``); the result is sorted. Each rule
records in the finding's detail the evidence that decided it; what a rule drops is listed in
``Filtered.dropped`` (the report's notes).

Pure: the same findings and facts, in any order, give the same result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# The rule modules register in this order, which is the order they run in.
from middlebrick.filtering import contradicted as _contradicted  # noqa: F401
from middlebrick.filtering import directory as _directory  # noqa: F401
from middlebrick.filtering import own_data as _own_data  # noqa: F401
from middlebrick.filtering import own_group as _own_group  # noqa: F401
from middlebrick.filtering import public as _public  # noqa: F401
from middlebrick.filtering import scan_caused as _scan_caused  # noqa: F401
from middlebrick.filtering.facts import Answer, Caller, ScanFacts
from middlebrick.filtering.merge import MAX_EVIDENCE, merge_duplicates, sort_key
from middlebrick.filtering.root_cause import merge_root_causes
from middlebrick.filtering.rules import Verdict, apply_rules, evidence_rule, registered
from middlebrick.findings import Finding

__all__ = [
    "MAX_EVIDENCE",
    "Answer",
    "Caller",
    "Filtered",
    "ScanFacts",
    "Verdict",
    "evidence_rule",
    "filter_findings",
    "sort_key",
]


@dataclass(frozen=True)
class Filtered:
    """The findings the Filter kept, in report order, and a sentence per finding it dropped."""

    findings: list[Finding]
    dropped: list[str]

    def notes(self) -> list[str]:
        """The report notes that say what was dropped and why (one line, examples first)."""
        if not self.dropped:
            return []
        shown = "; ".join(self.dropped[:5])
        more = f"; and {len(self.dropped) - 5} more" if len(self.dropped) > 5 else ""
        return [f"{len(self.dropped)} finding(s) dropped by the evidence rules: {shown}{more}"]


def filter_findings(findings: Iterable[Finding], facts: ScanFacts | None = None) -> Filtered:
    """Merge duplicates, apply every evidence rule, merge root causes, sort."""
    merged = merge_duplicates(findings)
    kept, dropped = apply_rules(merged, facts or ScanFacts(), registered())
    return Filtered(sorted(merge_root_causes(kept), key=sort_key), sorted(dropped))
