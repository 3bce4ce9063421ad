"""Score step: findings -> category scores -> overall score -> grade.

Pure and exact: arithmetic uses ``Fraction`` so the same findings give the same score whatever
their order. Every number here is documented in ``docs/scoring.md``; change both together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from middlebrick.config import Context
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.knowledge import categories

__all__ = [
    "CONFIDENCE_FACTOR",
    "CONTEXT_MULTIPLIERS",
    "CRITICAL_CAP",
    "GRADE_BANDS",
    "HIGH_CONFIRMED_CAP",
    "HIGH_FIRM_CAP",
    "REPEAT_DECAY",
    "SEVERITY_WEIGHT",
    "CategoryStatus",
    "Scorecard",
    "category_deduction",
    "category_score",
    "category_weights",
    "deduction",
    "grade",
    "overall_score",
    "resolve_status",
    "score_cap",
    "score_findings",
]

CategoryStatus = Literal["checked", "partial", "not_checked"]

SEVERITY_WEIGHT: Mapping[Severity, int] = {
    Severity.critical: 40,
    Severity.high: 25,
    Severity.medium: 10,
    Severity.low: 3,
    Severity.info: 0,
}

CONFIDENCE_FACTOR: Mapping[Confidence, Fraction] = {
    Confidence.confirmed: Fraction(1),
    Confidence.firm: Fraction("0.8"),
    Confidence.tentative: Fraction("0.1"),  # an indicator: it weighs little until confirmed
}

# The n-th finding of one type in a category deducts REPEAT_DECAY ** (n - 1) of its base.
REPEAT_DECAY = Fraction(1, 2)

_X = Fraction
CONTEXT_MULTIPLIERS: Mapping[Context, Mapping[str, Fraction]] = {
    Context.general: {},
    Context.financial: {
        "authentication": _X("1.5"),
        "bola": _X("1.5"),
        "data_exposure": _X("1.5"),
        "encryption": _X("1.5"),
    },
    Context.medical: {
        "data_exposure": _X("1.5"),
        "property_authorization": _X("1.5"),
        "encryption": _X("1.5"),
        "bola": _X("1.3"),
    },
    Context.public: {"authentication": _X("0.7"), "rate_limiting": _X("1.3")},
    Context.internal: {"encryption": _X("0.6"), "inventory": _X("0.6")},
}

CRITICAL_CAP = 59  # any confirmed critical finding: below a D
HIGH_CONFIRMED_CAP = 79  # any confirmed high or firm critical finding: at most a C
HIGH_FIRM_CAP = 89  # any firm high finding: no A while it is open

GRADE_BANDS: tuple[tuple[str, int], ...] = (("A", 90), ("B", 80), ("C", 70), ("D", 60))


@dataclass(frozen=True)
class Scorecard:
    """Every number of one scan's score, and the statuses they were computed from."""

    status: dict[str, CategoryStatus]  # every category, in report order
    categories: dict[str, int | None]  # None when not checked
    uncapped: int | None  # weighted mean before caps
    cap: int | None  # the cap the findings impose, if any
    overall: int | None  # min(uncapped, cap); None when no category was checked
    grade: str | None


def deduction(finding: Finding) -> Fraction:
    """Base deduction of one finding: severity weight times confidence factor."""
    return SEVERITY_WEIGHT[finding.severity] * CONFIDENCE_FACTOR[finding.confidence]


def category_deduction(findings: Iterable[Finding]) -> Fraction:
    """Total deduction of one category's findings, repeats of a type diminishing.

    Within each type the findings are ranked by base deduction, largest first, and the n-th
    deducts ``base * REPEAT_DECAY ** (n - 1)``; the types' totals add up.
    """
    by_type: dict[str, list[Fraction]] = {}
    for finding in findings:
        by_type.setdefault(finding.type_id, []).append(deduction(finding))
    total = Fraction(0)
    for bases in by_type.values():
        for n, base in enumerate(sorted(bases, reverse=True)):
            total += base * REPEAT_DECAY**n
    return total


def category_score(findings: Iterable[Finding]) -> int:
    """Score 0..100 of one checked category: 100 minus its deduction, rounded, floored at 0."""
    return max(0, _round(100 - category_deduction(findings)))


