"""Duplicates merged by fingerprint, and the report order of findings.

Pure: the same findings, in any order, give the same result.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from middlebrick.findings import Evidence, Finding
from middlebrick.knowledge import categories

__all__ = ["MAX_EVIDENCE", "merge_duplicates", "sort_key", "strength"]

MAX_EVIDENCE = 5  # evidence items a merged finding keeps


def merge_duplicates(findings: Iterable[Finding]) -> list[Finding]:
    """Merge findings that share a fingerprint (same type, operation and parameter).

    Of findings sharing a fingerprint the one with the highest severity, then confidence, wins
    (ties broken on content, never on input order); it keeps its own detail and gains the
    others' evidence after its own, up to ``MAX_EVIDENCE`` distinct items.
    """
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.fingerprint, []).append(finding)
    return [_merge(group) for group in groups.values()]


def sort_key(finding: Finding) -> tuple[int, int, int, str, str, str, str]:
    """The report order of a finding: worst first, then category order, operation, parameter."""
    return (
        -finding.severity.rank,
        -finding.confidence.rank,
        _category_order(finding.category),
        finding.operation,
        finding.parameter or "",
        finding.type_id,
        finding.fingerprint,
    )


def strength(finding: Finding) -> tuple[int, int, int, str]:
    """Which of two findings wins a merge: higher is stronger, ties broken on content."""
    return (
        finding.severity.rank,
        finding.confidence.rank,
        len(finding.evidence),
        finding.model_dump_json(),
    )


@cache
def _category_order(category: str) -> int:
    order = list(categories())
    return order.index(category) if category in order else len(order)


def _merge(group: list[Finding]) -> Finding:
    if len(group) == 1:
        return group[0]
    ranked = sorted(group, key=strength, reverse=True)
    best = ranked[0]
    evidence: list[Evidence] = []
    for finding in ranked:
        for item in finding.evidence:
            if len(evidence) >= MAX_EVIDENCE:
                break
            if item not in evidence:
                evidence.append(item)
    return best.model_copy(update={"evidence": tuple(evidence)})
