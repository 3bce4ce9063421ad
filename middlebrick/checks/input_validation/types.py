"""Malformed input: a value of the wrong type or form that crashes the handler, not a 400."""

from __future__ import annotations

import json
import re
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
from middlebrick.checks._probe import BREAKER, Slot, numeric_slots, slots
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Finding
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation

_TYPE = "input_validation.type-confusion"

PER_OPERATION = 5
"""Probes per operation: up to two numeric parameters, one JSON-valued one and two filters."""

FILTERS = 2
"""Filter parameters per operation: a regex lookup, a date, a ``filter[...]`` expression."""

CONTROLS = 30
"""Control requests for the whole scan, sent only after a probe failed."""

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_OBJECT = {"mbzq": 1}
# Django / django-filter lookups and names that take a regular expression (`title__regex`,
# `name__iregex`, `pattern`), JSON:API and other bracketed filter expressions (`filter[status]`,
# `filter[created][gt]`), and date or date-time values (by format, or an ISO date in the value).
_REGEX_NAME = re.compile(r"(?i)(?:__i?regex|^i?regex|^pattern)$")
_FILTER_NAME = re.compile(r"^(?:filter|where|q)\[[^\]]{1,60}\](?:\[[^\]]{1,20}\])?$")
_DATE_FORMATS = frozenset({"date", "date-time"})
_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_BAD_PATTERN, _GOOD_PATTERN = "mbzq(", "mbzq"
_BAD_DATE, _GOOD_DATE = "2024-01-01T00:00:00+99:00", "2024-01-01T00:00:00+00:00"


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
    ``limit``, ``page``, ``offset``; ids and foreign keys among them; a parameter the baseline
    left out is added) are re-sent as ``abc``, one JSON-valued parameter is re-sent with its
    first string replaced by an object (``{"mbzq": 1}``), and up to two filter parameters get
    a malformed value: a regular-expression lookup (``title__regex``, ``name__iregex``,
    ``pattern``) the unbalanced ``mbzq(`` (control ``mbzq``), a date or date-time (by format,
    or an ISO date as its value) an impossible offset ``2024-01-01T00:00:00+99:00`` (control
    ``+00:00``), a bracketed filter expression (``filter[status]``) the breaker ``'")(``
    (control ``mbzq``). ``abc`` on a numeric parameter is the same request
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
            control = await ctx.send(control_request.sent_fresh())
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
    return found + _malformed_filters(operation, exchange)[:FILTERS]


def _malformed_filters(operation: Operation, exchange: Exchange) -> list[tuple[Slot, str, str]]:
    """(slot, malformed value, well-formed control) for regex, date and filter parameters."""
    found: list[tuple[Slot, str, str]] = []
    for slot in slots(operation, exchange):
        name, schema = slot.name, slot.parameter.schema
        if slot.where != "query" or schema.get("type") not in (None, "string"):
            continue
        if _REGEX_NAME.search(name):
            found.append((slot, _BAD_PATTERN, _GOOD_PATTERN))
        elif schema.get("format") in _DATE_FORMATS or _ISO_DATE.fullmatch(slot.value):
            found.append((slot, _BAD_DATE, _GOOD_DATE))
        elif _FILTER_NAME.match(name):
            found.append((slot, BREAKER, "mbzq"))
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
