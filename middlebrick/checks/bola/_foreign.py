"""Another identity's object for an operation, found without guessing ids.

Used by the bola checks that need an object the primary identity must not read (to show that
an override or a traversal reaches it): the parent collection's baseline may already list
records naming another identity; else the parent collection is read as another identity and
its records that the primary's baseline does not hold are taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from middlebrick.checks._owners import Owners, parent_of, readable, record_ids, records, row_id
from middlebrick.checks._probe import with_parameter
from middlebrick.checks.context import CheckContext
from middlebrick.http.exchange import Exchange
from middlebrick.identities import Identity
from middlebrick.spec.model import Operation, Parameter


@dataclass(frozen=True)
class Foreign:
    """Another identity's object of an operation: who owns it, its record, its id, a control."""

    owner: Identity
    record: dict[str, Any]
    id: str
    control: Exchange  # the object requested as the primary, plainly: it should be denied


async def foreign_object(
    ctx: CheckContext, op: Operation, baseline: Exchange, owners: Owners
) -> Foreign | None:
    """Another identity's object for ``op`` and the primary's plain request for it.

    At most two requests: the parent collection as another identity (only when the primary's
    own baseline of it names nobody else), and the control.
    """
    found = parent_of(op.path)
    if found is None or not ctx.identities.others:
        return None
    parent, name = found
    listed = ctx.baseline.get(f"GET {parent}")
    if listed is None or not readable(listed) or listed.response is None:
        return None
    named = _named_row(owners, listed.response.json)
    if named is None:
        other = ctx.identities.others[0]
        theirs = await ctx.send(listed.request.as_identity(other.name))
        if not readable(theirs) or theirs.response is None:
            return None
        mine = {v for _, v in record_ids(listed.response.json)}
        rows = [r for r in records(theirs.response.json) if row_id(r, name) not in mine]
        if not rows:
            return None
        named = (other, rows[0])
    owner, record = named
    wanted = row_id(record, name)
    request = with_parameter(baseline.request, op, Parameter(name, "path"), wanted or "")
    if wanted is None or request is None:
        return None
    return Foreign(owner, record, wanted, await ctx.send(request))


def _named_row(owners: Owners, body: Any) -> tuple[Identity, dict[str, Any]] | None:
    primary = owners.primary.name if owners.primary else None
    for record in records(body):
        who = owners.whose(record)
        if who is not None and who.name != primary:
            return who, record
    return None
