"""The active phase: a tier's probes sent one at a time, paced, and bounded in requests and time.

Probes go out sequentially with ``pause_s`` between them; the phase stops when it has sent
``max_requests`` probes or spent ``max_seconds`` (one request is cut at the time left), both
shared by every endpoint of the scan. Answers are judged once all of an endpoint's probes came
back, so that each answer is compared with the answers to all the other probes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from middlebrick.checks.context import CheckContext
from middlebrick.checks.llm_security._detectors import Judge, Verdict
from middlebrick.checks.llm_security._endpoints import Endpoint
from middlebrick.checks.llm_security._reply import Reply, parse_reply
from middlebrick.checks.llm_security._request import canary_for, render
from middlebrick.errors import ScanInterrupted
from middlebrick.http.exchange import Exchange
from middlebrick.knowledge.llm_models import LlmPhaseLimits, LlmProbe


async def pause(seconds: float) -> None:
    """Wait between two probes (tests replace it to run without waiting)."""
    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class Signal:
    """One probe's verdict on one endpoint, with the exchange that showed it."""

    probe: LlmProbe
    verdict: Verdict
    exchange: Exchange


@dataclass(frozen=True)
class _Answer:
    probe: LlmProbe
    message: str
    canary: str
    exchange: Exchange
    reply: Reply | None


@dataclass
class Phase:
    """The probe budget of one scan: requests and seconds, shared by all endpoints."""

    limits: LlmPhaseLimits
    max_tokens: int  # asked of every probe that does not ask for more itself
    grounding: tuple[str, ...] = ()
    clock: Callable[[], float] = time.monotonic
    sent: int = 0
    cut: str | None = None  # why probes were left unsent, in a sentence
    interrupted: ScanInterrupted | None = None  # the scan limit that stopped the phase
    _started: float | None = field(default=None, repr=False)

    async def run(
        self, ctx: CheckContext, endpoint: Endpoint, probes: Sequence[LlmProbe], judge: Judge
    ) -> list[Signal]:
        """Send ``probes`` to ``endpoint`` within the limits; the signals their answers gave."""
        if self._started is None:
            self._started = self.clock()
        answers: list[_Answer] = []
        for index, probe in enumerate(probes):
            if not self._may_send(len(probes) - index):
                break
            if self.sent:
                await pause(self.limits.pause_s)
            answer = await self._send(ctx, endpoint, probe)
            if answer is None:
                break
            answers.append(answer)
        for answer in answers:
            judge.remember(answer.probe.id, answer.message, answer.reply)
        signals = []
        for answer in answers:
            if answer.reply is None:
                continue
            verdict = judge.judge(answer.probe, answer.message, answer.canary, answer.reply)
            if verdict is not None:
                signals.append(Signal(answer.probe, verdict, answer.exchange))
        return signals

    async def _send(self, ctx: CheckContext, endpoint: Endpoint, probe: LlmProbe) -> _Answer | None:
        canary = canary_for(probe.id)
        message = render(probe, canary)
        request = endpoint.request(message, probe.max_tokens or self.max_tokens)
        self.sent += 1
        try:
            async with asyncio.timeout(self._left()):
                exchange = await ctx.send(request)
        except TimeoutError:
            self.cut = f"the probe phase reached its {self.limits.max_seconds:g} s limit"
            return None
        except ScanInterrupted as exc:
            self.interrupted = exc
            self.cut = f"the scan stopped the probe phase: {exc}"
            return None
        reply = parse_reply(exchange.response, self.grounding) if exchange.ok else None
        return _Answer(probe, message, canary, exchange, reply)

    def _may_send(self, remaining: int) -> bool:
        if self.cut is not None:
            return False
        if self.sent >= self.limits.max_requests:
            self.cut = (
                f"the probe phase reached its {self.limits.max_requests} request limit "
                f"with {remaining} probe(s) unsent"
            )
            return False
        if self._left() <= self.limits.pause_s:
            self.cut = f"the probe phase reached its {self.limits.max_seconds:g} s limit"
            return False
        return True

    def _left(self) -> float:
        started = self._started if self._started is not None else self.clock()
        return max(0.0, self.limits.max_seconds - (self.clock() - started))
