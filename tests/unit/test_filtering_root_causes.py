"""Root causes of issue 21's class 8 still counted apart: one CORS policy, one handler's inputs."""

from __future__ import annotations

from middlebrick.filtering import filter_findings
from middlebrick.findings import Confidence, Finding, Severity, fingerprint

REFLECTED = "input_validation.cors-reflected-origin"
NULL = "input_validation.cors-null-origin"
CONFUSION = "input_validation.type-confusion"


def _finding(
    type_id: str, operation: str, severity: Severity, parameter: str | None = None
) -> Finding:
    return Finding(
        type_id=type_id,
        category=type_id.split(".")[0],
        title="title",
        severity=severity,
        confidence=Confidence.confirmed,
        operation=operation,
        parameter=parameter,
        detail="what the check saw",
        fingerprint=fingerprint(type_id, operation, parameter),
    )


def test_a_reflected_origin_and_the_null_origin_are_one_cors_policy() -> None:
    reflected = _finding(REFLECTED, "*", Severity.high)
    null = _finding(NULL, "*", Severity.high)

    [kept] = filter_findings([null, reflected]).findings

    assert kept.type_id == REFLECTED
    assert [(o.type_id, o.operation) for o in kept.occurrences] == [(NULL, "*")]
    assert f"one root cause (cors-origin-reflected): also {NULL} on *" in kept.detail


def test_a_null_origin_trusted_alone_stays_its_own_finding() -> None:
    null = _finding(NULL, "*", Severity.high)

    assert filter_findings([null]).findings == [null]


def test_one_operations_parameters_failing_the_same_way_are_one_finding() -> None:
    duration = _finding(CONFUSION, "GET /drip", Severity.medium, "duration")
    numbytes = _finding(CONFUSION, "GET /drip", Severity.medium, "numbytes")

    [kept] = filter_findings([numbytes, duration]).findings

    parameters = {kept.parameter, *(o.parameter for o in kept.occurrences)}
    assert parameters == {"duration", "numbytes"}
    assert kept.operations() == ("GET /drip",)
    assert "one root cause (parameter-validation): also `" in kept.detail


def test_the_same_parameter_name_on_two_operations_stays_two_findings() -> None:
    drip = _finding(CONFUSION, "GET /drip", Severity.medium, "duration")
    delay = _finding(CONFUSION, "GET /delay/{delay}", Severity.medium, "duration")

    kept = filter_findings([drip, delay]).findings

    assert sorted(f.operation for f in kept) == ["GET /delay/{delay}", "GET /drip"]
    assert all(not f.occurrences for f in kept)
