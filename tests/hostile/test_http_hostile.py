"""The HTTP client against a hostile server: it returns in time, bounded, with a note.

Limits are short here (connect 1 s, read 1 s, time budget 3 s, body cap 64 KiB), so every
exchange has to come back within about two seconds whatever the server does.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc

import pytest

from middlebrick.config import Limits, ScanRequest
from middlebrick.errors import TimeBudgetExhausted
from middlebrick.http.client import HttpClient
from middlebrick.http.exchange import Exchange, Request

from .server import HostileServer

CAP = 65536
LIMITS = Limits(
    connect_timeout=1.0,
    read_timeout=1.0,
    time_budget=3.0,
    max_body_bytes=CAP,
    retries=1,
    max_redirects=5,
)
GUARD = LIMITS.time_budget + 2.0  # a send that outlasts this is a hang


async def _get(base: str, path: str, limits: Limits = LIMITS) -> tuple[Exchange, HttpClient]:
    async with HttpClient(ScanRequest(target=base, limits=limits)) as client:
        exchange = await asyncio.wait_for(client.send(Request("GET", base + path)), GUARD)
    return exchange, client


async def test_client_caps_a_compression_bomb_without_expanding_it(
    hostile: HostileServer, hostile_server: str
) -> None:
    tracemalloc.start()
    try:
        exchange, client = await _get(hostile_server, "/bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    response = exchange.response
    assert response is not None and response.truncated
    assert response.body == bytes(CAP)
    assert peak < 16 * 1024 * 1024  # the gigabyte behind it never materialised
    assert hostile.bytes_sent["/bomb"] < 2 * 1024 * 1024
    assert any("body of GET /bomb cut at 65536 bytes" in note for note in client.notes)


async def test_client_stops_an_endless_chunked_body_at_the_cap(hostile_server: str) -> None:
    exchange, client = await _get(hostile_server, "/endless")
    assert exchange.response is not None and exchange.response.truncated
    assert len(exchange.response.body) == CAP
    assert any("GET /endless cut at" in note for note in client.notes)


async def test_client_stops_a_body_far_over_the_cap(hostile_server: str) -> None:
    exchange, client = await _get(hostile_server, "/huge")
    assert exchange.response is not None and exchange.response.truncated
    assert len(exchange.response.body) == CAP
    assert any("GET /huge cut at" in note for note in client.notes)


async def test_client_stops_a_redirect_loop(hostile: HostileServer, hostile_server: str) -> None:
    exchange, client = await _get(hostile_server, "/loop")
    assert exchange.response is not None and exchange.response.status == 302
    assert hostile.hits["/loop"] == 1 and hostile.hits["/loop2"] == 1
    assert any("redirect loop" in note for note in client.notes)


async def test_client_stops_an_endless_redirect_chain_at_the_limit(
    hostile: HostileServer, hostile_server: str
) -> None:
    exchange, client = await _get(hostile_server, "/redirect-chain/0")
    assert exchange.response is not None and exchange.response.status == 302
    assert sum(hostile.hits.values()) == LIMITS.max_redirects + 1
    assert any("after 5 redirects" in note for note in client.notes)


async def test_client_gives_up_on_a_stalled_server_within_its_timeouts(
    hostile_server: str,
) -> None:
    started = time.monotonic()
    exchange, client = await _get(hostile_server, "/stall")
    assert time.monotonic() - started < GUARD
    assert exchange.response is None
    assert exchange.error == "no complete response within 2 s"
    assert client.notes == ["GET /stall: no complete response within 2 s"]


async def test_client_keeps_what_arrived_before_a_stall_mid_body(hostile_server: str) -> None:
    exchange, client = await _get(hostile_server, "/stall-body")
    response = exchange.response
    assert response is not None and response.truncated
    assert response.body == b'{"partial": "'
    assert any("GET /stall-body cut after 13 bytes" in note for note in client.notes)


async def test_client_cuts_a_trickling_body_within_its_timeouts(hostile_server: str) -> None:
    exchange, _ = await _get(hostile_server, "/trickle")
    assert exchange.response is not None and exchange.response.truncated
    assert 0 < len(exchange.response.body) < CAP


async def test_client_keeps_invalid_utf8_as_bytes(hostile_server: str) -> None:
    exchange, client = await _get(hostile_server, "/invalid-utf8")
    response = exchange.response
    assert response is not None and response.status == 200
    assert b"\xff\xfe" in response.body
    assert "\ufffd" in response.text
    assert client.record(exchange).excerpt.startswith('{"name": ')


async def test_client_returns_deeply_nested_json_without_parsing_it(hostile_server: str) -> None:
    exchange, client = await _get(hostile_server, "/deep-json")
    response = exchange.response
    assert response is not None and len(response.body) == 20_000
    assert response.json is None  # nested past recursion: not JSON to a check
    assert len(client.record(exchange).excerpt) <= 2000


async def test_client_reports_a_reset_mid_body_after_retrying(
    hostile: HostileServer, hostile_server: str
) -> None:
    exchange, client = await _get(hostile_server, "/severed")
    response = exchange.response
    assert hostile.hits["/severed"] == 1 + LIMITS.retries
    assert client.stats.retries == LIMITS.retries
    assert response is not None and response.truncated
    assert len(response.body) <= 10_000
    assert any("GET /severed cut after" in note for note in client.notes)


async def test_client_reports_a_reset_before_any_response(
    hostile: HostileServer, hostile_server: str
) -> None:
    exchange, client = await _get(hostile_server, "/severed-early")
    assert exchange.response is None
    assert exchange.error in (
        "connection reset",
        "server closed the connection without a complete response",
    )
    assert hostile.hits["/severed-early"] == 1 + LIMITS.retries
    assert client.stats.errors == 1


async def test_client_reports_a_response_that_is_not_http(hostile_server: str) -> None:
    exchange, _ = await _get(hostile_server, "/garbage")
    assert exchange.response is None
    assert exchange.error is not None and exchange.error.startswith("invalid HTTP response")


async def test_client_keeps_a_body_that_lies_about_its_encoding(hostile_server: str) -> None:
    exchange, client = await _get(hostile_server, "/deflate-garbage")
    assert exchange.response is not None
    assert exchange.response.body == b"this is not gzip at all"
    assert any("does not decode" in note for note in client.notes)


async def test_client_raises_the_time_budget_when_a_stall_outlasts_it(
    hostile_server: str,
) -> None:
    limits = LIMITS.model_copy(update={"time_budget": 1.5, "read_timeout": 5.0})
    started = time.monotonic()
    async with HttpClient(ScanRequest(target=hostile_server, limits=limits)) as client:
        with pytest.raises(TimeBudgetExhausted, match=r"time budget of 1\.5 s reached"):
            await asyncio.wait_for(client.send(Request("GET", hostile_server + "/stall")), GUARD)
        with pytest.raises(TimeBudgetExhausted):
            await client.send(Request("GET", hostile_server + "/ok"))
    assert time.monotonic() - started < GUARD
    assert client.notes == ["time budget of 1.5 s reached after 1 request"]
