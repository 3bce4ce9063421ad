"""Logout that does not revoke: a disposable user's token still works after it logged out
(active)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from middlebrick.checks._disposable import Account, Flow, flow, log_in, register, why_not
from middlebrick.checks._properties import records
from middlebrick.checks._writes import fresh, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange
from middlebrick.http.wording import words
from middlebrick.spec.model import Operation

_FOUND = "authentication.logout-not-revoked"
_LOGOUT = (("logout",), ("log", "out"), ("signout",), ("sign", "out"), ("logoff",), ("log", "off"))


@check(category="authentication", emits={_FOUND}, mode="active", max_requests=19)
async def logout_not_revoked(ctx: CheckContext) -> AsyncIterator[Finding]:
    """A logout after which the same token still reads the caller's own record (active).

    Needs a registration, a login and a ``GET`` of the caller's own record (``/me`` …), as the
    registration checks, and a logout: a ``POST``, ``DELETE`` or ``GET`` without path
    parameters whose last path segment names one (``logout``, ``log out``, ``signout``,
    ``sign out``, ``logoff``; the default routes of Django auth, Devise, Flask-Login,
    dj-rest-auth). It registers one disposable user, logs it in, reads its own record with the
    token, sends the logout with that token (and none of the scan's credentials: the policy
    lets a logout through only so, so the scan's own sessions never end), and reads its record
    again with the same token. Then it logs the user in again, so that the journal can delete
    it with a live token. About nine requests.

    Confirmed when the logout answered 2xx and the token still reads the user's own record
    (the same user) afterwards: a stolen token outlives the logout.
    """
    found = flow(ctx)
    logout = next((op for op in ctx.surface.operations if _logs_out(op)), None)
    if found is None or logout is None or found.me is None:
        return
    reason = await why_not(ctx, found)
    if reason is not None:
        ctx.note(f"logout revocation not tested: {reason}")
        return
    account = await _user(ctx, found)
    if account is None:
        return
    me = ctx.url(found.me.path)
    before = await ctx.send(fresh(account.request("GET", me), 0))
    url = ctx.url(logout.path)
    scope = getattr(ctx.client, "scope", None)
    if scope is not None:
        scope.policy.ends_session(url)
    body: dict[str, str] | None = (
        {} if logout.method != "GET" and logout.request_body is not None else None
    )
    out = await ctx.send(account.request(logout.method, url, body))
    after = await ctx.send(fresh(account.request("GET", me), 1))
    still = out.ok and before.ok and after.ok and _same_user(before, after, account)
    await log_in(ctx, found, account)  # a live token for the journal to delete it with
    if not still:
        return
    yield ctx.finding(
        _FOUND,
        logout,
        detail=f"the disposable user {account.username} logged out with `{logout.key}` "
        f"(answered {out.response.status if out.response else '?'}), and the same token then "
        f"still read its own record with `{found.me.key}`: logging out does not revoke the "
        "token",
        evidence=[
            ("its own record, before", before),
            ("logout", out),
            ("its own record, after the logout, same token", after),
        ],
        confidence=Confidence.confirmed,
    )


async def _user(ctx: CheckContext, found: Flow) -> Account | None:
    account = await register(ctx, found)
    if account is None or not await log_in(ctx, found, account):
        return None
    return account


def _logs_out(op: Operation) -> bool:
    if op.method not in ("POST", "DELETE", "GET") or "{" in op.path:
        return False
    literal = [s for s in op.path.split("/") if s]
    last = words(literal[-1]) if literal else ()
    return any(last[i : i + len(w)] == w for w in _LOGOUT for i in range(len(last)))


def _same_user(before: Exchange, after: Exchange, account: Account) -> bool:
    """The answer after the logout is the one before, and names the user (its own record)."""
    first, second = record_of(before), record_of(after)
    if first is None or second is None or first != second:
        return False
    names = {account.username, account.email}
    return any(names & {v for v in r.values() if isinstance(v, str)} for r in records(second))
