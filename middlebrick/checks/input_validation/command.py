"""OS command injection: values that reach a shell, shown by an echoed result or a delay."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from middlebrick.checks._bodies import probed_writes
from middlebrick.checks._injection import server_error, unlike
from middlebrick.checks._probe import Prober, Slot, body_slots, is_json, slots
from middlebrick.checks._timing import Delay, delayed
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange

COMMAND = "input_validation.command-injection"

PARAMETERS = 2
"""String path or query parameters per operation that get the first probe."""

FOLLOW_UPS = 40
"""Confirmations and the other separators, for the whole scan."""

TIMED = 48
"""Timing requests for the whole scan (one per parameter when nothing is delayed)."""

# How a command joins the value (POSIX sh): {v} the value, {c} the command. Substitution first:
# it runs unquoted and inside double quotes alike.
SEPARATORS = (
    ("$(...)", "{v}$({c})"),
    ("backticks", "{v}`{c}`"),
    (";", "{v};{c}"),
    ("|", "{v}|{c}"),
    ("&&", "{v}&&{c}"),
    ("newline", "{v}\n{c}"),
    ("quote and ;", "{v}';{c};'"),
)
BODIES = 10
"""Active mode: POST operations whose JSON body is probed (two fields each): reads, and
creations whose objects the API documents a ``DELETE`` for."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def marker(slot: Slot, round_: int = 0) -> tuple[str, str]:
    """(the command, the text only its execution prints): ``echo mbzq$((a*b))`` -> mbzq<a·b>.

    The factors come from the operation and parameter, so a scan is repeatable; a reflection
    of the value shows ``$((a*b))``, never the product.
    """
    seed = hashlib.sha256(f"{slot.operation.key} {slot.name} {round_}".encode()).digest()
    a = 1000 + int.from_bytes(seed[:2], "big") % 9000
    b = 100 + seed[2] % 900
    return f"echo mbzq$(({a}*{b}))", f"mbzq{a * b}"


@check(
    category="input_validation",
    emits={COMMAND},
    per_operation=PARAMETERS,
    max_requests=FOLLOW_UPS + TIMED + BODIES * (1 + PARAMETERS),
    writes=True,  # active mode: POSTs (reads, removable creations), through the write journal
)
async def command_injection(ctx: CheckContext) -> AsyncIterator[Finding]:
    """OS command injection in path and query values: an echoed product, or a sleep.

    For every readable operation whose baseline answered below 500, up to two string path or
    query parameters get ``v$(echo mbzq$((a*b)))``: the shell would print ``mbzq`` and the
    product of two numbers that appear nowhere else. When the product appears, the value is
    sent again with other factors (and the original value as a control, fresh): both products
    must appear and the control must show neither. When it does not appear but the answer
    differs from the baseline (another status, a 5xx), the other separators are tried the same
    way: backticks, ``;``, ``|``, ``&&``, a newline, and a single quote closed before ``;``.

    Blind: each such parameter also gets ``v$(sleep 2)`` (and ``v;sleep 2`` when the first
    answer differed), screened against the baseline's time (an operation whose baseline took
    over 1 s is not timed); a delay must then show against a fresh control, vanish with
    ``sleep 0`` and show again. Only ``echo`` and ``sleep`` are ever run. One finding per
    operation and parameter, confirmed.

    Active mode also probes two string fields of the JSON bodies of up to ten POST operations
    that name a read (``/search``, ``/lookup``: they cannot change state) or that create in a
    collection whose objects the API documents a ``DELETE`` for, the same way; each object a
    creation's probe made is deleted by the write journal before the next probe. The PUT and
    PATCH bodies of such a collection's objects are probed on an object the check creates
    first (and deletes after), never on one that existed before the scan.
    """
    follow = Prober(ctx, FOLLOW_UPS)
    timed = Prober(ctx, TIMED)
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        if operation.method not in _SAFE_METHODS or server_error(exchange):
            continue
        if exchange.response is None or exchange.response.status in (401, 403):
            continue
        for slot in _parameters(ctx, operation.key):
            first = SEPARATORS[0][1].format(v=slot.value, c=marker(slot)[0])
            probe = await follow.try_value(slot, first, charge=False)
            if probe is None:
                continue
            differed = unlike(probe, exchange) or server_error(probe)
            finding = await _echoed(ctx, follow, slot, probe, differed)
            if finding is None:
                finding = await _slept(ctx, timed, slot, differed)
            if finding is not None:
                yield finding
    if ctx.scan.mode == "active":
        async for finding in _bodies(ctx, follow, timed):
            yield finding


