"""Active mode: the injection and type probes on JSON request bodies of writing operations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from middlebrick.checks._bodies import body_baselines, probed_bodies
from middlebrick.checks._injection import Trio, answered, outcome, server_error, signature_hits
from middlebrick.checks._probe import Prober, Slot, body_slots
from middlebrick.checks.context import CheckContext
from middlebrick.checks.input_validation._dynamodb_probes import (
    EXPRESSION,
    PARTIQL,
    Verdict,
    breaker_families,
    follow_up,
    table_candidates,
)
from middlebrick.checks.registry import check
from middlebrick.findings import Finding
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation

_TYPE = "input_validation.type-confusion"

FIELDS = 2
"""String fields per body that get the breaker, besides one field for the type probe."""

PER_OPERATION = 1 + FIELDS + 1
"""The baseline write, the breakers, the type probe."""

FOLLOW_UPS = 40
"""Follow-up and control requests for the whole scan."""

_OBJECT = {"mbzq": 1}

UPDATES = ("PUT", "PATCH")
"""Writes to an object the journal reads first and restores after the check."""


@check(
    category="input_validation",
    emits={EXPRESSION, PARTIQL, _TYPE},
    mode="active",
    per_operation=PER_OPERATION,
    max_requests=FOLLOW_UPS,
)
async def body_injection(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Active mode: expression, PartiQL and type probes in JSON bodies of PUT, PATCH and POST.

    For each PUT and PATCH with a JSON object body (the write journal reads the object first
    and restores it), and each POST that names a read or creates in a collection whose objects
    the API documents a ``DELETE`` for (each object a probe creates is deleted at once; a POST
    whose result the scan could not remove, such as a registration, is never sent), the
    documented example (or a value
    built from the schema) is sent once as the baseline, to a URL whose path parameters come
    from the GET baseline of the same path or from identifiers the baseline harvested. If it
    answers below 500: up to two string fields get the breaker ``'")(`` and, when DynamoDB's
    expression or PartiQL messages or a 5xx follow, the same differential follow-ups as
    ``dynamodb_injection`` (a syntax break against a well-formed control; a tautology only
    where the answer lists records); and one field gets a value of the wrong type (an object
    for a string, ``abc`` for a number) against a control of the right type, as in
    ``type_confusion``. Findings name the field as ``body.<field>``.

    These requests write: use active mode on targets whose owner asked for it.
    """
    pool = Prober(ctx, FOLLOW_UPS)
    candidates = table_candidates(ctx.surface.operations)
    async for operation, baseline, document in body_baselines(ctx, UPDATES):
        async for finding in _probe_body(ctx, pool, candidates, operation, baseline, document):
            yield finding
    everything = len(ctx.surface.operations)
    async for operation, baseline, document in probed_bodies(ctx, [pool], everything):
        async for finding in _probe_body(ctx, pool, candidates, operation, baseline, document):
            yield finding


async def _probe_body(
    ctx: CheckContext,
    pool: Prober,
    candidates: list[str],
    operation: Operation,
    baseline: Exchange,
    document: dict[str, Any],
) -> AsyncIterator[Finding]:
    """The breakers and the type probe in one body whose baseline answered below 500."""
    if not answered(baseline):
        return
    fields = body_slots(operation, baseline, document)
    for field in [f for f in fields if isinstance(document[f.parameter.name], str)][:FIELDS]:
        families = [f for f in await breaker_families(pool, field) if f != "table"]
        verdict = await follow_up(pool, field, families, candidates)
        if verdict is not None:
            yield _finding(ctx, field, verdict)
    typed = next((f for f in fields if _scalar(document[f.parameter.name])), None)
    if typed is not None:
        finding = await _type_probe(ctx, pool, typed)
        if finding is not None:
            yield finding


async def _type_probe(ctx: CheckContext, pool: Prober, field: Slot) -> Finding | None:
    value = (field.document or {})[field.parameter.name]
    wrong: Any = _OBJECT if isinstance(value, str) else "abc"
    right: Any = "mbzq" if isinstance(value, str) else value + 1
    wrong_request, right_request = field.set_json(wrong), field.set_json(right)
    if wrong_request is None or right_request is None:
        return None
    probe = await pool.send(wrong_request, charge=False)
    failed = server_error(probe) or bool(signature_hits(probe, [_TYPE]))
    if not failed or server_error(field.baseline) or not pool.has(1):
        return None
    control = await pool.send(right_request.sent_fresh())
    if not answered(control) or signature_hits(control, [_TYPE]):
        return None
    trio = Trio(field.baseline, probe, control)
    return ctx.finding(
        _TYPE,
        field.operation,
        detail=f"{field.name}={json.dumps(wrong)} answered {outcome(probe, [_TYPE])} while "
        f"{field.name}={json.dumps(right)} (the right type) answered {outcome(control)} and the "
        f"baseline body {outcome(field.baseline)}: the field's type is never checked",
        evidence=trio.evidence(),
        parameter=field.name,
    )


def _finding(ctx: CheckContext, field: Slot, verdict: Verdict) -> Finding:
    return ctx.finding(
        verdict.type_id,
        field.operation,
        detail=verdict.detail,
        evidence=verdict.trio.evidence(),
        parameter=field.name,
        confidence=verdict.confidence,
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)
