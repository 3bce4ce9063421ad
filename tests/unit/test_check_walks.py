"""How checks walk the surface: handing the loop a turn, stopping at the time budget, several
operations at once with findings in order, and naming what a cut left unreached."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from middlebrick.baseline import Baseline
from middlebrick.checks.context import AT_ONCE, CheckContext
from middlebrick.config import Limits, ScanRequest
from middlebrick.errors import BudgetExhausted, TimeBudgetExhausted
from middlebrick.findings import Finding
from middlebrick.http.limits import ScanLimiter
from middlebrick.spec.model import Operation, Surface
from middlebrick.testing import BASE, FakeSender

OPERATIONS = [Operation(method="GET", path=f"/r{k}") for k in range(6)]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _LimitedSender(FakeSender):
    """A fake sender with the limiter of a real client, driven by a hand-moved clock."""

    def __init__(self, clock: _Clock, time_budget: float) -> None:
        super().__init__()
        self.limiter = ScanLimiter(Limits(time_budget=time_budget), clock=clock)


def _ctx(client: FakeSender | None = None) -> CheckContext:
    return CheckContext(
        ScanRequest(target=BASE),
        Surface(base_url=BASE, operations=tuple(OPERATIONS)),
        Baseline(),
        client or FakeSender(),
    )


async def test_a_long_walk_hands_the_event_loop_a_turn() -> None:
    ctx = _ctx()
    turns: list[int] = []

    async def other_work() -> None:
        for _ in range(3):
            turns.append(len(walked))
            await asyncio.sleep(0)

    walked: list[Operation] = []
    other = asyncio.ensure_future(other_work())
    async for op in ctx.each(OPERATIONS):
        time.sleep(0.006)  # more than a slice of synchronous work per operation
        walked.append(op)
    await other
    assert turns and turns[0] < len(OPERATIONS)  # it ran while the walk went on


async def test_a_walk_stops_at_the_time_budget_and_names_what_it_did_not_reach() -> None:
    clock = _Clock()
    ctx = _ctx(_LimitedSender(clock, time_budget=10))
    walked = []
    with pytest.raises(TimeBudgetExhausted):
        async for op in ctx.each(OPERATIONS):
            walked.append(op.key)
            time.sleep(0.006)
            if len(walked) == 2:
                clock.now = 11  # the budget ends while the second operation is examined
    assert walked == ["GET /r0", "GET /r1"]
    assert ctx.not_reached() == ["GET /r2", "GET /r3", "GET /r4", "GET /r5"]


async def test_a_finished_walk_leaves_nothing_unreached() -> None:
    ctx = _ctx()
    async for _ in ctx.each(OPERATIONS):
        pass
    assert ctx.not_reached() == []


async def test_each_at_once_gives_findings_in_operation_order_whatever_answers_first() -> None:
    ctx = _ctx()
    running = peak = 0

    async def probe(op: Operation) -> AsyncIterator[Finding]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (len(OPERATIONS) - int(op.path[2:])))  # the last first
        running -= 1
        yield op.key  # type: ignore[misc]  # stands for a finding

    found = [finding async for finding in ctx.each_at_once(OPERATIONS, probe)]
    assert found == [op.key for op in OPERATIONS]
    assert peak == min(AT_ONCE, len(OPERATIONS))


async def test_each_at_once_stops_every_probe_at_a_spent_budget() -> None:
    ctx = _ctx()
    finished: list[str] = []

    async def probe(op: Operation) -> AsyncIterator[Finding]:
        if op.path == "/r3":
            await asyncio.sleep(0.01)
            raise BudgetExhausted("request budget of 10 requests spent")
        await asyncio.sleep(0 if op.path < "/r3" else 1)
        finished.append(op.key)
        yield op.key  # type: ignore[misc]

    found: list[Finding] = []
    with pytest.raises(BudgetExhausted):
        async for finding in ctx.each_at_once(OPERATIONS, probe):
            found.append(finding)
    assert found == ["GET /r0", "GET /r1", "GET /r2"]
    assert ctx.not_reached() == ["GET /r3", "GET /r4", "GET /r5"]
    await asyncio.sleep(0)
    assert "GET /r4" not in finished  # the others were cancelled, not left running
