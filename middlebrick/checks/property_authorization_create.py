"""Mass assignment on creation: privileged properties a POST takes from the body (active).

Works only on objects the scan creates itself (``_created``): a control object from the request
schema, and one more with the privileged properties raised; the journal deletes both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from middlebrick.checks._created import create, resources
from middlebrick.checks._privilege import escalation
from middlebrick.checks._properties import shown
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding

_CONFIRMED = "property_authorization.mass-assignment-confirmed"


@check(category="property_authorization", emits={_CONFIRMED}, mode="active", per_operation=4)
async def mass_assignment_on_create(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Privileged properties a creating ``POST`` accepts from the body, read back (active).

    For each collection whose ``POST`` takes a JSON body and whose objects have a documented
    ``GET`` and ``DELETE`` by id, it creates a control object as the scan's identity from the
    request schema and reads it. When the object shows a property it can raise (a false flag
    such as ``is_admin`` set to true, a role that is not an administrator's set to
    ``"admin"``; at most two; owner and tenant fields never), it creates a second object with
    the same body plus those values and reads it: four requests per collection. Both objects
    are new, the scan's own (never one of its identities' accounts), and the journal deletes
    them after the check.

    Confirmed when the second object reads back a written value that the control object,
    created without it, does not have: the server took the privilege from the body.
    """
    primary = ctx.identities.primary
    if primary is None:
        return
    async for resource in ctx.each(resources(ctx)):
        control = await create(ctx, resource)
        if control is None:
            continue
        wanted = escalation(control.record)
        if not wanted:
            continue
        raised = await create(ctx, resource, extra=wanted)
        if raised is None:
            continue
        stuck = [
            key
            for key, value in wanted.items()
            if raised.record.get(key) == value and control.record.get(key) != value
        ]
        if not stuck:
            continue
        written = ", ".join(f"{k}={shown(v)}" for k, v in wanted.items())
        was = ", ".join(f"{k}={shown(control.record.get(k))}" for k in stuck)
        yield ctx.finding(
            _CONFIRMED,
            resource.create,
            detail=f"as {primary.name}, `{resource.create.key}` with {written} added to the "
            f"schema's body created an object that reads back {', '.join(f'`{k}`' for k in stuck)} "
            f"as written, while the control object, created from the schema's values alone, has "
            f"{was}; both were "
            "objects the scan created, deleted after the check",
            evidence=[
                ("control: created", control.made),
                ("control: read", control.mine),
                ("created with the privileged fields", raised.made),
                ("read back", raised.mine),
            ],
            confidence=Confidence.confirmed,
        )
