"""Type confusion: a value of the wrong type that crashes the handler instead of a 400."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from middlebrick.checks._injection import (
    NOT_A_NUMBER,
    Trio,
    answered,
    outcome,
    server_error,
    signature_hits,
)
from middlebrick.checks._probe import Slot, numeric_slots, slots
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Finding
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation

_TYPE = "input_validation.type-confusion"

PER_OPERATION = 3
"""Probes per operation: up to two numeric parameters and one JSON-valued one."""

CONTROLS = 30
"""Control requests for the whole scan, sent only after a probe failed."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OBJECT = {"mbzq": 1}


@check(
    category="input_validation",
    emits={_TYPE},
    per_operation=PER_OPERATION,
    max_requests=CONTROLS,
)
async def type_confusion(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Values of the wrong type that end in a server error or a conversion error.

    For every readable operation whose baseline answered below 500: up to two numeric path or
    query parameters (by schema type, a numeric baseline value, or a page-size name such as
    ``limit``, ``page``, ``offset``; a parameter the baseline left out is added) are re-sent as
    ``abc``, and one JSON-valued parameter is re-sent with its first string replaced by an
    object (``{"mbzq": 1}``). ``abc`` on a numeric parameter is the same request
    ``debug_mode`` uses to provoke an error, so the client's cache answers it once.

    When the probe answers 5xx, or shows a conversion or serialisation error (``invalid
    literal for int()``, botocore's ``Parameter validation failed: Invalid type``, ``is not
    JSON serializable``, ``NumberFormatException`` …) that the baseline does not, a control of
    the right type is sent (the number plus one, or another string in the JSON): the finding
    needs the control to answer below 500 without that error. Evidence: the baseline, the
    probe and the control. One finding per operation and parameter, confidence firm.
    """
    controls = CONTROLS
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        if operation.method not in _SAFE_METHODS or not answered(exchange):
            continue
        for slot, probe_value, control_value in _candidates(operation, exchange):
            request = slot.set(probe_value)
            if request is None:
                continue
            probe = await ctx.send(request)
            if not _failed(probe, exchange) or controls <= 0:
                continue
            control_request = slot.set(control_value)
            if control_request is None:
                continue
            controls -= 1
            control = await ctx.send(control_request)
            trio = Trio(exchange, probe, control)
            if not answered(control) or _conversion_error(control):
                continue
            yield ctx.finding(
                _TYPE,
                operation,
                detail=f"{slot.name}={probe_value!r} answered {outcome(probe, [_TYPE])} while "
                f"{slot.name}={control_value!r} (the right type) answered {outcome(control)} "
                f"and the baseline {outcome(exchange)}: the value's type is never checked",
                evidence=trio.evidence(),
                parameter=slot.name,
            )


def _candidates(operation: Operation, exchange: Exchange) -> list[tuple[Slot, str, str]]:
    """(slot, probe value, control value) for each parameter worth a probe."""
    found = [
        (slot, NOT_A_NUMBER, _another_number(slot.value))
        for slot in numeric_slots(operation, exchange)
    ]
    for slot in slots(operation, exchange, include_missing=False):
        document = _json(slot.value)
        if document is None:
            continue
        probe = _with_first_string(document, _OBJECT)
        control = _with_first_string(document, "mbzq")
        if probe is not None and control is not None:
            found.append((slot, _dump(probe), _dump(control)))
            break
    return found


def _failed(probe: Exchange, baseline: Exchange) -> bool:
    if server_error(probe):
        return True
    return _conversion_error(probe) and not _conversion_error(baseline)


def _conversion_error(exchange: Exchange) -> bool:
    return bool(signature_hits(exchange, [_TYPE]))


def _another_number(value: str) -> str:
    try:
        return str(int(value) + 1)
    except ValueError:
        pass
    try:
        return str(float(value) + 1)
    except ValueError:
        return "2"


def _json(value: str) -> Any:
    if value.lstrip()[:1] not in ("{", "["):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _with_first_string(document: Any, replacement: Any) -> Any:
    """A copy of ``document`` with its first string value replaced; ``None`` if it has none."""
    done = False

    def walk(node: Any) -> Any:
        nonlocal done
        if done:
            return node
        if isinstance(node, str):
            done = True
            return replacement
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        return node

    copy = walk(document)
    return copy if done else None


def _dump(document: Any) -> str:
    return json.dumps(document, separators=(", ", ": "))
