"""Score step: every rule of docs/scoring.md, with its numbers."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from middlebrick.config import Context
from middlebrick.findings import Confidence, Finding, Severity, fingerprint
from middlebrick.knowledge import categories
from middlebrick.scoring import (
    CategoryStatus,
    category_score,
    category_weights,
    grade,
    overall_score,
    resolve_status,
    score_findings,
)

C, H, M, L, INFO = (Severity.critical, Severity.high, Severity.medium, Severity.low, Severity.info)
CONFIRMED, FIRM, TENTATIVE = Confidence.confirmed, Confidence.firm, Confidence.tentative
ALL_CHECKED: dict[str, CategoryStatus] = dict.fromkeys(categories(), "checked")


def _finding(
    type_id: str = "bola.adjacent-id",
    severity: Severity = H,
    confidence: Confidence = CONFIRMED,
    operation: str = "GET /items/{id}",
) -> Finding:
    return Finding(
        type_id=type_id,
        category=type_id.split(".")[0],
        title="title",
        severity=severity,
        confidence=confidence,
        operation=operation,
        detail="detail",
        fingerprint=fingerprint(type_id, operation),
    )


@pytest.mark.parametrize(
    ("severity", "confidence", "expected"),
    [
        (C, CONFIRMED, 60),
        (C, FIRM, 68),
        (C, TENTATIVE, 96),
        (H, CONFIRMED, 75),
        (H, FIRM, 80),
        (H, TENTATIVE, 98),  # 100 - 2.5, halves round up
        (M, CONFIRMED, 90),
        (M, FIRM, 92),
        (M, TENTATIVE, 99),
        (L, CONFIRMED, 97),
        (L, FIRM, 98),  # 100 - 2.4 = 97.6, rounded
        (L, TENTATIVE, 100),  # 100 - 0.3
        (INFO, CONFIRMED, 100),
    ],
)
def test_category_score_deducts_severity_weight_times_confidence_factor(
    severity: Severity, confidence: Confidence, expected: int
) -> None:
    assert category_score([_finding(severity=severity, confidence=confidence)]) == expected


def test_category_score_is_100_without_findings() -> None:
    assert category_score([]) == 100


def test_category_score_halves_each_repeat_of_a_type_on_other_operations() -> None:
    repeats = [_finding(severity=M, operation=f"GET /r{n}") for n in range(3)]

    assert category_score(repeats) == 83  # 100 - (10 + 5 + 2.5) = 82.5, halves round up


def test_category_score_counts_the_largest_repeat_at_full_weight_whatever_the_order() -> None:
    weak = _finding(confidence=FIRM, operation="GET /a")  # base 20
    strong = _finding(confidence=CONFIRMED, operation="GET /b")  # base 25

    assert category_score([weak, strong]) == category_score([strong, weak]) == 65  # 25 + 10


def test_category_score_survives_one_high_flaw_repeated_on_40_operations() -> None:
    repeats = [_finding(severity=H, operation=f"GET /r{n}") for n in range(40)]

    assert category_score(repeats) == 50  # 25 * (2 - 2**-39) rounds to 50


def test_category_score_adds_different_types_at_full_weight_and_floors_at_zero() -> None:
    three_types = [_finding(f"bola.type-{n}", severity=H) for n in range(3)]
    five_types = [_finding(f"bola.type-{n}", severity=H) for n in range(5)]

    assert category_score(three_types) == 25
    assert category_score(five_types) == 0


def test_category_weights_apply_the_context_multipliers() -> None:
    base = {cid: Fraction(str(cat.weight)) for cid, cat in categories().items()}
    expected = {
        Context.general: {},
        Context.financial: {
            "authentication": "1.5",
            "bola": "1.5",
            "data_exposure": "1.5",
            "encryption": "1.5",
        },
        Context.medical: {
            "data_exposure": "1.5",
            "property_authorization": "1.5",
            "encryption": "1.5",
            "bola": "1.3",
        },
        Context.public: {"authentication": "0.7", "rate_limiting": "1.3"},
        Context.internal: {"encryption": "0.6", "inventory": "0.6"},
    }
    for context, multipliers in expected.items():
        weights = category_weights(context)
        for cid, weight in base.items():
            assert weights[cid] == weight * Fraction(multipliers.get(cid, "1")), (context, cid)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (Context.general, 29),  # 100 * 0.6 / (1.5 + 0.6) = 28.57
        (Context.financial, 21),  # 100 * 0.6 / (2.25 + 0.6) = 21.05
        (Context.public, 36),  # 100 * 0.6 / (1.05 + 0.6) = 36.36
        (Context.internal, 19),  # 100 * 0.36 / (1.5 + 0.36) = 19.35
    ],
)
def test_overall_score_is_the_context_weighted_mean(context: Context, expected: int) -> None:
    assert overall_score({"authentication": 0, "inventory": 100}, context) == expected


def test_overall_score_excludes_not_checked_categories() -> None:
    scores: dict[str, int | None] = dict.fromkeys(categories(), None)
    scores["bola"] = 40

    assert overall_score(scores, Context.general) == 40


def test_overall_score_rounds_halves_up() -> None:
    assert overall_score({"authentication": 100, "bola": 99}, Context.general) == 100


def test_overall_score_is_none_when_no_category_was_checked() -> None:
    assert overall_score(dict.fromkeys(categories(), None), Context.general) is None


def test_score_findings_leaves_not_checked_categories_unscored_and_out_of_the_mean() -> None:
    status: dict[str, CategoryStatus] = {"bola": "checked", "encryption": "partial"}
    findings = [_finding(severity=M)]  # bola: 90; encryption: 100

    card = score_findings(findings, status, Context.general)

    assert card.categories["bola"] == 90
    assert card.categories["encryption"] == 100
    assert [cid for cid, s in card.categories.items() if s is None] == [
        cid for cid in categories() if cid not in status
    ]
    assert card.overall == 94  # (90 * 1.5 + 100 * 1.0) / 2.5
    assert card.grade == "A"


def test_score_findings_gives_no_score_or_grade_when_nothing_was_checked() -> None:
    card = score_findings([], {}, Context.general)

    assert (card.overall, card.grade) == (None, None)
    assert set(card.status.values()) == {"not_checked"}


def test_resolve_status_scores_a_not_checked_category_that_has_findings_as_partial() -> None:
    resolved = resolve_status({"bola": "not_checked"}, [_finding()])

    assert resolved["bola"] == "partial"
    assert resolved["ssrf"] == "not_checked"
    assert list(resolved) == list(categories())


def test_resolve_status_rejects_unknown_category_ids_naming_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"\['bolla'\].*authentication, bola"):
        resolve_status({"bolla": "checked"}, [])


def test_a_confirmed_critical_finding_caps_the_overall_score_at_59() -> None:
    card = score_findings([_finding(severity=C)], ALL_CHECKED, Context.general)

    assert card.uncapped is not None and card.uncapped > 90
    assert (card.cap, card.overall, card.grade) == (59, 59, "F")


def test_a_firm_critical_finding_caps_the_overall_score_at_79_not_59() -> None:
    card = score_findings([_finding(severity=C, confidence=FIRM)], ALL_CHECKED, Context.general)

    assert (card.cap, card.overall, card.grade) == (79, 79, "C")


def test_the_strictest_cap_wins_whatever_the_order() -> None:
    findings = [_finding("bola.a", severity=H, confidence=FIRM), _finding("bola.b", severity=C)]

    for order in (findings, findings[::-1]):
        assert score_findings(order, ALL_CHECKED, Context.general).cap == 59


def test_a_tentative_critical_finding_does_not_cap_the_score() -> None:
    card = score_findings(
        [_finding(severity=C, confidence=TENTATIVE)], ALL_CHECKED, Context.general
    )

    assert card.cap is None
    assert card.overall == card.uncapped


def test_a_confirmed_high_finding_caps_the_overall_score_at_79() -> None:
    card = score_findings([_finding(severity=H)], ALL_CHECKED, Context.general)

    assert (card.cap, card.overall, card.grade) == (79, 79, "C")


def test_a_firm_high_finding_caps_the_overall_score_at_89() -> None:
    card = score_findings([_finding(severity=H, confidence=FIRM)], ALL_CHECKED, Context.general)

    assert (card.cap, card.overall, card.grade) == (89, 89, "B")


def test_a_tentative_high_finding_does_not_cap_the_score() -> None:
    card = score_findings(
        [_finding(severity=H, confidence=TENTATIVE)], ALL_CHECKED, Context.general
    )

    assert card.cap is None
    assert card.overall == card.uncapped


def test_a_cap_never_raises_a_lower_score() -> None:
    findings = [_finding(f"bola.type-{n}", severity=C) for n in range(3)]

    card = score_findings(findings, {"bola": "checked"}, Context.general)

    assert (card.uncapped, card.cap, card.overall) == (0, 59, 0)


@pytest.mark.parametrize(
    ("score", "letter"),
    [(100, "A"), (90, "A"), (89, "B"), (80, "B"), (79, "C"), (70, "C"), (69, "D"), (60, "D"),
     (59, "F"), (0, "F"), (None, None)],
)  # fmt: skip
def test_grade_bands(score: int | None, letter: str | None) -> None:
    assert grade(score) == letter


def test_context_shifts_the_overall_score_of_the_same_findings() -> None:
    findings = [_finding("authentication.no-auth", severity=H, confidence=FIRM)]
    status: dict[str, CategoryStatus] = {"authentication": "checked", "rate_limiting": "checked"}

    general = score_findings(findings, status, Context.general).overall
    financial = score_findings(findings, status, Context.financial).overall
    public = score_findings(findings, status, Context.public).overall

    assert general is not None and financial is not None and public is not None
    assert financial < general < public


def test_the_same_findings_in_any_order_give_the_same_scorecard() -> None:
    findings = [
        _finding("bola.adjacent-id", H, FIRM, "GET /a"),
        _finding("bola.adjacent-id", H, CONFIRMED, "GET /b"),
        _finding("bola.adjacent-id", M, TENTATIVE, "GET /c"),
        _finding("data_exposure.ssn", C, TENTATIVE, "GET /u"),
        _finding("encryption.hsts", L, FIRM, "*"),
        _finding("inventory.banner", INFO, TENTATIVE, "*"),
    ]
    reference = score_findings(findings, ALL_CHECKED, Context.medical)
    rng = random.Random(7)
    for _ in range(20):
        shuffled = findings[:]
        rng.shuffle(shuffled)
        assert score_findings(shuffled, ALL_CHECKED, Context.medical) == reference


def test_the_worked_example_of_docs_scoring_md_holds() -> None:
    findings = [
        _finding("bola.foreign-id-access", H, FIRM, "GET /orders/{id}"),
        _finding("bola.foreign-id-access", H, FIRM, "GET /invoices/{id}"),
        _finding("bola.foreign-id-access", H, FIRM, "GET /users/{id}"),
        _finding("data_exposure.pii-email", M, CONFIRMED, "GET /users"),
        _finding("data_exposure.pii-email", M, CONFIRMED, "GET /users/{id}"),
        _finding("data_exposure.stack-trace", L, TENTATIVE, "GET /search"),
        _finding("encryption.hsts-missing", L, FIRM, "*"),
        _finding("rate_limiting.no-rate-limit", M, TENTATIVE, "*"),
    ]
    unchecked = {"ssrf", "unsafe_consumption", "llm_security"}
    status: dict[str, CategoryStatus] = {c: "checked" for c in categories() if c not in unchecked}

    card = score_findings(findings, status, Context.general)

    assert card.categories == {
        "authentication": 100,
        "bola": 65,
        "bfla": 100,
        "property_authorization": 100,
        "input_validation": 100,
        "rate_limiting": 99,
        "data_exposure": 85,
        "encryption": 98,
        "ssrf": None,
        "inventory": 100,
        "unsafe_consumption": None,
        "llm_security": None,
    }
    assert (card.uncapped, card.overall, card.grade) == (93, 89, "B")
    assert score_findings(findings, status, Context.financial).uncapped == 91

    findings[1] = _finding("bola.foreign-id-access", H, CONFIRMED, "GET /invoices/{id}")
    card = score_findings(findings, status, Context.general)
    assert (card.categories["bola"], card.uncapped, card.overall, card.grade) == (60, 92, 79, "C")
