"""HttpClient against small local servers: credentials, exact URLs, cache, redirects, retries."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from middlebrick.config import Credential, Limits, ScanRequest
from middlebrick.errors import BudgetExhausted, ScopeViolation, TimeBudgetExhausted, UsageError
from middlebrick.http.client import HttpClient
from middlebrick.http.evidence import REDACTED
from middlebrick.http.exchange import ANONYMOUS, Exchange, Request

TOKEN = "tok-5f0a9c7e1b2d4e6f"
ALICE = "alice-key-0d9e8f7a6b"
FAST = Limits(rate=1e6, retries=2)


@dataclass
class Site:
    """A local aiohttp server that logs what it received."""

    base: str
    seen: list[web.Request] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = field(
        default_factory=dict
    )


async def _serve(site: Site) -> AsyncIterator[Site]:
    async def handler(request: web.Request) -> web.StreamResponse:
        site.seen.append(request)
        site.hits[request.path] += 1
        route = site.routes.get(request.path)
        if route is not None:
            return await route(request)
        return web.json_response(
            {"raw_path": request.raw_path, "headers": dict(request.headers)},
            headers={"Set-Cookie": "sid=from-server; HttpOnly"},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    site.base = f"http://127.0.0.1:{port}"
    yield site
    await runner.cleanup()


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async for served in _serve(Site("")):
        yield served


@pytest.fixture
async def other_site() -> AsyncIterator[Site]:
    async for served in _serve(Site("")):
        yield served


def _scan(base: str, **changes: object) -> ScanRequest:
    values: dict[str, object] = {
        "target": base,
        "headers": (("Authorization", f"Bearer {TOKEN}"), ("X-Trace", "t-1")),
        "identities": {"alice": Credential(headers=(("X-API-Key", ALICE),))},
        "limits": FAST,
    }
    values.update(changes)
    return ScanRequest(**values)  # type: ignore[arg-type]


async def _send(scan: ScanRequest, request: Request, **kwargs: bool) -> tuple[Exchange, HttpClient]:
    async with HttpClient(scan) as client:
        exchange = await client.send(request, **kwargs)
    return exchange, client


# credentials


async def test_default_identity_sends_the_scan_headers_and_the_primarys(site: Site) -> None:
    await _send(_scan(site.base), Request("GET", site.base + "/me"))
    headers = site.seen[0].headers
    assert headers["Authorization"] == f"Bearer {TOKEN}" and headers["X-Trace"] == "t-1"
    assert headers["X-API-Key"] == ALICE
    assert headers["Accept-Encoding"] == "gzip, deflate"


async def test_named_identity_sends_its_own_credentials_and_the_custom_headers(site: Site) -> None:
    await _send(_scan(site.base), Request("GET", site.base + "/me", identity="alice"))
    headers = site.seen[0].headers
    assert headers["X-API-Key"] == ALICE and headers["X-Trace"] == "t-1"
    assert "Authorization" not in headers


async def test_default_identity_is_the_primary_when_no_credential_header_is_given(
    site: Site,
) -> None:
    scan = _scan(site.base, headers=(("X-Trace", "t-1"),))
    await _send(scan, Request("GET", site.base + "/me"))
    headers = site.seen[0].headers
    assert headers["X-API-Key"] == ALICE and headers["X-Trace"] == "t-1"


async def test_query_api_key_is_added_on_the_wire_and_never_recorded(site: Site) -> None:
    scan = _scan(
        site.base,
        headers=(),
        identities={"svc": Credential(query=(("api_key", "q-secret-7781"),))},
    )
    exchange, client = await _send(scan, Request("GET", site.base + "/me?x=1"))
    assert dict(site.seen[0].query) == {"x": "1", "api_key": "q-secret-7781"}
    evidence = client.record(exchange)
    assert "q-secret-7781" not in evidence.model_dump_json()
    assert "--url-query 'api_key='\"$MIDDLEBRICK_API_KEY\"" in evidence.curl


async def test_anonymous_identity_sends_no_credentials(site: Site) -> None:
    await _send(_scan(site.base), Request("GET", site.base + "/me").without_credentials())
    headers = site.seen[0].headers
    assert "Authorization" not in headers and "X-API-Key" not in headers


async def test_a_header_set_on_the_request_wins_over_the_identitys(site: Site) -> None:
    request = Request("GET", site.base + "/me").with_header("Authorization", "Bearer forged")
    await _send(_scan(site.base), request)
    assert site.seen[0].headers.getall("Authorization") == ["Bearer forged"]


async def test_unknown_identity_is_a_usage_error(site: Site) -> None:
    with pytest.raises(UsageError, match="unknown identity 'mallory'; known identities: alice"):
        await _send(_scan(site.base), Request("GET", site.base + "/", identity="mallory"))
    assert site.seen == []


async def test_cookies_set_by_the_target_are_never_sent_back(site: Site) -> None:
    async with HttpClient(_scan(site.base)) as client:
        await client.send(Request("GET", site.base + "/a"))
        await client.send(Request("GET", site.base + "/b"))
    assert "Cookie" not in site.seen[1].headers


# URLs


@pytest.mark.parametrize(
    "path",
    [
        "/files/..%2f..%2fetc%2fpasswd",
        "/a/../b",
        "/static/%2e%2e/%2e%2e/secret",
        "/x/..%252f..%252fetc",
        "/q?a=%zz&b=..%2f",
    ],
)
async def test_urls_are_sent_byte_exact(site: Site, path: str) -> None:
    exchange, _ = await _send(_scan(site.base), Request("GET", site.base + path))
    assert site.seen[0].raw_path == path
    assert exchange.response is not None and exchange.response.url == site.base + path


# scope and budgets


async def test_requests_outside_the_scope_raise_and_never_leave(site: Site) -> None:
    async with HttpClient(_scan(site.base)) as client:
        with pytest.raises(ScopeViolation, match="safe mode sends only GET"):
            await client.send(Request("DELETE", site.base + "/items/1"))
        with pytest.raises(ScopeViolation, match="outside the scope"):
            await client.send(Request("GET", f"http://127.0.0.2:1/?t={TOKEN}"))
    assert site.seen == []
    assert client.stats.requests == 0


async def test_scope_violation_messages_are_redacted(site: Site) -> None:
    async with HttpClient(_scan(site.base)) as client:
        with pytest.raises(ScopeViolation) as caught:
            await client.send(Request("GET", f"http://127.0.0.2:1/?t={TOKEN}"))
    assert TOKEN not in str(caught.value) and REDACTED in str(caught.value)


async def test_request_budget_raises_before_sending_past_it(site: Site) -> None:
    scan = _scan(site.base, limits=Limits(rate=1e6, max_requests=2))
    async with HttpClient(scan) as client:
        await client.send(Request("GET", site.base + "/1"))
        await client.send(Request("GET", site.base + "/2"))
        with pytest.raises(BudgetExhausted):
            await client.send(Request("GET", site.base + "/3"))
    assert len(site.seen) == 2
    assert client.notes == ["request budget of 2 requests spent"]


async def test_time_budget_raises_before_sending_once_spent(site: Site) -> None:
    now = [0.0]
    scan = _scan(site.base, limits=Limits(rate=1e6, time_budget=5))
    async with HttpClient(scan, clock=lambda: now[0]) as client:
        await client.send(Request("GET", site.base + "/1"))
        now[0] = 5.0
        with pytest.raises(TimeBudgetExhausted, match="time budget of 5 s reached after 1 request"):
            await client.send(Request("GET", site.base + "/2"))
    assert len(site.seen) == 1
    assert client.notes == ["time budget of 5 s reached after 1 request"]


# cache


async def test_identical_gets_in_flight_share_one_request(site: Site) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.Response(text="slow")

    site.routes["/slow"] = slow
    async with HttpClient(_scan(site.base)) as client:
        exchanges = await asyncio.gather(
            *(client.send(Request("GET", site.base + "/slow")) for _ in range(5))
        )
        again = await client.send(Request("GET", site.base + "/slow"))
    assert site.hits["/slow"] == 1
    assert all(e is exchanges[0] for e in exchanges) and again == exchanges[0]
    assert (client.stats.requests, client.stats.cache_hits) == (1, 5)


async def test_cache_keeps_identities_and_methods_apart(site: Site) -> None:
    async with HttpClient(_scan(site.base)) as client:
        for request in (
            Request("GET", site.base + "/r"),
            Request("GET", site.base + "/r", identity="alice"),
            Request("GET", site.base + "/r").without_credentials(),
            Request("HEAD", site.base + "/r"),
            Request("HEAD", site.base + "/r"),
        ):
            await client.send(request)
    assert site.hits["/r"] == 5
    assert client.stats.cache_hits == 0


async def test_cache_does_not_keep_transport_errors() -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/x"
    async with HttpClient(_scan(url)) as client:
        first = await client.send(Request("GET", url))
        second = await client.send(Request("GET", url))
    assert first.error == second.error == "connection refused"
    assert (client.stats.requests, client.stats.cache_hits, client.stats.errors) == (2, 0, 2)


# redirects


def _redirect(location: str, status: int = 302) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def route(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": location})

    return route


async def test_in_scope_redirects_are_followed(site: Site) -> None:
    site.routes["/old"] = _redirect("/mid")
    site.routes["/mid"] = _redirect(site.base + "/new", 301)
    exchange, client = await _send(_scan(site.base), Request("GET", site.base + "/old"))
    response = exchange.response
    assert response is not None and response.status == 200
    assert response.redirects == (site.base + "/mid", site.base + "/new")
    assert response.url == site.base + "/new"
    assert client.notes == []


async def test_redirects_are_not_followed_when_asked(site: Site) -> None:
    site.routes["/old"] = _redirect("/new")
    exchange, _ = await _send(
        _scan(site.base), Request("GET", site.base + "/old"), follow_redirects=False
    )
    assert exchange.response is not None and exchange.response.status == 302
    assert site.hits["/new"] == 0


async def test_off_scope_redirects_are_recorded_not_followed(site: Site) -> None:
    site.routes["/go"] = _redirect("http://elsewhere.invalid/landing")
    exchange, client = await _send(_scan(site.base), Request("GET", site.base + "/go"))
    response = exchange.response
    assert response is not None and response.status == 302
    assert response.redirects == ("http://elsewhere.invalid/landing",)
    expected = "redirect of GET /go to http://elsewhere.invalid:80 not followed: off scope"
    assert response.note == expected and client.notes == [expected]
    assert len(site.seen) == 1


async def test_redirect_loops_and_long_chains_stop(site: Site) -> None:
    site.routes["/a"] = _redirect("/b")
    site.routes["/b"] = _redirect("/a")
    for n in range(10):
        site.routes[f"/c{n}"] = _redirect(f"/c{n + 1}")
    scan = _scan(site.base, limits=Limits(rate=1e6, max_redirects=3))
    loop, client = await _send(scan, Request("GET", site.base + "/a"))
    chain, chain_client = await _send(scan, Request("GET", site.base + "/c0"))
    assert loop.response is not None and loop.response.status == 302
    assert (site.hits["/a"], site.hits["/b"]) == (1, 1)
    assert client.notes == ["redirect loop at GET /a not followed"]
    assert chain.response is not None and len(chain.response.redirects) == 4
    assert site.hits["/c3"] == 1 and site.hits["/c4"] == 0
    assert chain_client.notes == ["GET /c3 not followed after 3 redirects (the limit)"]


async def test_credentials_do_not_follow_a_redirect_to_another_origin(
    site: Site, other_site: Site
) -> None:
    site.routes["/go"] = _redirect(other_site.base + "/there")
    scan = _scan(site.base, extra_hosts=(other_site.base.removeprefix("http://"),))
    exchange, _ = await _send(scan, Request("GET", site.base + "/go"))
    assert exchange.ok
    assert "Authorization" in site.seen[0].headers
    assert "Authorization" not in other_site.seen[0].headers


async def test_see_other_turns_a_post_into_a_get(site: Site) -> None:
    site.routes["/search"] = _redirect("/done", 303)  # a POST that names a read may be sent
    scan = _scan(site.base, mode="active")
    await _send(scan, Request("POST", site.base + "/search", body=b"a=1"))
    assert [(r.method, r.path) for r in site.seen] == [("POST", "/search"), ("GET", "/done")]


# 429 and retries


class RecordingSleep:
    """An instant sleep that remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _throttle(retry_after: str, times: int) -> Callable[[web.Request], Awaitable[web.Response]]:
    calls = Counter[str]()

    async def route(request: web.Request) -> web.Response:
        calls[request.path] += 1
        if calls[request.path] <= times:
            return web.Response(status=429, headers={"Retry-After": retry_after})
        return web.Response(text="ok")

    return route


