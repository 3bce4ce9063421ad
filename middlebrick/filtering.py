"""Filter step: merge duplicate findings, drop contradicted ones, sort them deterministically.

Pure: the same findings, in any order, give the same list.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import cache

from middlebrick.findings import Evidence, Finding
from middlebrick.knowledge import categories

__all__ = ["MAX_EVIDENCE", "filter_findings", "sort_key"]

MAX_EVIDENCE = 3  # evidence items a merged finding keeps


def filter_findings(
    findings: Iterable[Finding], *, contradicted: Collection[str] = frozenset()
) -> list[Finding]:
    """Merge findings by fingerprint, drop contradicted fingerprints, and sort the rest.

    Of findings sharing a fingerprint the one with the highest severity, then confidence, wins
    (ties broken on content, never on input order); it keeps its own detail and gains the
    others' evidence after its own, up to ``MAX_EVIDENCE`` distinct items. The result is sorted
    by ``sort_key``: severity and confidence descending, then category report order, operation,
    parameter and type id.
    """
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.fingerprint in contradicted:
            continue
        groups.setdefault(finding.fingerprint, []).append(finding)
    merged = [_merge(group) for group in groups.values()]
    return sorted(merged, key=sort_key)


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


@cache
def _category_order(category: str) -> int:
    order = list(categories())
    return order.index(category) if category in order else len(order)


def _strength(finding: Finding) -> tuple[int, int, int, str]:
    # Higher is stronger. The JSON dump breaks ties on content so that input order never matters.
    return (
        finding.severity.rank,
        finding.confidence.rank,
        len(finding.evidence),
        finding.model_dump_json(),
    )


def _merge(group: list[Finding]) -> Finding:
    if len(group) == 1:
        return group[0]
    ranked = sorted(group, key=_strength, reverse=True)
    best = ranked[0]
    evidence: list[Evidence] = []
    for finding in ranked:
        for item in finding.evidence:
            if len(evidence) >= MAX_EVIDENCE:
                break
            if item not in evidence:
                evidence.append(item)
    return best.model_copy(update={"evidence": tuple(evidence)})
