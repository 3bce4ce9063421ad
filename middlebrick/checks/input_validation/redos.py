"""ReDoS: a pattern-validated input whose matching time grows super-linearly with its length."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from middlebrick.checks._assignable import envelope
from middlebrick.checks._bodies import probed_writes
from middlebrick.checks._field_names import key_tokens
from middlebrick.checks._probe import Prober, Slot, body_slots, is_json, slots
from middlebrick.checks._schemas import shape
from middlebrick.checks._timing import SLOW_TARGET_S, seconds
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation

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

PER_PARAMETER = 16
"""The most requests one parameter costs: the growing probes, repeats and two controls."""

BODIES = 4
"""Active mode: write bodies (reads, removable creations, updates of created objects) whose
first validated string field is timed."""

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
    max_requests=(PARAMETERS + 2 * BODIES) * PER_PARAMETER,
    writes=True,  # active mode: the bodies of reads and of the scan's own objects, journaled
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
    probe holds the target more than a few seconds. Such a slow probe is sent again at once: a
    probe that is not slow again was a stall of the target, and growth goes on.
    Operations whose baseline took over 1 s are not timed.

    Active mode also times the first such string field of the JSON bodies of up to four writes
    the injection probes fill (POSTs that name a read, creations whose objects the API
    documents a ``DELETE`` for, and updates of an object the scan created first; only writes
    whose body has a property that may be text count among the four): what each
    probe creates is deleted by the write journal, and objects that existed before the scan
    are never written.

    The finding needs super-linear growth, repeated, against a control: from a shorter probe
    to the slowest, the time above the baseline grows at least 4 times faster than the length
    (a time that grows with the length alone does not), sent again the slowest is as slow, and
    a control of the same length and letters that cannot backtrack (``a!a!a!…``), sent fresh
    (once more if it was slow), takes under a quarter of its time. Confirmed.
    """
    prober = Prober(ctx, PARAMETERS * PER_PARAMETER)
    async for slot in ctx.each(_candidates(ctx)[:PARAMETERS]):
        found = await time_growth(prober, slot)
        if found is not None:
            yield found
    if ctx.scan.mode == "active":
        body_prober = Prober(ctx, BODIES * PER_PARAMETER)
        writes = probed_writes(ctx, [body_prober], BODIES, only=_takes_text)
        async for operation, baseline, document in writes:
            took = seconds(baseline)
            if not baseline.ok or took is None or took > SLOW_TARGET_S:
                continue
            fields = validated(body_slots(operation, baseline, document))
            if fields:
                found = await time_growth(body_prober, fields[0])
                if found is not None:
                    yield found


def _takes_text(operation: Operation) -> bool:
    """Whether a write's JSON body has a property that may be text (inside its envelope): a
    body of numbers alone (``{"product_id": 1, "quantity": 2}``) takes none of the writes."""
    schema = operation.request_body.schema if operation.request_body is not None else {}
    props = shape(schema).properties
    wrapper = envelope(schema)
    if wrapper is not None:
        props = shape(props[wrapper]).properties
    return not props or any(p.get("type") in (None, "string") for p in props.values())


def _too_slow(control: Exchange, base: float, slowest: _Point) -> bool:
    took = seconds(control)
    return took is None or (took - base) * _GROWTH > slowest.excess


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
        found = validated(slots(operation, exchange))
        strong += [slot for slot in found if _strong(slot)]
        weak += [slot for slot in found if not _strong(slot)]
    return strong + weak


def validated(found: list[Slot]) -> list[Slot]:
    """The string slots an API likely checks with an expression, declared patterns first."""
    strong: list[Slot] = []
    weak: list[Slot] = []
    for slot in found:
        schema = slot.parameter.schema
        if is_json(slot.value) or schema.get("type") not in (None, "string"):
            continue
        if slot.where == "body" and not isinstance(
            (slot.document or {}).get(slot.parameter.name), str
        ):
            continue
        if _strong(slot):
            strong.append(slot)
        elif _EMAIL.fullmatch(slot.value) or key_tokens(slot.parameter.name) & _VALIDATED_WORDS:
            weak.append(slot)
    return strong + weak


def _strong(slot: Slot) -> bool:
    schema = slot.parameter.schema
    return bool(schema.get("pattern")) or schema.get("format") in _VALIDATED_FORMATS


async def time_growth(prober: Prober, slot: Slot) -> Finding | None:
    """The ReDoS finding of one slot: growing inputs timed against its baseline, repeated, and a
    control of the same length that cannot backtrack (``redos``'s docstring says how)."""
    base = seconds(slot.baseline) or 0.0
    points: list[_Point] = []
    length = START
    while length <= LONGEST and prober.has(4) and len(points) < PER_PARAMETER - 4:
        probe = await prober.try_value(slot, "a" * length + "!", fresh=True)
        took = seconds(probe)
        if probe is None or took is None:
            return None
        points.append(_Point(length, probe, took - base))
        excess = took - base
        earlier = [p for p in points[:-1] if _super_linear(p, points[-1])]
        if excess >= MOST_S or (excess >= SLOW_S and earlier):
            again = await prober.try_value(slot, "a" * length + "!", fresh=True)
            again_s = seconds(again)
            if again is not None and again_s is not None and again_s - base >= SLOW_S:
                if not earlier:
                    return None
                return await _controlled(prober, slot, base, earlier[-1], points[-1], again)
            if excess >= MOST_S:
                return None  # slow once, not again: a target too noisy to time
            points.pop()  # a stall, not the expression: go on growing
        length += 6 if excess < 0.02 else 3 if excess < 0.1 else 1
    return None


async def _controlled(
    prober: Prober, slot: Slot, base: float, small: _Point, slowest: _Point, again: Exchange
) -> Finding | None:
    """The finding, when a control of the same length that cannot backtrack is fast.

    A slow control is sent once more (a stall of the target is not the input's doing).
    """
    value = ("a!" * slowest.length)[: slowest.length + 1]
    control = await prober.try_value(slot, value, fresh=True)
    if control is not None and _too_slow(control, base, slowest):
        control = await prober.try_value(slot, value, fresh=True)
    control_s = seconds(control)
    if control is None or control_s is None or _too_slow(control, base, slowest):
        return None
    again_s = seconds(again) or 0.0
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