async def test_429_with_a_short_retry_after_is_waited_out(site: Site) -> None:
    site.routes["/busy"] = _throttle("2", times=1)
    sleep = RecordingSleep()
    async with HttpClient(_scan(site.base), sleep=sleep) as client:
        exchange = await client.send(Request("GET", site.base + "/busy"))
    assert exchange.response is not None and exchange.response.status == 200
    assert sleep.waits == [pytest.approx(2.0, abs=0.1)] and site.hits["/busy"] == 2
    assert client.stats.retries == 1
    assert exchange.response.note == "GET /busy answered 429; waited 2 s as Retry-After asked"


async def test_429_with_retry_after_holds_every_request_not_only_its_own(site: Site) -> None:
    site.routes["/busy"] = _throttle("2", times=1)
    sleep = RecordingSleep()
    async with HttpClient(_scan(site.base), sleep=sleep) as client:
        await client.send(Request("GET", site.base + "/busy"))
        other = await client.send(Request("GET", site.base + "/other"))
    assert other.response is not None
    assert len(sleep.waits) == 2 and all(wait > 1.9 for wait in sleep.waits)


async def test_429_asking_for_a_long_wait_is_returned(site: Site) -> None:
    site.routes["/busy"] = _throttle("30", times=1)
    sleep = RecordingSleep()
    async with HttpClient(_scan(site.base), sleep=sleep) as client:
        exchange = await client.send(Request("GET", site.base + "/busy"))
    assert exchange.response is not None and exchange.response.status == 429
    assert sleep.waits == [] and site.hits["/busy"] == 1
    assert client.notes == ["GET /busy answered 429 asking to wait 30 s; not retried"]


