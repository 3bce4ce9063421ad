"""Timing verdicts: a delay a probe asked for, measured against a fresh control and repeated.

Used by the blind SQL and OS command injection probes. Every request here is sent fresh (never
answered from the scan's cache). A target whose control takes longer than ``SLOW_TARGET_S`` is
not timed at all: on a slow or variable target a delay proves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from middlebrick.checks._probe import Prober, Slot
from middlebrick.http.exchange import Exchange

DELAY_S = 2.0
"""The delay a probe asks for: at most a few seconds of the target's time per probe."""

SLOW_TARGET_S = 1.0
"""A control slower than this (or a baseline slower than this): the target is not timed."""

_SHOWN = 0.8  # the fraction of the asked delay an answer must show
_QUICK = 0.5  # the zero-delay probe may exceed the control by at most this fraction of DELAY_S

Payload = Callable[[float], str]
"""Builds the value that asks for a delay of so many seconds (0: the same value, no delay)."""


def seconds(exchange: Exchange | None) -> float | None:
    """How long the exchange took, in seconds; ``None`` without a response."""
    if exchange is None or exchange.response is None:
        return None
    return exchange.response.elapsed_ms / 1000


@dataclass(frozen=True)
class Delay:
    """A confirmed delay: the control, the delayed probe, the same without delay, and again."""

    label: str  # which payload (a database, a shell separator)
    value: str  # the delayed probe's value
    control: Exchange
    slow: Exchange
    quick: Exchange
    again: Exchange

    def evidence(self) -> list[tuple[str, Exchange]]:
        """The labelled evidence, control first."""
        return [
            ("control", self.control),
            ("probe", self.slow),
            ("probe without delay", self.quick),
            ("probe repeated", self.again),
        ]

    def said(self, slot: Slot) -> str:
        """One sentence of what was measured."""
        t = [seconds(ex) or 0.0 for ex in (self.control, self.slow, self.quick, self.again)]
        return (
            f"{slot.described}={self.value!r} asked for a {DELAY_S:g} s delay and answered in "
            f"{t[1]:.2f} s, again in {t[3]:.2f} s, while the same value asking for none "
            f"answered in {t[2]:.2f} s and the control (the original value, sent fresh) in "
            f"{t[0]:.2f} s"
        )


async def control_time(prober: Prober, slot: Slot, value: str) -> tuple[Exchange, float] | None:
    """The control sent fresh and its time; ``None`` when unusable or the target is slow."""
    control = await prober.try_value(slot, value, fresh=True)
    took = seconds(control)
    if control is None or took is None or took > SLOW_TARGET_S or control.response is None:
        return None
    if control.response.status >= 500:
        return None
    return control, took


async def delayed(
    prober: Prober,
    slot: Slot,
    payloads: Sequence[tuple[str, Payload]],
    *,
    control_value: str | None = None,
) -> Delay | None:
    """The first payload whose delay shows, is absent without it, and shows again.

    The baseline's own time screens each payload (one request each); a delay that shows is
    then measured against a control sent fresh (``control_value``, by default the slot's
    value), the same payload without delay, and the delay again: three more requests. Each
    delayed probe may hold the target ``DELAY_S`` seconds.
    """
    base = seconds(slot.baseline)
    if base is None or base > SLOW_TARGET_S:
        return None
    for label, payload in payloads:
        if not prober.has(1):
            return None
        value = payload(DELAY_S)
        slow = await prober.try_value(slot, value, fresh=True)
        if slow is None or not _shows(slow, base) or not prober.has(3):
            continue
        control = await control_time(
            prober, slot, slot.value if control_value is None else control_value
        )
        if control is None or not _shows(slow, control[1]):
            return None
        quick = await prober.try_value(slot, payload(0), fresh=True)
        quick_s = seconds(quick)
        if quick is None or quick_s is None or quick_s > control[1] + _QUICK * DELAY_S:
            continue
        again = await prober.try_value(slot, value, fresh=True)
        if again is not None and _shows(again, quick_s):
            return Delay(label, value, control[0], slow, quick, again)
    return None


def _shows(exchange: Exchange | None, base: float) -> bool:
    took = seconds(exchange)
    return took is not None and took >= base + _SHOWN * DELAY_S
