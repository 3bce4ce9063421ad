"""Adaptive pacing: the rate and the requests in flight follow what the target says (AIMD).

A scan starts at a modest pace (``START_RATE`` requests per second, ``START_WINDOW`` requests in
flight) and adapts the way TCP congestion control does:

- **increase**: each round of answers that came back without a sign of strain raises the pace,
  doubling it until the first back-off (slow start), then adding a tenth of the rate it had
  when it last backed off, and one request in flight (additive increase). Only rounds in
  which the pace held back at least half the requests count (a scan that sends less than it
  may learns nothing about what the target could take); past slow start, the rate never
  grows beyond twice what the round delivered.
- **back-off** (multiplicative decrease): a 429, a 503, a ``Retry-After`` (on any answer but
  a redirect), or latency grown past ``LATENCY_FACTOR`` times its floor (and ``LATENCY_SLACK``
  above it) in ``SLOW_ROUNDS`` rounds in a row halves the rate and the window, at most once
  per round: answers to requests sent before a back-off do not count again. A
  ``Retry-After`` also holds every request until it has passed (``ScanLimiter.hold``).
- **caps**: ``--rate`` and ``--concurrency`` bound the pace; it never goes above them.

A round ends when as many answers came back as the window holds (at least ``MIN_ROUND``); its
latency is the median time its answers took.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]

START_RATE = 50.0  # requests per second at the start
START_WINDOW = 4  # requests in flight at the start
MIN_RATE = 0.5  # the pace never falls below this many requests per second
MIN_ROUND = 8  # answers a round holds at least
LATENCY_FACTOR = 4.0  # a round this many times slower than the floor is strain …
LATENCY_SLACK = 0.3  # … when it is also this many seconds slower
SLOW_ROUNDS = 2  # rounds in a row that must be slow before the pace backs off
DECREASE = 0.5  # what a back-off multiplies rate and window by
INCREASE = 0.1  # past slow start, each round adds this share of the rate at the last back-off

Signal = str  # "429", "503", "Retry-After" or "latency"


@dataclass
class PaceStats:
    """What the pace did over one scan, for the report's note."""

    peak_rate: float = 0.0  # the highest rate the pace reached
    backoffs: Counter[Signal] = field(default_factory=Counter)  # back-offs by their cause
    throttled: int = 0  # answers that were 429 or 503


class Window:
    """A resizable semaphore: at most ``size`` holders, waiters served first come first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.used = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def full(self) -> bool:
        """True when an acquirer would wait."""
        return self.used >= self.size or bool(self._waiters)

    async def acquire(self) -> None:
        """Wait for a free place and take it."""
        if not self.full():
            self.used += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted, then cancelled: hand the place on
            raise

    def release(self) -> None:
        """Give a place back."""
        self.used -= 1
        self._wake()

    def resize(self, size: int) -> None:
        """Let ``size`` holders in at once from now on (holders above it finish first)."""
        self.size = size
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.used < self.size:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter stays in the queue until reached
                self.used += 1
                waiter.set_result(None)


class Pace:
    """The adaptive rate and window of one scan, below the caps ``max_rate`` / ``max_window``."""

    def __init__(self, max_rate: float, max_window: int, clock: Clock = time.monotonic) -> None:
        self.max_rate = max_rate
        self._clock = clock
        self.max_window = max_window
        self.rate = min(START_RATE, max_rate)
        self.window = Window(min(START_WINDOW, max_window))
        self.stats = PaceStats(peak_rate=self.rate)
        self.held = 0  # requests of this round that waited for the pace
        self._size = float(self.window.size)  # the window before rounding
        self._slow_start = True
        self._step = 0.0  # the additive increase per round, after the first back-off
        self._generation = 0  # bumped by each back-off
        self._answers = 0
        self._latencies: list[float] = []
        self._floor: float | None = None  # the lowest round latency seen
        self._began = clock()  # when the round began
        self._slow_rounds = 0  # rounds in a row whose latency grew past the floor

    def sent(self) -> int:
        """Note a request leaving; the token to give back with its answer."""
        return self._generation

    def answered(
        self, token: int, latency: float | None, status: int | None, *, retry_after: bool = False
    ) -> Signal | None:
        """Learn from one answer (``latency`` None: no response came); the back-off it caused.

        ``token`` is what ``sent()`` gave for the request: an answer to a request sent before
        the last back-off neither backs off again nor counts in the round.
        """
        if status in (429, 503):
            self.stats.throttled += 1
        if token != self._generation:
            return None
        cause = "Retry-After" if retry_after else str(status) if status in (429, 503) else None
        if cause is not None:
            self._back_off(cause)
            return cause
        if latency is None:
            return None
        self._answers += 1
        self._latencies.append(latency)
        if self._answers >= max(MIN_ROUND, self.window.size):
            return self._end_round()
        return None

    def _end_round(self) -> Signal | None:
        latency = statistics.median(self._latencies)
        answers, now = self._answers, self._clock()
        delivered = answers / (now - self._began) if now > self._began else self.max_rate
        self._answers, self._latencies, self._began = 0, [], now
        floor = self._floor = latency if self._floor is None else min(self._floor, latency)
        slow = latency > max(floor * LATENCY_FACTOR, floor + LATENCY_SLACK)
        self._slow_rounds = self._slow_rounds + 1 if slow else 0
        if self._slow_rounds >= SLOW_ROUNDS:  # one slow round may be the scanner's own pause
            self._back_off("latency")
            return "latency"
        held, self.held = self.held, 0
        if held * 2 >= answers:  # the pace, not the scan, set the speed of this round
            if self._slow_start:
                self._set(self.rate * 2, self._size * 2)
            else:
                self._set(
                    min(self.rate + self._step, max(self.rate, delivered * 2)), self._size + 1
                )
        return None

    def _back_off(self, cause: Signal) -> None:
        self.stats.backoffs[cause] += 1
        self._slow_start = False
        self._step = max(self.rate * INCREASE, MIN_RATE)
        self._set(self.rate * DECREASE, self._size * DECREASE)
        self._generation += 1
        self._answers, self._latencies, self.held, self._began = 0, [], 0, self._clock()
        self._slow_rounds = 0

    def _set(self, rate: float, size: float) -> None:
        self.rate = min(self.max_rate, max(MIN_RATE, rate))
        self._size = min(float(self.max_window), max(1.0, size))
        self.window.resize(int(self._size))
        self.stats.peak_rate = max(self.stats.peak_rate, self.rate)

    def note(self, requests: int, seconds: float) -> str:
        """One plain sentence on the pace of the scan: its mean, its peak, its back-offs."""
        mean = requests / seconds if seconds > 0 else 0.0
        text = (
            f"pace: {requests} requests in {seconds:.1f} s ({_rate(mean)} on average); "
            f"the adaptive pace rose to {_rate(self.stats.peak_rate)}"
        )
        if self.stats.peak_rate >= self.max_rate:
            text += " (the --rate cap)"
        causes = self.stats.backoffs
        if not causes:
            return text + " and never backed off"
        why = ", ".join(
            f"{count} on {'latency growth' if cause == 'latency' else cause}"
            for cause, count in sorted(causes.items())
        )
        total = sum(causes.values())
        text += f", backed off {total} time{'s' if total != 1 else ''} ({why})"
        if self.stats.throttled:
            text += f" after {self.stats.throttled} answers of 429 or 503"
        return text + f", and ended at {_rate(self.rate)}"


def _rate(value: float) -> str:
    return f"{value:.0f}/s" if value >= 10 else f"{value:.1f}/s"