async def test_429_wait_that_outlasts_the_time_budget_is_not_waited(site: Site) -> None:
    site.routes["/busy"] = _throttle("8", times=1)
    sleep = RecordingSleep()
    scan = _scan(site.base, limits=Limits(rate=1e6, time_budget=5))
    async with HttpClient(scan, sleep=sleep) as client:
        exchange = await client.send(Request("GET", site.base + "/busy"))
    assert exchange.response is not None and exchange.response.status == 429
    assert sleep.waits == []


async def test_429_without_retry_after_is_waited_out_with_doubling_waits(site: Site) -> None:
    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=429)

    site.routes["/busy"] = busy
    sleep = RecordingSleep()
    async with HttpClient(_scan(site.base), sleep=sleep) as client:
        exchange = await client.send(Request("GET", site.base + "/busy"))
    assert exchange.response is not None and exchange.response.status == 429
    assert [wait for wait in sleep.waits if wait >= 0.5] == [0.5, 1.0, 2.0, 4.0]
    assert site.hits["/busy"] == 5
    assert client.notes == ["GET /busy still answered 429 after 4 waits; kept as its answer"]


async def test_503_to_a_write_is_not_sent_again(site: Site) -> None:
    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=503)

    site.routes["/search"] = busy
    sleep = RecordingSleep()
    scan = _scan(site.base, mode="active")
    async with HttpClient(scan, sleep=sleep) as client:
        exchange = await client.send(Request("POST", site.base + "/search", body=b"a=1"))
    assert exchange.response is not None and exchange.response.status == 503
    assert site.hits["/search"] == 1


