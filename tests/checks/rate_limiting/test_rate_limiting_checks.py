"""Rate limiting checks on recorded exchanges: each finding type, and the look-alikes it ignores."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from middlebrick.checks.rate_limiting import core as rate_limiting
from middlebrick.checks.rate_limiting.sizes import HUGE_PAGE
from middlebrick.config import Limits, ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

BURST = Limits().burst
HEALTH = Operation(method="GET", path="/health")
DYNAMO_REFUSAL = (
    "botocore.exceptions.ClientError: An error occurred (ValidationException) when calling the "
    "Query operation: 1 validation error detected: Value '0' at 'limit' failed to satisfy "
    "constraint: Member must have value greater than or equal to 1"
)


def _search(maximum: int | None = None) -> Operation:
    schema: dict[str, Any] = {"type": "integer"}
    if maximum is not None:
        schema["maximum"] = maximum
    return Operation(
        method="GET", path="/search", parameters=(Parameter("limit", "query", schema=schema),)
    )


def _records(count: int) -> list[dict[str, Any]]:
    return [{"id": f"r-{n}", "name": f"record {n}"} for n in range(count)]


def _key_cursor() -> str:
    key = {"item_id": "r-9", "owner_id": "alice"}
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


class _Pages(FakeSender):
    """A list endpoint: ``limit`` picks the page length out of ``total`` records."""

    def __init__(self, total: int, *, cap: int | None = None, zero: Response | None = None) -> None:
        super().__init__()
        self.total, self.cap, self.zero = total, cap, zero

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        self.sent.append(request)
        limit = int(parse_qs(urlsplit(request.url).query).get("limit", ["10"])[0])
        if limit == 0 and self.zero is not None:
            return Exchange(request, self.zero)
        size = min(max(limit, 1), self.cap or limit, self.total)
        more = _key_cursor() if size < self.total else None
        return Exchange(request, response(200, {"items": _records(size), "next_cursor": more}))


async def _page_sizes(operation: Operation, sender: FakeSender) -> list[Finding]:
    baseline = await sender.send(Request("GET", BASE + "/search"))
    return await run_check(
        "rate_limiting.page_sizes",
        baseline=make_baseline([(operation, replace(baseline, operation=operation.key))]),
        sender=sender,
    )


# --- rate-limit signals -------------------------------------------------------------------------


SEARCH = Operation(method="GET", path="/api/notes/search")


def _health(headers: dict[str, str] | None = None) -> list[tuple[Operation, Exchange]]:
    return [(HEALTH, exchange("GET", "/health", response(200, {"ok": True}, headers)))]


def _searches(headers: dict[str, str] | None = None) -> list[tuple[Operation, Exchange]]:
    answer = response(200, {"results": []}, headers)
    return [(SEARCH, exchange("GET", "/api/notes/search", answer, operation=SEARCH.key))]


class _Notes(FakeSender):
    """Remembers the check's notes, as the scan's client does."""

    def __init__(self, routes: dict[tuple[str, str], Any] | None = None) -> None:
        super().__init__(routes)
        self.notes: list[str] = []

    def note(self, sentence: str) -> None:
        self.notes.append(sentence)


async def _signals_run(
    pairs: list[tuple[Operation, Exchange]], sender: FakeSender, burst: int = BURST
) -> list[Finding]:
    return await run_check(
        "rate_limiting.rate_limit_signals",
        baseline=make_baseline(pairs),
        sender=sender,
        scan=ScanRequest(target=BASE, limits=Limits(burst=burst)),
    )


async def test_rate_limit_signals_check_notes_a_search_that_answers_a_default_burst() -> None:
    sender = FakeSender({("GET", "/api/notes/search"): response(200, {"results": []})})

    found = await _signals_run([*_searches(), *_health()], sender)

    assert [(f.type_id, f.operation, f.severity, f.confidence) for f in found] == [
        ("rate_limiting.no-rate-limit", "*", Severity.info, Confidence.tentative)
    ]
    assert len(sender.sent) == BURST
    assert {urlsplit(r.url).path for r in sender.sent} == {"/api/notes/search"}
    assert len({r.headers.get("X-Request-ID") for r in sender.sent}) == BURST
    detail = found[0].detail
    assert f"{BURST} requests to `GET /api/notes/search` (its path names `search`) in" in detail
    assert "/s on average" in detail and f"{BURST} requests cannot tell a missing limit" in detail
    assert "send --burst 100 to measure one" in detail
    assert [e.label for e in found[0].evidence] == ["burst 1", f"burst {BURST}"]


async def test_rate_limit_signals_check_is_medium_and_firm_after_100_fast_requests() -> None:
    sender = FakeSender({("GET", "/api/notes/search"): response(200, {"results": []})})

    found = await _signals_run(_searches(), sender, burst=100)

    assert [(f.severity, f.confidence) for f in found] == [(Severity.medium, Confidence.firm)]
    assert "cannot tell" not in found[0].detail


async def test_rate_limit_signals_check_aims_at_an_operation_with_a_search_parameter() -> None:
    listing = Operation(
        method="GET",
        path="/api/tickets",
        parameters=(Parameter("q", "query", schema={"type": "string"}),),
    )
    pairs = [(listing, exchange("GET", "/api/tickets", response(200, [])))]
    sender = FakeSender({("GET", "/api/tickets"): response(200, [])})

    found = await _signals_run([*pairs, *_health()], sender)

    assert "it takes the search parameter `q`" in found[0].detail


async def test_rate_limit_signals_check_sends_nothing_where_no_limit_matters() -> None:
    # health, heartbeat and an ordinary listing: a burst there measures nothing
    beat = Operation(method="GET", path="/__lbheartbeat__")
    listing = Operation(method="GET", path="/api/notes")
    pairs = [
        *_health(),
        (beat, exchange("GET", "/__lbheartbeat__", response(200, {}))),
        (listing, exchange("GET", "/api/notes", response(200, []))),
    ]
    sender = _Notes()

    assert await _signals_run(pairs, sender) == []
    assert sender.sent == []
    assert sender.notes and "rate limiting was not measured" in sender.notes[0]


async def test_rate_limit_signals_check_reads_only_the_leading_verb_of_a_summary() -> None:
    # httpbin's GET /get: "The request's query parameters." names no search
    echo = Operation(method="GET", path="/get", summary="The request's query parameters.")
    finder = Operation(method="GET", path="/things", operation_id="searchThings")
    pairs = [
        (echo, exchange("GET", "/get", response(200, {}))),
        (finder, exchange("GET", "/things", response(200, [1, 2]))),
    ]
    sender = FakeSender({("GET", "/things"): response(200, [1, 2])})

    found = await _signals_run(pairs, sender)

    assert "`GET /things` (its operationId names `search`)" in found[0].detail


async def test_rate_limit_signals_check_never_bursts_an_authentication_or_html_search() -> None:
    login = Operation(method="GET", path="/auth/login/search")
    page = Operation(method="GET", path="/search")
    html = response(200, "<html><body>search</body></html>", {"Content-Type": "text/html"})
    pairs = [
        (login, exchange("GET", "/auth/login/search", response(200, {}))),
        (page, exchange("GET", "/search", html)),
    ]
    sender = FakeSender()

    assert await _signals_run(pairs, sender) == []
    assert sender.sent == []


async def test_rate_limit_signals_check_stays_quiet_when_the_burst_is_too_slow_to_measure() -> None:
    class Slow(_Notes):
        lock = asyncio.Lock()

        async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
            async with self.lock:
                await asyncio.sleep(0.3)
            return Exchange(request, response(200, {"results": []}))

    sender = Slow()

    assert await _signals_run(_searches(), sender, burst=5) == []
    assert "too slow to meet a limit" in sender.notes[0]


async def test_rate_limit_signals_check_stays_quiet_when_the_baseline_shows_ratelimit_headers() -> (
    None
):
    sender = FakeSender()

    assert await _signals_run(_searches({"X-RateLimit-Remaining": "59"}), sender) == []
    assert sender.sent == []


async def test_rate_limit_signals_check_stays_quiet_when_the_burst_meets_a_429() -> None:
    answers = iter(range(BURST))

    def limited(request: Request) -> Response:
        return response(429 if next(answers) >= 20 else 200, {"results": []})

    sender = FakeSender({("GET", "/api/notes/search"): limited})

    assert await _signals_run(_searches(), sender) == []


async def test_rate_limit_signals_check_stays_quiet_when_a_burst_answer_carries_retry_after() -> (
    None
):
    answer = response(200, {"results": []}, {"Retry-After": "1"})
    sender = FakeSender({("GET", "/api/notes/search"): answer})

    assert await _signals_run(_searches(), sender) == []


async def test_rate_limit_signals_check_stays_quiet_when_the_burst_is_inconclusive() -> None:
    sender = FakeSender({("GET", "/api/notes/search"): response(503, {"error": "overloaded"})})

    assert await _signals_run(_searches(), sender) == []


# --- page sizes ---------------------------------------------------------------------------------


async def test_page_sizes_check_reports_a_page_longer_than_any_common_cap() -> None:
    found = await _page_sizes(_search(), _Pages(total=1500))

    assert [(f.type_id, f.confidence, f.severity) for f in found] == [
        ("rate_limiting.unbounded-page-size", Confidence.firm, Severity.medium),
        ("rate_limiting.dynamodb-unbounded-limit", Confidence.firm, Severity.medium),
    ]
    assert "no common cap (1000 or less) held it" in found[0].detail


async def test_page_sizes_check_reports_a_short_collection_returned_whole_at_info() -> None:
    # 60 records for limit=100000: a server capping at 100 would answer the same.
    found = await _page_sizes(_search(), _Pages(total=60))

    assert [(f.type_id, f.parameter, f.confidence, f.severity) for f in found] == [
        ("rate_limiting.unbounded-page-size", "limit", Confidence.tentative, Severity.info),
        ("rate_limiting.dynamodb-unbounded-limit", "limit", Confidence.firm, Severity.info),
    ]
    assert "the bound could not be assessed" in found[0].detail
    assert f"limit={HUGE_PAGE} made `GET /search` return 60 records" in found[0].detail
    assert "where the baseline page held 10" in found[0].detail
    assert "LastEvaluatedKey" in found[1].detail
    assert [e.label for e in found[0].evidence] == ["probe", "baseline"]


async def test_page_sizes_check_confirms_a_page_beyond_the_declared_maximum() -> None:
    found = await _page_sizes(_search(maximum=50), _Pages(total=80))

    assert (found[0].type_id, found[0].confidence) == (
        "rate_limiting.unbounded-page-size",
        Confidence.confirmed,
    )
    assert "the declared maximum is 50" in found[0].detail


async def test_page_sizes_check_confirms_dynamodb_refusing_a_limit_of_zero() -> None:
    sender = _Pages(total=5, zero=response(500, DYNAMO_REFUSAL, {"Content-Type": "text/plain"}))

    found = await _page_sizes(_search(), sender)

    assert [(f.type_id, f.confidence) for f in found] == [
        ("rate_limiting.dynamodb-unbounded-limit", Confidence.confirmed)
    ]
    assert "limit=0 made `GET /search` answer 500" in found[0].detail
    assert found[0].evidence[0].match == "Value '0' at 'limit' failed to satisfy constraint"
    assert len(sender.sent) == 1 + 2  # the baseline, then 100000 and 0


async def test_page_sizes_check_stays_quiet_when_the_server_clamps_the_page() -> None:
    assert await _page_sizes(_search(), _Pages(total=60, cap=10)) == []


async def test_page_sizes_check_stays_quiet_when_the_page_stops_at_the_declared_maximum() -> None:
    assert await _page_sizes(_search(maximum=50), _Pages(total=80, cap=50)) == []


async def test_page_sizes_check_stays_quiet_when_the_long_page_looks_like_a_cap() -> None:
    class _CapWithoutCursor(_Pages):
        async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
            answer = await super().send(request, follow_redirects=follow_redirects)
            body = answer.response.json if answer.response else {}
            body["next_cursor"] = None  # a server that clamps at 100 and says nothing more
            return replace(answer, response=response(200, body))

    assert await _page_sizes(_search(), _CapWithoutCursor(total=500, cap=100)) == []


async def test_page_sizes_check_stays_quiet_without_a_page_size_parameter() -> None:
    sender = _Pages(total=60)
    operation = Operation(method="GET", path="/search")

    assert await _page_sizes(operation, sender) == []
    assert len(sender.sent) == 1  # the baseline only


# --- response sizes -----------------------------------------------------------------------------


async def test_response_sizes_check_reports_a_megabyte_answer() -> None:
    export = Operation(method="GET", path="/export")
    big = response(200, b"[" + b"0," * 600_000 + b"0]", {"Content-Type": "application/json"})

    found = await run_check(
        "rate_limiting.response_sizes",
        baseline=make_baseline([(export, exchange("GET", "/export", big))]),
    )

    assert [(f.type_id, f.operation) for f in found] == [
        ("rate_limiting.oversized-response", "GET /export")
    ]
    assert "1200003 bytes" in found[0].detail


async def test_response_sizes_check_reports_a_body_cut_at_the_scan_cap() -> None:
    export = Operation(method="GET", path="/export")
    cut = replace(response(200, b"x" * 2048), truncated=True)

    found = await run_check(
        "rate_limiting.response_sizes",
        baseline=make_baseline([(export, exchange("GET", "/export", cut))]),
        scan=ScanRequest(target=BASE, limits=Limits(max_body_bytes=2_000_000)),
    )

    assert "more than 2000000 bytes" in found[0].detail


async def test_response_sizes_check_stays_quiet_for_ordinary_answers() -> None:
    found = await run_check("rate_limiting.response_sizes", baseline=make_baseline(_health()))

    assert found == []


async def test_rate_limit_signals_sends_nothing_when_the_burst_is_off() -> None:
    op = Operation("GET", "/health")
    sender = FakeSender({("GET", "/health"): response(200, {"ok": True})})
    baseline = make_baseline([(op, exchange("GET", "/health", response(200, {"ok": True})))])
    scan = ScanRequest(target=BASE, limits=Limits(burst=0))
    found = await run_check(
        "rate_limiting.rate_limit_signals", baseline=baseline, sender=sender, scan=scan
    )
    assert found == [] and sender.sent == []


class _Clocked(FakeSender):
    """A search on a fake clock: a server that answers one request every 0.125 s, the burst's
    requests on the wire at once (``queue``) or a client sending one after another."""

    def __init__(self, *, one_at_a_time: bool) -> None:
        super().__init__({("GET", "/api/notes/search"): response(200, {"results": []})})
        self.now, self.one_at_a_time, self.lock = 0.0, one_at_a_time, asyncio.Lock()

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        if self.one_at_a_time:
            await self.lock.acquire()
        entered = self.now
        await asyncio.sleep(0)  # every request of the burst reaches here before any answer
        self.now += 0.125
        answered = await super().send(request, follow_redirects=follow_redirects)
        if self.one_at_a_time:
            self.lock.release()
        assert answered.response is not None
        took = replace(answered.response, elapsed_ms=(self.now - entered) * 1000)
        return replace(answered, response=took)


async def test_rate_limit_signals_check_is_firm_when_a_slow_server_got_the_burst_at_once(
    monkeypatch: Any,
) -> None:
    sender = _Clocked(one_at_a_time=False)
    monkeypatch.setattr(rate_limiting, "clock", lambda: sender.now)

    found = await _signals_run(_searches(), sender, burst=100)

    assert [(f.severity, f.confidence) for f in found] == [(Severity.medium, Confidence.firm)]
    assert "in 12.5 s (8/s on average, 100 of them reaching the server within one" in (
        found[0].detail
    )


async def test_rate_limit_signals_check_stays_info_when_requests_went_out_eight_a_second(
    monkeypatch: Any,
) -> None:
    sender = _Clocked(one_at_a_time=True)
    monkeypatch.setattr(rate_limiting, "clock", lambda: sender.now)

    found = await _signals_run(_searches(), sender, burst=100)

    assert [(f.severity, f.confidence) for f in found] == [(Severity.info, Confidence.tentative)]
    assert "8 of them reaching the server within one second" in found[0].detail
    assert "fewer than 20 requests within one second cannot tell" in found[0].detail


def test_peak_rate_counts_the_most_requests_within_one_second() -> None:
    assert rate_limiting.peak_rate([0.0, 0.5, 0.99, 1.0, 1.2, 1.3, 1.4, 5.0]) == 6
    assert rate_limiting.peak_rate([0.0, 1.0, 2.0]) == 1
    assert rate_limiting.peak_rate([]) == 0
