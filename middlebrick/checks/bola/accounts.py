"""Another user's password changed: an account write that ignores whose account it is (active).

Works only on two disposable users the scan registers itself (``_disposable``), never on its
given identities or on accounts that existed before the scan; the journal deletes both.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from urllib.parse import quote

from middlebrick.checks._disposable import (
    Account,
    Flow,
    flow,
    log_in,
    login_request,
    path_value,
    register,
    why_not,
)
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.accounts import password_field
from middlebrick.http.wording import words
from middlebrick.spec.model import Operation
from middlebrick.spec.values import value_for_schema

_FOUND = "bola.other-user-password-changed"
_WRITES = ("PUT", "PATCH", "POST")
_SECRETS = {"password", "passwd", "newpassword", "passwordconfirm", "confirmpassword"}


@check(category="bola", emits={_FOUND}, mode="active", max_requests=29)
async def other_users_password(ctx: CheckContext) -> AsyncIterator[Finding]:
    """A password change of one user's account that another user may send (active).

    Needs a registration and a login (as the registration check), and a password change of one
    account: a PUT, PATCH or POST whose path names the account (``/users/{username}/password``)
    and ends in ``password``, with a password field. It registers two disposable users, D1 and
    D2, logs both in, and sends, as D1, the change of D2's password to a new random one (any
    current-password field gets D1's own: the caller knows no other). Then it logs D2 in with
    the new password: about eight requests.

    Confirmed when D2's login with the new password succeeds: D1 took over D2's account. Both
    users are the scan's own and deleted after the check; when registration cannot be undone and
    ``--include`` does not name it, the report says this was not tested, and why.
    """
    found = flow(ctx)
    change = next((op for op in ctx.surface.operations if _changes_password(op)), None)
    if found is None or change is None:
        return
    reason = await why_not(ctx, found)
    if reason is not None:
        ctx.note(f"password change of another user not tested: {reason}")
        return
    first = await _user(ctx, found)
    second = await _user(ctx, found)
    if first is None or second is None:
        return
    param = change.path.split("{", 1)[1].split("}", 1)[0]
    value = path_value(second, param)
    if value is None:
        return
    url = ctx.url(change.path.replace("{" + param + "}", quote(value, safe="")))
    if not ctx.may_send(change.method, url):
        return
    new = f"Mb-{secrets.token_urlsafe(15)}7b!"
    schema = change.request_body.schema if change.request_body else {}
    body = value_for_schema(schema)
    body = dict(body) if isinstance(body, dict) else {}
    for key in body:
        plain = "".join(words(key))
        if plain in _SECRETS:
            body[key] = new
        elif "password" in plain:  # current / old password: the caller knows only its own
            body[key] = first.password
    sent = await ctx.send(first.request(change.method, url, body))
    if not sent.ok:
        return
    again = await ctx.send(login_request(ctx, found, second.username, new))
    if not again.ok:
        return
    second.password = new
    if not await log_in(ctx, found, second):  # its new token, to delete it with
        return
    yield ctx.finding(
        _FOUND,
        change,
        detail=f"as the disposable user {first.username}, `{change.method} "
        f"{change.path}` for the disposable user {second.username} answered "
        f"{sent.response.status if sent.response else '?'}, and {second.username} then logged "
        "in with the new password: one user changed another's password; both users were "
        "registered by the scan and deleted after the check",
        evidence=[
            (f"{first.username} changes {second.username}'s password", sent),
            (f"{second.username} logs in with the new password", again),
        ],
        confidence=Confidence.confirmed,
    )


async def _user(ctx: CheckContext, found: Flow) -> Account | None:
    account = await register(ctx, found)
    if account is None or not await log_in(ctx, found, account):
        return None
    return account


def _changes_password(op: Operation) -> bool:
    """A write of one account's password: ``PUT /users/{username}/password``."""
    literal = [s for s in op.path.rstrip("/").split("/") if s]
    if op.method not in _WRITES or len(literal) < 2 or "{" not in op.path:
        return False
    last = words(literal[-1])
    return "{" not in literal[-1] and "password" in last and password_field(op) is not None