def category_weights(context: Context) -> dict[str, Fraction]:
    """Each category's weight from categories.yaml times the context's multiplier."""
    multipliers = CONTEXT_MULTIPLIERS[context]
    return {
        cid: Fraction(str(cat.weight)) * multipliers.get(cid, Fraction(1))
        for cid, cat in categories().items()
    }


def overall_score(scores: Mapping[str, int | None], context: Context) -> int | None:
    """Weighted mean of the category scores that are not None, rounded; None if there are none."""
    weights = category_weights(context)
    _known(scores, "category score")
    scored = {cid: s for cid, s in scores.items() if s is not None}
    if not scored:
        return None
    total_weight = sum((weights[cid] for cid in scored), Fraction(0))
    weighted = sum((weights[cid] * s for cid, s in scored.items()), Fraction(0))
    return _round(weighted / total_weight)


def score_cap(findings: Iterable[Finding]) -> int | None:
    """The highest overall score the findings allow, or None when they impose no cap.

    Only evidence caps: a confirmed critical caps at ``CRITICAL_CAP``, a firm critical or a
    confirmed high at ``HIGH_CONFIRMED_CAP``, a firm high at ``HIGH_FIRM_CAP``; tentative
    findings never cap.
    """
    cap: int | None = None
    for finding in findings:
        limit = _CAPS.get((finding.severity, finding.confidence))
        if limit is not None:
            cap = limit if cap is None else min(cap, limit)
    return cap


_CAPS: Mapping[tuple[Severity, Confidence], int] = {
    (Severity.critical, Confidence.confirmed): CRITICAL_CAP,
    (Severity.critical, Confidence.firm): HIGH_CONFIRMED_CAP,
    (Severity.high, Confidence.confirmed): HIGH_CONFIRMED_CAP,
    (Severity.high, Confidence.firm): HIGH_FIRM_CAP,
}


def grade(score: int | None) -> str | None:
    """Letter grade of an overall score: A >= 90, B >= 80, C >= 70, D >= 60, else F."""
    if score is None:
        return None
    for letter, floor in GRADE_BANDS:
        if score >= floor:
            return letter
    return "F"


def resolve_status(
    declared: Mapping[str, CategoryStatus], findings: Iterable[Finding]
) -> dict[str, CategoryStatus]:
    """Every category's status, in report order; missing ones are not checked.

    A category declared ``not_checked`` that nevertheless has findings is ``partial``: some of
    its checks ran, so it must be scored.
    """
    _known(declared, "category status")
    with_findings = {f.category for f in findings}
    _known(with_findings, "finding category")
    resolved: dict[str, CategoryStatus] = {}
    for cid in categories():
        status = declared.get(cid, "not_checked")
        if status == "not_checked" and cid in with_findings:
            status = "partial"
        resolved[cid] = status
    return resolved


def score_findings(
    findings: Iterable[Finding], status: Mapping[str, CategoryStatus], context: Context
) -> Scorecard:
    """Score filtered findings: category scores, overall score after caps, and grade."""
    items = list(findings)
    resolved = resolve_status(status, items)
    by_category: dict[str, list[Finding]] = {cid: [] for cid in resolved}
    for finding in items:
        by_category[finding.category].append(finding)
    scores: dict[str, int | None] = {
        cid: None if resolved[cid] == "not_checked" else category_score(by_category[cid])
        for cid in resolved
    }
    uncapped = overall_score(scores, context)
    cap = score_cap(items)
    overall = uncapped if uncapped is None or cap is None else min(uncapped, cap)
    return Scorecard(
        status=resolved,
        categories=scores,
        uncapped=uncapped,
        cap=cap,
        overall=overall,
        grade=grade(overall),
    )


def _round(value: Fraction) -> int:
    # Half up, exactly: 79.5 -> 80.
    return math.floor(value + Fraction(1, 2))


def _known(ids: Iterable[str], what: str) -> None:
    unknown = sorted(set(ids) - set(categories()))
    if unknown:
        raise ValueError(
            f"unknown {what} id(s) {unknown}; expected one of {', '.join(categories())}"
        )
