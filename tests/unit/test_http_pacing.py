"""The adaptive pace: slow start, additive increase, multiplicative back-off, hard caps."""

from __future__ import annotations

import asyncio

import pytest

from middlebrick.http.pacing import MIN_ROUND, START_RATE, START_WINDOW, Pace, Window


def _round(pace: Pace, latency: float = 0.01, *, held: bool = True) -> str | None:
    """Answer one full round of requests sent now; the back-off it caused, if any."""
    size = max(MIN_ROUND, pace.window.size)
    pace.held = size if held else size // 2 - 1
    token = pace.sent()
    cause = None
    for _ in range(size):
        cause = pace.answered(token, latency, 200) or cause
    return cause


def test_pace_starts_modest_below_the_caps() -> None:
    pace = Pace(max_rate=1000, max_window=32)
    assert (pace.rate, pace.window.size) == (START_RATE, START_WINDOW)
    assert Pace(max_rate=5, max_window=2).rate == 5
    assert Pace(max_rate=5, max_window=2).window.size == 2


def test_pace_doubles_each_held_round_up_to_the_caps() -> None:
    pace = Pace(max_rate=1000, max_window=32)
    rates = []
    for _ in range(6):
        _round(pace)
        rates.append((pace.rate, pace.window.size))
    assert rates == [(100, 8), (200, 16), (400, 32), (800, 32), (1000, 32), (1000, 32)]
    assert pace.stats.peak_rate == 1000


def test_pace_stays_put_when_most_requests_did_not_wait_for_it() -> None:
    pace = Pace(max_rate=1000, max_window=32)
    _round(pace, held=False)
    assert (pace.rate, pace.window.size) == (START_RATE, START_WINDOW)


def test_pace_halves_on_a_429_once_for_the_requests_already_in_flight() -> None:
    pace = Pace(max_rate=1000, max_window=32)
    _round(pace)
    _round(pace)  # 200/s, 16 in flight
    before = pace.sent()
    assert pace.answered(before, 0.01, 429) == "429"
    assert pace.answered(before, 0.01, 429) is None  # sent before the back-off: not again
    assert (pace.rate, pace.window.size) == (100, 8)
    assert pace.answered(pace.sent(), 0.01, 503) == "503"  # sent after it: halves again
    assert (pace.rate, pace.window.size) == (50, 4)
    assert pace.stats.throttled == 3 and dict(pace.stats.backoffs) == {"429": 1, "503": 1}


def test_pace_grows_additively_after_a_back_off() -> None:
    pace = Pace(max_rate=1000, max_window=32)
    _round(pace)  # 100/s
    pace.answered(pace.sent(), 0.01, 429)  # 50/s; the step is a tenth of 100/s
    _round(pace)
    _round(pace)
    assert pace.rate == pytest.approx(70)
    assert pace.window.size == 6  # 4, then one more per round


def test_pace_backs_off_on_retry_after_whatever_the_status() -> None:
    pace = Pace(max_rate=1000, max_window=32)
    assert pace.answered(pace.sent(), 0.01, 200, retry_after=True) == "Retry-After"
    assert pace.rate == START_RATE / 2


def test_pace_backs_off_when_latency_grows_well_past_its_floor() -> None:
    pace = Pace(max_rate=1000, max_window=32)
    assert _round(pace, latency=0.05) is None  # the floor: 50 ms
    assert _round(pace, latency=0.15) is None  # three times slower, but only 0.1 s more
    assert _round(pace, latency=0.5) is None  # one slow round: maybe the scanner's own pause
    assert _round(pace, latency=0.05) is None
    assert _round(pace, latency=0.5) is None
    assert _round(pace, latency=0.5) == "latency"
    assert pace.stats.backoffs["latency"] == 1


def test_pace_never_falls_below_its_floor_rate() -> None:
    pace = Pace(max_rate=1000, max_window=32)
    for _ in range(20):
        pace.answered(pace.sent(), 0.01, 429)
    assert pace.rate == 0.5 and pace.window.size == 1


def test_pace_note_says_the_mean_the_peak_and_the_back_offs() -> None:
    quiet = Pace(max_rate=100, max_window=32)
    _round(quiet)
    assert quiet.note(300, 2.0) == (
        "pace: 300 requests in 2.0 s (150/s on average); the adaptive pace rose to 100/s "
        "(the --rate cap) and never backed off"
    )
    throttled = Pace(max_rate=1000, max_window=32)
    throttled.answered(throttled.sent(), 0.01, 429)
    throttled.answered(throttled.sent(), 0.01, 429)
    assert throttled.note(40, 4.0) == (
        "pace: 40 requests in 4.0 s (10/s on average); the adaptive pace rose to 50/s, backed "
        "off 2 times (2 on 429) after 2 answers of 429 or 503, and ended at 12/s"
    )


async def test_window_lets_in_as_many_as_its_size_and_grows_and_shrinks() -> None:
    window = Window(2)
    await window.acquire()
    await window.acquire()
    third = asyncio.ensure_future(window.acquire())
    await asyncio.sleep(0)
    assert not third.done() and window.full()
    window.resize(3)
    await asyncio.sleep(0)
    assert third.done() and window.used == 3
    window.resize(1)
    window.release()
    window.release()
    assert window.used == 1 and window.full()


async def test_window_passes_on_a_place_granted_to_a_cancelled_waiter() -> None:
    window = Window(1)
    await window.acquire()
    cancelled = asyncio.ensure_future(window.acquire())
    waiting = asyncio.ensure_future(window.acquire())
    await asyncio.sleep(0)
    window.release()  # the place goes to the first waiter …
    cancelled.cancel()  # … which is cancelled before it could take it
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert cancelled.cancelled() and waiting.done() and window.used == 1
