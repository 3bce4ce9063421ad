"""Mass assignment on creation: privileged properties a POST takes from the body (active).

Works only on objects the scan creates itself (``_created``): a control object from the request
schema, and one more with the privileged properties raised (in the body, then, if the body's
were not taken, in the query string); the journal deletes them all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from middlebrick.checks._assignable import (
    answer_envelope,
    as_json,
    candidates,
    envelope,
    severity,
    stuck,
)
from middlebrick.checks._created import Created, create, resources
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.spec.model import Operation

_CONFIRMED = "property_authorization.mass-assignment-confirmed"


@check(category="property_authorization", emits={_CONFIRMED}, mode="active", per_operation=8)
async def mass_assignment_on_create(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Privileged or server-owned properties a creating ``POST`` accepts, read back (active).

    For each collection whose ``POST`` takes a JSON body and whose objects have a documented
    ``GET`` and ``DELETE`` by id, it creates a control object as the scan's identity from the
    request schema and reads it. When the object shows properties a client must not set (at
    most three, ``_assignable.candidates``): a false flag such as ``is_admin`` set to true, a
    role that is not an administrator's set to ``"admin"``, and properties the server owns that
    the request schema does not list (a false ``verified`` / ``is_featured`` set to true, an
    amount such as ``price_cents`` or ``balance`` set to another number, a status set to another
    value of its documented enum); owner and tenant fields never. It creates a second object
    with the same body plus those values (inside the body's envelope, ``{"offer": {...}}``,
    when the request schema is one) and reads it; when none was taken and the request schema
    has no envelope but the API answers its objects in one (``{"user": {...}}``), one with the
    whole body in that envelope; then one with the same values in the query string, each read:
    at most eight requests per collection. Every
    object is new, the scan's own (never one of its identities' accounts), and the journal
    deletes them after the check.

    Confirmed when an object reads back a written value that the control object, created
    without it, does not have: the server took it from the request. The creation's own answer
    never confirms (a server may echo what it was sent without storing it).
    """
    primary = ctx.identities.primary
    if primary is None:
        return
    async for resource in ctx.each(resources(ctx)):
        control = await create(ctx, resource)
        if control is None:
            continue
        wanted = candidates(control.record, resource.create, resource.read)
        if not wanted:
            continue
        schema = resource.create.request_body.schema if resource.create.request_body else {}
        wrapper = answer_envelope(control.mine) if envelope(schema) is None else None
        for where in ("the body", "the answer's envelope", "the query string"):
            if where == "the answer's envelope" and wrapper is None:
                continue
            if where == "the query string":
                raised = await create(ctx, resource, query=wanted)
            else:
                wrap = wrapper if where == "the answer's envelope" else None
                raised = await create(ctx, resource, extra=wanted, wrap=wrap)
            hit = stuck(wanted, control.record, raised.record) if raised is not None else []
            if raised is not None and hit:
                yield _finding(
                    ctx, resource.create, primary.name, where, wanted, hit, control, raised
                )
                break


def _finding(
    ctx: CheckContext,
    operation: Operation,
    who: str,
    where: str,
    wanted: dict[str, object],
    hit: list[str],
    control: Created,
    raised: Created,
) -> Finding:
    written = ", ".join(f"{k}={as_json(v)}" for k, v in wanted.items())
    was = ", ".join(f"{k}={as_json(control.record.get(k))}" for k in hit)
    key = operation.key
    return ctx.finding(
        _CONFIRMED,
        operation,
        detail=f"as {who}, `{key}` with {written} added to {where} created an object that "
        f"reads back {', '.join(f'`{k}`' for k in hit)} as written, while the control object, "
        f"created from the schema's values alone, has {was}; both were objects the scan "
        "created, deleted after the check",
        evidence=[
            ("control: created", control.made),
            ("control: read", control.mine),
            (f"created with the fields in {where}", raised.made),
            ("read back", raised.mine),
        ],
        confidence=Confidence.confirmed,
        severity=severity(hit, control.record),
    )
