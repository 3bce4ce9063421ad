"""Rule: a server error seen after the scan's own writes counts only when it is seen again.

An active scan writes (and a reset changes state); a 5xx answer to a read made after that may
be the scan's own doing. The engine sends such a read again, fresh, once every write has been
undone (``ScanFacts.reconfirmed`` / ``contradicted``); this rule keeps the finding when it failed
again and drops it when it could not be re-confirmed. A contradicted one is dropped by the
``contradicted`` rule before this one runs.
"""

from __future__ import annotations

from middlebrick.filtering.facts import ScanFacts
from middlebrick.filtering.rules import Verdict, evidence_rule
from middlebrick.findings import Evidence, Finding

__all__ = ["after_writes", "server_error_read"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def server_error_read(finding: Finding) -> Evidence | None:
    """The evidence of a finding that rests on a 5xx answer to a read, if it does."""
    for item in finding.evidence:
        if item.status is not None and item.status >= 500 and item.request.method in _READS:
            return item
    return None


def after_writes(finding: Finding, facts: ScanFacts) -> bool:
    """True when the finding was raised after the scan first changed state on the target."""
    first = facts.first_write()
    at = facts.raised.get(finding.fingerprint)
    return first is not None and at is not None and at >= first


@evidence_rule(applies_to=("*",))
def caused_by_the_scan(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """A 5xx answer to a read, raised after the scan's own state-changing requests: kept when
    the read, sent again fresh after the writes were undone, failed again; else dropped."""
    evidence = server_error_read(finding)
    if evidence is None or not after_writes(finding, facts):
        return None
    if finding.fingerprint in facts.reconfirmed:
        return Verdict.keep(
            f"seen after the scan's own writes; sent again fresh once they were undone, "
            f"{evidence.request.method} {evidence.request.url} failed the same way"
        )
    return Verdict.drop(
        "a server error seen after the scan's own writes that could not be re-confirmed once "
        "they were undone"
    )
