"""The limits one scan respects: pace, concurrency, rate, request and time budgets, body size.

Every wait is an ``asyncio`` sleep computed in advance (no polling). The clock and the sleep are
injectable so tests drive time by hand.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from aiohttp import ClientError, ClientResponse

from middlebrick.config import Limits
from middlebrick.errors import BudgetExhausted, Interrupted, TimeBudgetExhausted
from middlebrick.http.pacing import Pace

Clock = Callable[[], float]
"""A monotonic clock in seconds."""

Sleep = Callable[[float], Awaitable[None]]
"""An awaitable sleep in seconds."""

BUDGET_CEILING = 50_000
"""The most requests a scan sends when ``--budget`` is not given, however large the API."""


class ScanLimiter:
    """Pace, request budget and time budget of one scan, shared by all its requests.

    ``time budget`` runs from construction. ``reserve()`` spends one request of the budget and
    raises *before* anything is sent when a budget is spent. A request first takes a place in
    the window (``acquire``), then waits for its turn (``wait_turn``): the adaptive ``pace``
    (``http.pacing``) below the hard caps, ``--concurrency`` places and ``--rate`` per second
    (a GCRA token bucket: at most ``burst`` requests at once, then ``rate`` per second). A
    request of the rate-limit burst (``adaptive=False``) skips the adaptive pace, never the caps.
    """

    def __init__(
        self,
        limits: Limits,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        burst: int | None = None,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self.started = clock()
        self.deadline = self.started + limits.time_budget
        self.max_requests = limits.max_requests or BUDGET_CEILING
        self.used = 0
        self._extra = 0  # requests allowed past the budget while the scan undoes its writes
        self.pace = Pace(limits.rate, limits.concurrency, clock)
        self.slots = asyncio.Semaphore(limits.concurrency)
        self._cap_size = (
            burst if burst is not None else max(1, min(limits.concurrency, int(limits.rate)))
        )
        self._cap = _Bucket(self.started)  # the --rate cap, for every request
        self._paced = _Bucket(self.started)  # the adaptive rate
        self._hold = self.started  # no request leaves before this (a Retry-After)
        self.interrupted = False  # Ctrl-C: the time budget ends now
        self._overtime = 0  # undo blocks running (their requests are not cut by an interrupt)

    def scale_budget(self, allowance: int) -> None:
        """Set the request budget to ``allowance`` (at most the ceiling) unless one was given."""
        if self.limits.max_requests is None:
            self.max_requests = max(self.used + 1, min(allowance, BUDGET_CEILING))

    def elapsed(self) -> float:
        """Seconds since the scan began."""
        return self._clock() - self.started

    def remaining(self) -> float:
        """Seconds left in the time budget (0 when spent)."""
        return max(0.0, self.deadline - self._clock())

    def time_spent_message(self) -> str:
        """A plain sentence saying the time budget was reached (or the scan interrupted)."""
        if self.interrupted:
            return f"interrupted (Ctrl-C) after {_requests(self.used)}"
        return (
            f"time budget of {_seconds(self.limits.time_budget)} reached after "
            f"{_requests(self.used)}"
        )

    def time_spent(self) -> TimeBudgetExhausted:
        """The exception of a spent time budget: ``Interrupted`` after Ctrl-C."""
        kind = Interrupted if self.interrupted else TimeBudgetExhausted
        return kind(self.time_spent_message())

    def interrupt(self) -> None:
        """End the time budget now (Ctrl-C); undoing the scan's writes may still run over."""
        self.interrupted = True
        self.deadline = min(self.deadline, self._clock())

    @property
    def in_overtime(self) -> bool:
        """Whether the scan is undoing its writes (``overtime``)."""
        return self._overtime > 0

    def budget_spent_message(self) -> str:
        """A plain sentence saying the request budget was spent."""
        return f"request budget of {_requests(self.max_requests)} spent"

    def check_time(self) -> None:
        """Raise ``TimeBudgetExhausted`` when the time budget is spent."""
        if self._clock() >= self.deadline:
            raise self.time_spent()

    def check_budget(self) -> None:
        """Raise ``BudgetExhausted`` when no request of the budget is left."""
        if self.used >= self.max_requests + self._extra:
            raise BudgetExhausted(self.budget_spent_message())

    def can_send(self) -> bool:
        """True when both budgets still allow one more request."""
        allowed = self.max_requests + self._extra
        return self.used < allowed and self._clock() < self.deadline

    @contextmanager
    def overtime(self, *, requests: int, seconds: float) -> Iterator[None]:
        """Within the block, allow ``requests`` and ``seconds`` beyond whatever is left.

        Only for undoing the scan's own writes, which must not be cut short by a spent budget.
        """
        deadline, extra = self.deadline, self._extra
        self._extra = max(0, self.used - self.max_requests) + requests
        self.deadline = max(self.deadline, self._clock() + seconds)
        self._overtime += 1
        try:
            yield
        finally:
            self._overtime -= 1
            self.deadline, self._extra = deadline, extra
            if self.interrupted:  # interrupted meanwhile: the budget still ends now
                self.deadline = min(self.deadline, self._clock())

    def reserve(self) -> None:
        """Spend one request of the budget, or raise when a budget is spent."""
        self.check_time()
        self.check_budget()
        self.used += 1

    async def acquire(self, *, adaptive: bool = True) -> None:
        """Take a place among the requests in flight (the adaptive window, then the cap)."""
        if adaptive:
            window = self.pace.window
            if window.full():
                self.pace.held += 1
            await window.acquire()
        try:
            await self.slots.acquire()
        except BaseException:
            if adaptive:
                self.pace.window.release()
            raise

    def release(self, *, adaptive: bool = True) -> None:
        """Give back the place ``acquire`` took."""
        self.slots.release()
        if adaptive:
            self.pace.window.release()

    async def wait_turn(self, *, adaptive: bool = True) -> None:
        """Wait until the rate (the pace's, the cap's) and any ``Retry-After`` allow a request.

        Raises ``TimeBudgetExhausted`` without waiting when the wait would outlast the budget.
        """
        now = self._clock()
        rate, cap = self.pace.rate, self.limits.rate
        when = max(now, self._hold, self._cap.earliest(cap, self._cap_size))
        if adaptive:  # at once: a tenth of a second's worth, at most the window
            size = max(1, min(self.pace.window.size, int(rate / 10)))
            when = max(when, self._paced.earliest(rate, size))
        if when > now and when >= self.deadline:
            raise self.time_spent()
        self._cap.book(when, cap)
        if adaptive:
            self._paced.book(when, rate)
        waited = self._hold
        if when > now:
            self.pace.held += adaptive
            await self._sleep(when - now)
        while self._hold != waited and (left := self._hold - self._clock()) > 0:
            if self._hold >= self.deadline:  # a Retry-After came meanwhile
                raise self.time_spent()
            waited = self._hold
            await self._sleep(left)

    def hold(self, seconds: float) -> None:
        """Let no request leave for ``seconds`` (a ``Retry-After`` the target asked for)."""
        self._hold = max(self._hold, self._clock() + seconds)

    async def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` if that fits in the time budget; False (no sleep) when it does not."""
        if seconds >= self.remaining():
            return False
        if seconds > 0:
            await self._sleep(seconds)
        return True


class _Bucket:
    """A GCRA token bucket: ``size`` requests at once, then one every ``1 / rate`` seconds."""

    def __init__(self, now: float) -> None:
        self._next = now  # theoretical arrival time of the next request

    def earliest(self, rate: float, size: int) -> float:
        """The first moment the next request conforms."""
        return self._next - (size - 1) / rate

    def book(self, when: float, rate: float) -> None:
        """Count a request leaving at ``when``."""
        self._next = max(self._next, when) + 1 / rate


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _requests(count: int) -> str:
    return f"{count} request" if count == 1 else f"{count} requests"


@dataclass
class BodyRead:
    """A body read under the cap: the bytes kept, and whether and why it was cut."""

    body: bytes
    truncated: bool = False
    undecodable: str | None = None  # the Content-Encoding that failed to decode (kept as sent)
    failure: BaseException | None = None  # transport error that ended the body early
    cap: int = 0

    def note(self, where: str, error: str | None = None) -> str:
        """A plain sentence on what befell the body of ``where`` (``GET /path``)."""
        if error is not None:
            return f"body of {where} cut after {len(self.body)} bytes: {error}"
        text = f"body of {where} cut at {self.cap} bytes" if self.truncated else f"body of {where}"
        if self.undecodable:
            text += f" kept as sent: it says {self.undecodable} but does not decode"
        return text


class _Decoder:
    """Incremental gzip/deflate decoding that never outputs more than asked."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._obj: Any = None

    def feed(self, data: bytes, limit: int) -> bytes:
        """Up to ``limit`` decoded bytes of ``data`` (raises ``zlib.error`` on garbage)."""
        out = b""
        while data and len(out) < limit:
            if self._obj is None:
                self._obj = zlib.decompressobj(self._wbits(data))
            out += self._obj.decompress(data, limit - len(out))
            data = self._obj.unconsumed_tail
            if self._obj.eof:  # a gzip stream may hold several members
                data = (self._obj.unused_data + data).lstrip(b"\0")
                self._obj = None
        return out

    def _wbits(self, head: bytes) -> int:
        if self.encoding != "deflate":
            return 16 + zlib.MAX_WBITS
        if len(head) >= 2 and head[0] & 0x0F == 8 and int.from_bytes(head[:2], "big") % 31 == 0:
            return zlib.MAX_WBITS  # zlib wrapper, as RFC 9110 says
        return -zlib.MAX_WBITS  # raw deflate, as many servers send


async def read_body(resp: ClientResponse, cap: int) -> BodyRead:
    """Read at most ``cap`` bytes of body, decompressing gzip/deflate incrementally.

    The cap bounds the bytes on the wire and the decoded bytes alike, so neither a compression
    bomb nor an endless body is held past it. A body that does not decode as its
    Content-Encoding says is kept as sent. A transport error ends the body early: what arrived
    is kept and the error is returned in ``failure``.
    """
    encoding = resp.headers.get("Content-Encoding", "").strip().lower()
    decoder = _Decoder(encoding) if encoding in ("gzip", "x-gzip", "deflate") else None
    chunks: list[bytes] = []
    raw: list[bytes] = []
    size = wire = 0
    undecodable = None
    content = resp.content
    try:
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            wire += len(chunk)
            if decoder is not None:
                raw.append(chunk)
                try:
                    chunk = decoder.feed(chunk, cap - size + 1)
                except zlib.error:
                    decoder, undecodable = None, encoding
                    chunks, size, chunk = raw[:-1], wire - len(chunk), raw[-1]
            chunks.append(chunk)
            size += len(chunk)
            if size > cap or wire > cap:
                body = b"".join(chunks)[:cap]
                return BodyRead(body, True, undecodable, cap=cap)
    except (OSError, ValueError, TimeoutError, ClientError) as exc:
        body = b"".join(chunks)[:cap]
        return BodyRead(body, True, undecodable, failure=exc, cap=cap)
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return BodyRead(body, False, undecodable, cap=cap)


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` value asks to wait (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())