async def test_a_request_of_the_burst_keeps_its_429_as_the_answer(site: Site) -> None:
    site.routes["/busy"] = _throttle("1", times=1)
    sleep = RecordingSleep()
    async with HttpClient(_scan(site.base), sleep=sleep) as client:
        exchange = await client.send(Request("GET", site.base + "/busy", burst=True))
    assert exchange.response is not None and exchange.response.status == 429
    assert site.hits["/busy"] == 1 and client.stats.retries == 0


class ResettingServer:
    """A raw server that resets the first ``resets`` connections, then answers 200."""

    def __init__(self, resets: int) -> None:
        self.resets = resets
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if self.connections <= self.resets:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            writer.transport.abort()
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()


async def _resetting(resets: int) -> tuple[ResettingServer, asyncio.Server, str]:
    handler = ResettingServer(resets)
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0)
    return handler, server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_connection_resets_are_retried_with_backoff_for_safe_methods() -> None:
    handler, server, base = await _resetting(resets=2)
    sleep = RecordingSleep()
    async with server, HttpClient(_scan(base), sleep=sleep) as client:
        exchange = await client.send(Request("GET", base + "/x"))
    assert exchange.response is not None and exchange.response.body == b"ok"
    assert handler.connections == 3
    assert sleep.waits == [0.1, 0.2]
    assert (client.stats.requests, client.stats.retries) == (3, 2)