async def _bodies(ctx: CheckContext, follow: Prober, timed: Prober) -> AsyncIterator[Finding]:
    """Active mode: the string fields of JSON bodies of reads and removable creations."""
    async for operation, baseline, document in probed_writes(ctx, [follow, timed], BODIES):
        fields = [s for s in body_slots(operation, baseline, document) if not is_json(s.value)]
        strings = [s for s in fields if isinstance(document[s.parameter.name], str)]
        for slot in strings[:PARAMETERS] if not server_error(baseline) else []:
            first = SEPARATORS[0][1].format(v=slot.value, c=marker(slot)[0])
            probe = await follow.try_value(slot, first, charge=False)
            if probe is None:
                continue
            differed = unlike(probe, baseline) or server_error(probe)
            finding = await _echoed(ctx, follow, slot, probe, differed)
            if finding is None:
                finding = await _slept(ctx, timed, slot, differed)
            if finding is not None:
                yield finding


def _parameters(ctx: CheckContext, key: str) -> list[Slot]:
    operation = ctx.baseline.operations[key]
    exchange = ctx.baseline.exchanges[key]
    return [s for s in slots(operation, exchange) if not is_json(s.value)][:PARAMETERS]


async def _echoed(
    ctx: CheckContext, prober: Prober, slot: Slot, first: Exchange, differed: bool
) -> Finding | None:
    """The product printed: confirmed by another product and a control that shows neither."""
    separators = SEPARATORS if differed else SEPARATORS[:1]
    for index, (label, template) in enumerate(separators):
        command, printed = marker(slot)
        if index == 0:
            probe: Exchange | None = first
        else:
            probe = await prober.try_value(slot, template.format(v=slot.value, c=command))
        if probe is None or not _prints(probe, printed) or _prints(slot.baseline, printed):
            continue
        again_command, again_printed = marker(slot, 1)
        trio = await prober.trio(slot, template.format(v=slot.value, c=again_command), slot.value)
        if trio is None or not _prints(trio.probe, again_printed):
            return None
        if _prints(trio.control, printed) or _prints(trio.control, again_printed):
            return None
        return ctx.finding(
            COMMAND,
            slot.operation,
            detail=f"{slot.described}={template.format(v=slot.value, c=command)!r} (the "
            f"{label} separator) answered with {printed!r}, the product the shell computes, "
            f"and {again_printed!r} for other factors, while the original value sent fresh "
            "showed neither: the value reaches a shell command line",
            evidence=[
                ("baseline", slot.baseline),
                ("probe", probe),
                ("probe, other factors", trio.probe),
                ("control", trio.control),
            ],
            parameter=slot.name,
            confidence=Confidence.confirmed,
            match=printed,
        )
    return None


async def _slept(ctx: CheckContext, prober: Prober, slot: Slot, differed: bool) -> Finding | None:
    """A ``sleep`` the answer shows, absent with ``sleep 0``, and shown again."""
    value = slot.value
    payloads = [("$(...)", lambda s: f"{value}$(sleep {s:g})")]
    if differed:
        payloads.append((";", lambda s: f"{value};sleep {s:g}"))
    delay = await delayed(prober, slot, payloads)
    if delay is None:
        return None
    return _delay_finding(ctx, slot, delay)


def _delay_finding(ctx: CheckContext, slot: Slot, delay: Delay) -> Finding:
    return ctx.finding(
        COMMAND,
        slot.operation,
        detail=f"{delay.said(slot)} (the {delay.label} separator): the value reaches a shell "
        "command line, which ran the sleep",
        evidence=delay.evidence(),
        parameter=slot.name,
        confidence=Confidence.confirmed,
    )


def _prints(exchange: Exchange, text: str) -> bool:
    resp = exchange.response
    return resp is not None and text in resp.text
