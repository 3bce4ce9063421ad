"""Coverage: which answers are usable, and when a scan reached too little for a grade."""

from __future__ import annotations

import pytest

from middlebrick.coverage import MIN_RATIO, MIN_USABLE, measure, why_unusable
from middlebrick.http.exchange import Exchange, Headers, Request, Response

JSON = Headers.of({"Content-Type": "application/json"})


def _answer(status: int = 200, body: bytes = b'{"id": 1}', **extra: object) -> Exchange:
    response = Response(status=status, headers=JSON, body=body, url="http://t/x", **extra)  # type: ignore[arg-type]
    return Exchange(Request("GET", "http://t/x"), response)


@pytest.mark.parametrize(
    ("exchange", "why"),
    [
        (None, "not requested"),
        (Exchange(Request("GET", "http://t/x"), None, error="connection reset"), "no answer"),
        (_answer(404), "answered 404"),
        (_answer(410), "answered 404"),
        (_answer(405), "answered 405"),
        (_answer(429), "answered 429"),
        (_answer(500), "answered 5xx"),
        (_answer(503), "answered 5xx"),
        (_answer(body=b"{" * 10, truncated=True), "cut at the size cap"),
        (_answer(body=b"<html>not json</html>"), "unparseable"),
    ],
)
def test_an_answer_that_tells_the_checks_nothing_is_unusable(
    exchange: Exchange | None, why: str
) -> None:
    assert why_unusable(exchange) == why


@pytest.mark.parametrize(
    "exchange",
    [_answer(), _answer(201, b""), _answer(401), _answer(403), _answer(422), _answer(302, b"")],
)
def test_an_answer_the_api_gave_about_the_operation_is_usable(exchange: Exchange) -> None:
    assert why_unusable(exchange) is None


def _keys(n: int) -> list[str]:
    return [f"GET /r{i}" for i in range(n)]


def test_a_scan_where_most_operations_answered_is_graded() -> None:
    keys = _keys(10)
    exchanges = {k: _answer() for k in keys[:8]} | {k: _answer(404) for k in keys[8:]}

    coverage = measure(12, keys, exchanges)

    assert coverage.graded and coverage.usable == 8 and coverage.requested == 10
    assert coverage.sentence() == ("8 of 10 operations gave a usable answer (80 %): 2 answered 404")


def test_a_scan_where_most_requests_answered_404_is_not_graded() -> None:
    keys = _keys(10)
    exchanges = {k: _answer() for k in keys[:4]} | {k: _answer(404) for k in keys[4:]}

    coverage = measure(10, keys, exchanges)

    assert not coverage.graded
    assert coverage.incomplete == [
        "only 4 of 10 operations gave a usable answer (40 %; 6 answered 404: "
        "GET /r4, GET /r5, GET /r6 …); a grade needs 2 and 50 %"
    ]
    assert coverage.untested == [f"GET /r{n}: answered 404" for n in range(4, 10)]


def test_the_ratio_threshold_is_inclusive() -> None:
    keys = _keys(4)
    half = {k: _answer() for k in keys[:2]} | {k: _answer(500) for k in keys[2:]}

    assert MIN_RATIO == 0.5 and measure(4, keys, half).graded


def test_one_usable_operation_is_not_enough_for_a_grade() -> None:
    assert MIN_USABLE == 2
    assert not measure(1, _keys(1), {"GET /r0": _answer()}).graded
    assert measure(2, _keys(2), {k: _answer() for k in _keys(2)}).graded


def test_no_operation_or_none_requestable_is_not_graded() -> None:
    assert measure(0, [], {}).incomplete == ["no operation was found to test"]
    assert "writes need --active" in measure(5, [], {}).incomplete[0]


def test_a_step_that_stopped_early_makes_the_scan_incomplete_whatever_answered() -> None:
    keys = _keys(4)

    coverage = measure(4, keys, {k: _answer() for k in keys}, stopped=["discovery stopped"])

    assert coverage.incomplete == ["discovery stopped"]