async def test_connection_resets_are_not_retried_for_post() -> None:
    handler, server, base = await _resetting(resets=1)
    async with server, HttpClient(_scan(base, mode="active")) as client:
        exchange = await client.send(Request("POST", base + "/search", body=b"{}"))
    assert exchange.response is None and exchange.error is not None
    assert handler.connections == 1 and client.stats.errors == 1


# transport errors and evidence


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refused_connections_come_back_as_an_error_exchange() -> None:
    url = f"http://127.0.0.1:{_free_port()}/"
    exchange, client = await _send(_scan(url), Request("GET", url))
    assert exchange.response is None and exchange.error == "connection refused"
    assert client.stats.errors == 1


async def test_recorded_evidence_and_notes_never_hold_a_secret(site: Site) -> None:
    async with HttpClient(_scan(site.base)) as client:
        exchange = await client.send(Request("GET", f"{site.base}/echo?t={TOKEN}"))
        evidence = client.record(exchange, label="probe", match=TOKEN)
        alice = client.record(
            await client.send(Request("GET", site.base + "/echo", identity="alice"))
        )
    dumped = evidence.model_dump_json() + alice.model_dump_json() + json.dumps(client.notes)
    assert TOKEN not in dumped and ALICE not in dumped
    assert evidence.request.headers == dict.fromkeys(
        ["Authorization", "X-Trace", "X-API-Key"], REDACTED
    )
    assert '"Authorization: $MIDDLEBRICK_AUTHORIZATION"' in evidence.curl
    assert '"X-Trace: $MIDDLEBRICK_X_TRACE"' in evidence.curl and "t-1" not in evidence.curl
    assert '"X-API-Key: $MIDDLEBRICK_ALICE_X_API_KEY"' in alice.curl
    assert evidence.match == REDACTED and evidence.status == 200
    assert evidence.response_headers["Set-Cookie"] == f"sid={REDACTED}; HttpOnly"


async def test_anonymous_evidence_names_no_credential_header(site: Site) -> None:
    async with HttpClient(_scan(site.base)) as client:
        exchange = await client.send(Request("GET", site.base + "/", identity=ANONYMOUS))
        evidence = client.record(exchange)
    assert evidence.request.headers == {}
    assert "MIDDLEBRICK_" not in evidence.curl


async def test_a_waiter_sends_the_request_itself_when_its_sender_is_cancelled(site: Site) -> None:
    arrived, release = asyncio.Event(), asyncio.Event()

    async def held(request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return web.Response(text="held")

    site.routes["/held"] = held
    async with HttpClient(_scan(site.base)) as client:
        first = asyncio.create_task(client.send(Request("GET", site.base + "/held")))
        await arrived.wait()
        second = asyncio.create_task(client.send(Request("GET", site.base + "/held")))
        await asyncio.sleep(0)  # let the second request join the first one in flight
        first.cancel()
        release.set()
        exchange = await second
    assert first.cancelled()
    assert exchange.response is not None and exchange.response.body == b"held"
    assert site.hits["/held"] == 2


async def test_a_header_with_a_line_break_comes_back_as_an_error(site: Site) -> None:
    request = Request("GET", site.base + "/x").with_header("X-Test", "a\r\nX-Injected: 1")
    exchange, _ = await _send(_scan(site.base), request)
    assert exchange.response is None
    assert exchange.error is not None and exchange.error.startswith("request not sent")
    assert site.seen == []


async def test_safe_mode_posts_only_to_an_operation_include_names(site: Site) -> None:
    async with HttpClient(_scan(site.base, include=("POST /chat",))) as client:
        exchange = await client.send(Request("POST", site.base + "/chat", body=b'{"q": "hi"}'))
        with pytest.raises(ScopeViolation):
            await client.send(Request("POST", site.base + "/admin", body=b"{}"))
    assert exchange.ok
    assert [(r.method, r.path) for r in site.seen] == [("POST", "/chat")]
