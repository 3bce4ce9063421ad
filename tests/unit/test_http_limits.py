"""Limits of a scan (budgets, rate, body cap), driven by a fake clock."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from middlebrick.config import Limits
from middlebrick.errors import BudgetExhausted, TimeBudgetExhausted
from middlebrick.http.limits import BUDGET_CEILING, ScanLimiter, read_body, retry_after


class FakeClock:
    """A clock that only moves when slept on (or moved by hand)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)  # others run meanwhile, as in a real sleep
        self.now += seconds


def _limiter(clock: FakeClock, burst: int | None = None, **limits: float) -> ScanLimiter:
    return ScanLimiter(Limits(**limits), clock=clock, sleep=clock.sleep, burst=burst)


def test_request_budget_raises_before_the_request_past_it() -> None:
    limiter = _limiter(FakeClock(), max_requests=2)
    limiter.reserve()
    limiter.reserve()
    with pytest.raises(BudgetExhausted, match="request budget of 2 requests spent"):
        limiter.reserve()
    assert limiter.used == 2


def test_time_budget_raises_once_the_deadline_passes() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, time_budget=5)
    limiter.reserve()
    clock.now += 4.9
    limiter.reserve()
    clock.now += 0.1
    with pytest.raises(TimeBudgetExhausted, match="time budget of 5 s reached after 2 requests"):
        limiter.reserve()
    assert limiter.remaining() == 0.0


async def test_rate_cap_spaces_requests_once_the_burst_is_spent() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, burst=2, rate=4)
    for _ in range(5):
        await limiter.wait_turn(adaptive=False)
    assert clock.sleeps == [0.25, 0.25, 0.25]


async def test_rate_cap_lets_a_burst_through_again_after_a_quiet_spell() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, burst=3, rate=10)
    for _ in range(3):
        await limiter.wait_turn(adaptive=False)
    clock.now += 10
    for _ in range(3):
        await limiter.wait_turn(adaptive=False)
    assert clock.sleeps == []


async def test_adaptive_pace_spaces_requests_at_its_own_rate_below_the_cap() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)  # caps: 1000/s, 32 in flight; the pace starts at 50/s, 4
    for _ in range(6):
        await limiter.wait_turn()
    assert clock.sleeps == [pytest.approx(0.02), pytest.approx(0.02)]
    assert limiter.pace.held == 2


async def test_a_retry_after_holds_requests_already_waiting_for_their_turn() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, burst=1, rate=1)
    await limiter.wait_turn(adaptive=False)
    waiting = asyncio.ensure_future(limiter.wait_turn(adaptive=False))
    await asyncio.sleep(0)  # it sleeps 1 s for its turn; meanwhile a 429 asks for 5
    limiter.hold(5)
    await waiting
    assert clock.sleeps == [1.0, pytest.approx(4.0)]


async def test_rate_wait_past_the_deadline_raises_without_sleeping() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, burst=1, rate=0.1, time_budget=5)
    await limiter.wait_turn()
    with pytest.raises(TimeBudgetExhausted):
        await limiter.wait_turn()
    assert clock.sleeps == []


async def test_wait_sleeps_only_when_it_fits_in_the_time_budget() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, time_budget=5)
    assert await limiter.wait(2) is True
    assert await limiter.wait(3) is False
    assert clock.sleeps == [2]


async def test_rate_cap_lets_through_at_once_as_many_as_concurrency_and_rate_allow() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, concurrency=3, rate=3)
    for _ in range(4):
        await limiter.wait_turn(adaptive=False)
    assert clock.sleeps == [pytest.approx(1 / 3)]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert retry_after("7") == 7.0
    assert 28 <= (retry_after(format_datetime(later, usegmt=True)) or 0) <= 30
    assert retry_after("soon") is None
    assert retry_after(None) is None


class FakeResponse:
    """Enough of aiohttp's ClientResponse for ``read_body``: headers and a chunk stream."""

    def __init__(self, chunks: Iterator[bytes], **headers: str) -> None:
        self.headers = CIMultiDictProxy(
            CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()})
        )
        self.content = self
        self._chunks = chunks
        self.read_calls = 0

    async def readany(self) -> bytes:
        self.read_calls += 1
        return next(self._chunks, b"")


def _endless(chunk: bytes) -> Iterator[bytes]:
    while True:
        yield chunk


def _bomb_chunks() -> Iterator[bytes]:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    while True:  # a gzip stream that never ends
        yield compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)


async def test_read_body_keeps_a_small_body_whole() -> None:
    read = await read_body(FakeResponse(iter([b"ab", b"cd"])), 1024)  # type: ignore[arg-type]
    assert (read.body, read.truncated, read.failure) == (b"abcd", False, None)


async def test_read_body_stops_an_endless_body_at_the_cap() -> None:
    response = FakeResponse(_endless(b"x" * 1000))
    read = await read_body(response, 4096)  # type: ignore[arg-type]
    assert read.truncated and read.body == b"x" * 4096
    assert response.read_calls == 5


async def test_read_body_never_expands_a_gzip_bomb_past_the_cap() -> None:
    response = FakeResponse(_bomb_chunks(), content_encoding="gzip")
    read = await read_body(response, 4096)  # type: ignore[arg-type]
    assert read.truncated and read.body == bytes(4096)
    assert response.read_calls == 1


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", gzip.compress(b"hello ") + gzip.compress(b"world")),  # two gzip members
        ("deflate", zlib.compress(b"hello world")),  # zlib wrapper, as the RFC says
        ("deflate", zlib.compress(b"hello world", wbits=-15)),  # raw deflate, as servers send
    ],
)
async def test_read_body_decodes_gzip_and_both_kinds_of_deflate(encoding: str, data: bytes) -> None:
    chunks = iter([data[:5], data[5:]])
    read = await read_body(FakeResponse(chunks, content_encoding=encoding), 1024)  # type: ignore[arg-type]
    assert read.body == b"hello world" and not read.truncated


async def test_read_body_keeps_a_body_that_does_not_decode_as_sent() -> None:
    response = FakeResponse(iter([b"not gzip", b" at all"]), content_encoding="gzip")
    read = await read_body(response, 1024)  # type: ignore[arg-type]
    assert read.body == b"not gzip at all"
    assert read.undecodable == "gzip"


async def test_read_body_keeps_what_arrived_before_a_transport_error() -> None:
    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise ConnectionResetError("reset by peer")

    read = await read_body(FakeResponse(broken()), 1024)  # type: ignore[arg-type]
    assert read.body == b"partial" and read.truncated
    assert isinstance(read.failure, ConnectionResetError)


def test_default_budget_follows_the_surface_up_to_the_ceiling() -> None:
    limiter = _limiter(FakeClock())
    assert limiter.max_requests == BUDGET_CEILING  # before the surface is known
    limiter.scale_budget(1234)
    assert limiter.max_requests == 1234
    limiter.scale_budget(10 * BUDGET_CEILING)
    assert limiter.max_requests == BUDGET_CEILING


def test_a_budget_given_by_the_user_stays_whatever_the_surface() -> None:
    limiter = _limiter(FakeClock(), max_requests=300)
    limiter.scale_budget(5000)
    assert limiter.max_requests == 300
    assert limiter.budget_spent_message() == "request budget of 300 requests spent"


def test_a_scaled_budget_never_falls_below_what_was_already_sent() -> None:
    limiter = _limiter(FakeClock())
    for _ in range(5):
        limiter.reserve()
    limiter.scale_budget(3)
    assert limiter.max_requests == 6 and limiter.can_send()
