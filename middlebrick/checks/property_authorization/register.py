"""Mass assignment on registration: privileged fields a sign-up takes from the body (active).

Works only on disposable users the scan registers itself (``_disposable``), never on its given
identities; the journal deletes them after the check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from middlebrick.checks._disposable import Account, Flow, flow, log_in, register, why_not
from middlebrick.checks._privilege import escalation
from middlebrick.checks._properties import records, shown
from middlebrick.checks._writes import fresh, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange

_FOUND = "property_authorization.registration-mass-assignment"


@check(category="property_authorization", emits={_FOUND}, mode="active", max_requests=25)
async def registration_mass_assignment(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Privileged fields a registration accepts from the body, read back (active).

    Needs a registration (a POST whose path, operationId or summary names one — register,
    signup, enroll … — or that posts to ``/users``, with a password field) and a login. It
    registers a control user from the request schema with a random name, an ``example.com``
    e-mail and a random strong password, logs it in and reads its own record (``GET /me`` …
    with its token, else the registration's answer). When the record shows a field it can
    raise (a false flag such as ``is_admin`` or ``is_staff`` set to true, a role that is not an
    administrator's set to ``"admin"``; at most two), it registers a second user with the same
    body plus those values, logs it in and reads it back: about eight requests.

    Registration runs only when the API documents a ``DELETE`` of an account (the journal
    deletes both users with it, as themselves, else as the scan's identity) or when
    ``--include`` names the registration; otherwise the report says it was not tested, and why.

    Confirmed when the second user reads back a written value that the control user does not
    have: the server took the privilege from the sign-up body.
    """
    found = flow(ctx)
    if found is None:
        return
    reason = await why_not(ctx, found)
    if reason is not None:
        ctx.note(f"mass assignment on registration not tested: {reason}")
        return
    control = await _registered(ctx, found)
    if control is None:
        return
    account, read = control
    was = _own(read, account)
    wanted = escalation(was)
    if not wanted:
        return
    raised = await _registered(ctx, found, wanted)
    if raised is None:
        return
    record = _own(raised[1], raised[0])
    stuck = [k for k, v in wanted.items() if record.get(k) == v and was.get(k) != v]
    if not stuck:
        return
    written = ", ".join(f"{k}={shown(v)}" for k, v in wanted.items())
    before = ", ".join(f"{k}={shown(was.get(k))}" for k in stuck)
    yield ctx.finding(
        _FOUND,
        found.register,
        detail=f"`{found.register.key}` with {written} added to the sign-up body registered a "
        f"user whose own record reads back {', '.join(f'`{k}`' for k in stuck)} as written, "
        f"while the control user, registered without them, has {before}; both were disposable "
        "users the scan registered, deleted after the check",
        evidence=[
            ("control: registered", account.made),
            ("control: its own record", read),
            ("registered with the privileged fields", raised[0].made),
            ("its own record", raised[1]),
        ],
        confidence=Confidence.confirmed,
    )


async def _registered(
    ctx: CheckContext, found: Flow, extra: dict[str, Any] | None = None
) -> tuple[Account, Exchange] | None:
    """A disposable user registered, logged in, and its own record as it reads."""
    account = await register(ctx, found, extra)
    if account is None or not await log_in(ctx, found, account):
        return None
    if found.me is not None:
        read = await ctx.send(fresh(account.request("GET", ctx.url(found.me.path)), 0))
        if record_of(read) is not None:
            return account, read
    return account, account.made


def _own(exchange: Exchange, account: Account) -> Mapping[str, Any]:
    """The user's own record in an answer: the object (inside an envelope too, ``{"data":
    {…}}``) that names its username or e-mail, else the first object of the answer."""
    body = exchange.response.json if exchange.response is not None and exchange.ok else None
    found = records(body)
    for record in found:
        if {account.username, account.email} & {v for v in record.values() if isinstance(v, str)}:
            return record
    return found[0] if found else {}
