"""ReDoS: a pattern-validated input whose matching time grows super-linearly with its length."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from middlebrick.checks._probe import Prober, Slot, is_json, slots
from middlebrick.checks._timing import SLOW_TARGET_S, seconds
from middlebrick.checks._validators import key_tokens
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange

REDOS = "input_validation.redos"

PARAMETERS = 6
"""Parameters timed in one scan."""

START, LONGEST = 16, 40
"""The first and the longest run of the repeated character."""

SLOW_S = 0.5
"""Time above the baseline's that the slowest probe must reach; growth stops there once the
time has grown super-linearly."""

MOST_S = 2.0
"""Time above the baseline's at which growth stops in any case (a noisy shorter probe may need
a slower last one to show the growth)."""

PER_PARAMETER = 14
"""The most requests one parameter costs: the growing probes, a repeat and a control."""

_GROWTH = 4.0  # time must grow this many times faster than the length between two probes
_NOISE_S = 0.01  # excess times below this count as this much
_VALIDATED_FORMATS = frozenset({"email", "idn-email", "hostname", "idn-hostname", "uri", "url"})
# Inputs that APIs usually check with a hand-written expression: e-mail addresses, user and
# display names, host names and URLs, slugs and codes (the formats and fields the OWASP ReDoS
# page and the published ReDoS advisories of validator libraries are about).
_VALIDATED_WORDS = frozenset(
    {"email", "mail", "username", "login", "name", "domain", "host", "hostname", "url", "slug"}
)
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class _Point:
    length: int
    exchange: Exchange
    excess: float  # seconds above the baseline's time


@check(
    category="input_validation",
    emits={REDOS},
    max_requests=PARAMETERS * PER_PARAMETER,
)
async def redos(ctx: CheckContext) -> AsyncIterator[Finding]:
    """ReDoS: growing inputs to pattern-validated parameters whose time grows super-linearly.

    Times up to six string path or query parameters of readable operations: those whose schema
    has a ``pattern`` or an e-mail, host name or URL ``format``, then those whose value looks
    like an e-mail address or whose name is a usual validated field (``email``, ``username``,
    ``name``, ``domain``, ``url``, ``slug`` …). Each gets a run of ``a`` followed by ``!``
    (the input that makes nested quantifiers such as ``([a-z0-9]+)*`` backtrack), from 16 to
    40 characters, in smaller steps as the time grows; growth stops as soon as an answer takes
    0.5 s more than the baseline and the growth shows (below), or 2 s more in any case, so no
    probe holds the target more than a few seconds.
    Operations whose baseline took over 1 s are not timed.

    The finding needs super-linear growth, repeated, against a control: from a shorter probe
    to the slowest, the time above the baseline grows at least 4 times faster than the length
    (a time that grows with the length alone does not), sent again the slowest is as slow, and
    a control of the same length and letters that cannot backtrack (``a!a!a!…``), sent fresh,
    takes under a quarter of its time. Confirmed.
    """
    prober = Prober(ctx, PARAMETERS * PER_PARAMETER)
    for slot in _candidates(ctx)[:PARAMETERS]:
        found = await _time(prober, slot)
        if found is not None:
            yield found


def _super_linear(small: _Point, large: _Point) -> bool:
    """The time grew ``_GROWTH`` times faster than the length from ``small`` to ``large``."""
    ratio = large.length / small.length
    return large.excess >= _GROWTH * ratio * max(small.excess, _NOISE_S)


def _candidates(ctx: CheckContext) -> list[Slot]:
    strong: list[Slot] = []
    weak: list[Slot] = []
    for operation, exchange in ctx.baseline.items():
        if operation.method not in _SAFE_METHODS or not exchange.ok:
            continue
        took = seconds(exchange)
        if took is None or took > SLOW_TARGET_S:
            continue
        for slot in slots(operation, exchange):
            schema = slot.parameter.schema
            if is_json(slot.value) or schema.get("type") not in (None, "string"):
                continue
            if schema.get("pattern") or schema.get("format") in _VALIDATED_FORMATS:
                strong.append(slot)
            elif _EMAIL.fullmatch(slot.value) or key_tokens(slot.name) & _VALIDATED_WORDS:
                weak.append(slot)
    return strong + weak


async def _time(prober: Prober, slot: Slot) -> Finding | None:
    base = seconds(slot.baseline) or 0.0
    points: list[_Point] = []
    length = START
    while length <= LONGEST and prober.has(3) and len(points) < PER_PARAMETER - 2:
        probe = await prober.try_value(slot, "a" * length + "!", fresh=True)
        took = seconds(probe)
        if probe is None or took is None:
            return None
        points.append(_Point(length, probe, took - base))
        excess = took - base
        grew = any(_super_linear(p, points[-1]) for p in points[:-1])
        if excess >= MOST_S or (excess >= SLOW_S and grew):
            break
        length += 6 if excess < 0.02 else 3 if excess < 0.1 else 1
    slowest = points[-1] if points else None
    if slowest is None or slowest.excess < SLOW_S:
        return None
    earlier = [p for p in points[:-1] if _super_linear(p, slowest)]
    if not earlier:
        return None
    again = await prober.try_value(slot, "a" * slowest.length + "!", fresh=True)
    control = await prober.try_value(
        slot, ("a!" * slowest.length)[: slowest.length + 1], fresh=True
    )
    again_s, control_s = seconds(again), seconds(control)
    if again is None or control is None or again_s is None or control_s is None:
        return None
    if again_s - base < SLOW_S or (control_s - base) * _GROWTH > slowest.excess:
        return None
    small = earlier[-1]
    return prober.ctx.finding(
        REDOS,
        slot.operation,
        detail=f"{slot.described} given {small.length} × 'a' then '!' took "
        f"{small.excess:.2f} s more than the baseline, {slowest.length} took "
        f"{slowest.excess:.2f} s more (again {again_s - base:.2f} s), while a control of "
        f"the same length that cannot backtrack ('a!a!…') took {control_s - base:.2f} s more: "
        "the time grows super-linearly with the input, as a backtracking regular expression's "
        "does",
        evidence=[
            ("baseline", slot.baseline),
            (f"probe, {small.length} characters", small.exchange),
            (f"probe, {slowest.length} characters", slowest.exchange),
            ("probe repeated", again),
            ("control", control),
        ],
        parameter=slot.name,
        confidence=Confidence.confirmed,
    )
