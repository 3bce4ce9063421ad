"""One finding per root cause: findings that one flaw produces are merged (``root_causes.yaml``).

A finding is folded only into a kept finding at least as severe: when the echo says more than the
proof (a cross-identity read judged shared beside an adjacent-id read judged private), they are
two verdicts and stay apart. The finding kept gains the others as ``occurrences`` (type,
operation, parameter, severity), their evidence after its own (up to ``MAX_EVIDENCE`` items), the
highest severity and confidence of the group, and a clause in its detail naming the root cause
and what it stands for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from middlebrick.filtering.merge import MAX_EVIDENCE, strength
from middlebrick.findings import Evidence, Finding, Occurrence
from middlebrick.knowledge import RootCause, root_causes

__all__ = ["merge_root_causes"]

_LISTED = 5  # occurrences a detail names; the field lists them all


def merge_root_causes(
    findings: Iterable[Finding], causes: Sequence[RootCause] | None = None
) -> list[Finding]:
    """Merge the findings of each root cause into one finding, cause by cause, in file order."""
    current = list(findings)
    for cause in root_causes() if causes is None else causes:
        current = _by_field(current, cause) if cause.where == "field" else _fold(current, cause)
    return current


def _fold(findings: list[Finding], cause: RootCause) -> list[Finding]:
    keepers = sorted((f for f in findings if f.type_id == cause.keep), key=strength, reverse=True)
    if not keepers:
        return findings
    joined: dict[int, list[Finding]] = {id(k): [] for k in keepers}
    rest: list[Finding] = []
    for finding in findings:
        if finding.type_id in cause.fold:
            keeper = next((k for k in keepers if _meet(k, finding, cause.where)), None)
            if keeper is not None:
                joined[id(keeper)].append(finding)
                continue
        rest.append(finding)
    return [
        _merged(f, joined[id(f)], cause) if id(f) in joined and joined[id(f)] else f for f in rest
    ]


def _meet(keeper: Finding, other: Finding, where: str) -> bool:
    if other.severity.rank > keeper.severity.rank:
        # the echo says more than the proof: another verdict (the kept finding may have been
        # judged shared or public), so the two stay apart rather than one raising the other
        return False
    if where == "target":
        return True
    if where == "operation":
        return keeper.operation == other.operation
    paths = {_path(e) for e in keeper.evidence}
    return any(_path(e) in paths for e in other.evidence)


def _path(evidence: Evidence) -> str:
    return urlsplit(evidence.request.url).path.rstrip("/") or "/"


def _by_field(findings: list[Finding], cause: RootCause) -> list[Finding]:
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        field = _field(finding) if finding.type_id in cause.types else None
        if field is not None:
            groups.setdefault((finding.type_id, field), []).append(finding)
    merged: dict[int, Finding] = {}
    gone: set[int] = set()
    for group in groups.values():
        if len({f.operation for f in group}) < 2:
            continue
        ranked = sorted(group, key=strength, reverse=True)
        merged[id(ranked[0])] = _merged(ranked[0], ranked[1:], cause)
        gone.update(id(f) for f in ranked[1:])
    return [merged.get(id(f), f) for f in findings if id(f) not in gone]


def _field(finding: Finding) -> str | None:
    """The response field a finding is about: its parameter, else its matched property."""
    if finding.parameter:
        return finding.parameter
    match = next((e.match for e in finding.evidence if e.match), None)
    return match.strip('"') if match else None


def _merged(keeper: Finding, others: list[Finding], cause: RootCause) -> Finding:
    others = sorted(others, key=strength, reverse=True)
    group = [keeper, *others]
    occurrences = list(keeper.occurrences)
    for other in others:
        occurrences.append(
            Occurrence(
                type_id=other.type_id,
                operation=other.operation,
                parameter=other.parameter,
                severity=other.severity,
            )
        )
        occurrences.extend(other.occurrences)
    evidence: list[Evidence] = []
    for item in (e for f in group for e in f.evidence):
        if len(evidence) < MAX_EVIDENCE and item not in evidence:
            evidence.append(item)
    occurrences = sorted(set(occurrences), key=_order)
    named = [
        o.operation if o.type_id == keeper.type_id else f"{o.type_id} on {o.operation}"
        for o in occurrences
    ]
    more = f" and {len(named) - _LISTED} more" if len(named) > _LISTED else ""
    clause = f"one root cause ({cause.id}): also {', '.join(named[:_LISTED])}{more}"
    return keeper.model_copy(
        update={
            "severity": max((f.severity for f in group), key=lambda s: s.rank),
            "confidence": max((f.confidence for f in group), key=lambda c: c.rank),
            "evidence": tuple(evidence),
            "occurrences": tuple(occurrences),
            "detail": f"{keeper.detail} [{clause}]",
        }
    )


def _order(occurrence: Occurrence) -> tuple[str, str, str]:
    return (occurrence.operation, occurrence.type_id, occurrence.parameter or "")
