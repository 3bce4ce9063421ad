"""One finding per root cause: findings that one flaw produces are merged (``root_causes.yaml``).

A finding is folded only into a kept finding at least as severe: when the echo says more than the
proof (a cross-identity read judged shared beside an adjacent-id read judged private), they are
two verdicts and stay apart. The finding kept gains the others as ``occurrences`` (type,
operation, parameter, severity), their evidence after its own (up to ``MAX_EVIDENCE`` items), the
highest severity and confidence of the group, and a clause in its detail naming the root cause
and what it stands for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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
        if cause.where == "field":
            current = _grouped(current, cause, _field_key)
        elif cause.where == "parameters":
            current = _grouped(current, cause, _operation_key)
        else:
            current = _fold(current, cause)
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


def _field_key(finding: Finding) -> tuple[str, str] | None:
    """One response field of one type (``where: field``), whatever the operation."""
    field = _field(finding)
    return None if field is None else (finding.type_id, field)


def _operation_key(finding: Finding) -> tuple[str, str] | None:
    """One type on one operation through a parameter (``where: parameters``)."""
    return None if finding.parameter is None else (finding.type_id, finding.operation)


def _grouped(
    findings: list[Finding],
    cause: RootCause,
    key: Callable[[Finding], tuple[str, str] | None],
) -> list[Finding]:
    """Findings of the cause's types that share ``key`` and differ in operation or parameter
    become one finding, the strongest, listing the others."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        shared = key(finding) if finding.type_id in cause.types else None
        if shared is not None:
            groups.setdefault(shared, []).append(finding)
    merged: dict[int, Finding] = {}
    gone: set[int] = set()
    for group in groups.values():
        if len({(f.operation, f.parameter) for f in group}) < 2:
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
    named = [_named(o, keeper) for o in occurrences]
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


def _named(occurrence: Occurrence, keeper: Finding) -> str:
    """How the kept finding's detail names an occurrence: its parameter on the same operation,
    its operation for the same type, else its type and operation."""
    if occurrence.type_id != keeper.type_id:
        return f"{occurrence.type_id} on {occurrence.operation}"
    if occurrence.operation == keeper.operation and occurrence.parameter:
        return f"`{occurrence.parameter}`"
    return occurrence.operation


def _order(occurrence: Occurrence) -> tuple[str, str, str]:
    return (occurrence.operation, occurrence.type_id, occurrence.parameter or "")
