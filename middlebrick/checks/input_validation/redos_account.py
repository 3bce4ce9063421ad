"""ReDoS on the caller's own account: an e-mail or name update timed as a disposable user
(active)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from middlebrick.checks._disposable import (
    Account,
    Flow,
    flow,
    log_in,
    path_value,
    register,
    why_not,
)
from middlebrick.checks._probe import Prober, body_slots
from middlebrick.checks._timing import SLOW_TARGET_S, seconds
from middlebrick.checks.context import CheckContext
from middlebrick.checks.input_validation.redos import PER_PARAMETER, REDOS, time_growth, validated
from middlebrick.checks.registry import check
from middlebrick.findings import Finding
from middlebrick.http.accounts import account_path
from middlebrick.http.wording import words
from middlebrick.spec.model import Operation
from middlebrick.spec.values import value_for_schema

_UPDATES = 2  # account updates timed in one scan
_FIELDS = {"email", "mail", "emailaddress", "username", "name", "displayname", "login"}


@check(
    category="input_validation",
    emits={REDOS},
    mode="active",
    max_requests=13 + _UPDATES * (PER_PARAMETER + 1),
)
async def redos_own_account(ctx: CheckContext) -> AsyncIterator[Finding]:
    """ReDoS in the update of the caller's own e-mail or name, timed as a disposable user.

    Needs a registration and a login (as the registration checks) and an update of one account
    (``PUT``/``PATCH`` of ``/users/{username}/email``, or of ``/users/{username}`` itself) whose
    JSON body has an e-mail or name field. It registers one disposable user, logs it in, sends
    the update of its own account with its own e-mail or name (the baseline), then times the
    field exactly as ``input_validation.redos`` does: ``a`` × 16 to 40 then ``!``, stopping as
    soon as an answer is 0.5 s slower than the baseline with super-linear growth (2 s at most),
    repeated, and a control of the same length that cannot backtrack. Up to two updates.

    Only the disposable user's own record is written; the journal deletes the user after the
    check, so no account that existed before the scan is touched.
    """
    found = flow(ctx)
    updates = [op for op in ctx.surface.operations if _updates_account(ctx, op)][:_UPDATES]
    if found is None or not updates:
        return
    reason = await why_not(ctx, found)
    if reason is not None:
        ctx.note(f"ReDoS in account updates not tested: {reason}")
        return
    account = await _user(ctx, found)
    if account is None:
        return
    prober = Prober(ctx, _UPDATES * PER_PARAMETER)
    for update in updates:
        param = update.path.split("{", 1)[1].split("}", 1)[0]
        value = path_value(account, param)
        if value is None:
            continue
        url = ctx.url(update.path.replace("{" + param + "}", quote(value, safe="")))
        if not ctx.may_send(update.method, url):
            continue
        schema = update.request_body.schema if update.request_body else {}
        document = value_for_schema(schema)
        if not isinstance(document, dict):
            continue
        for key in document:
            plain = "".join(words(key))
            if plain in _FIELDS:
                document[key] = account.email if "mail" in plain else account.username
        baseline = await ctx.send(account.request(update.method, url, document))
        took = seconds(baseline)
        if not baseline.ok or took is None or took > SLOW_TARGET_S:
            continue
        slots = validated(body_slots(update, baseline, document))
        if slots:
            finding = await time_growth(prober, slots[0])
            if finding is not None:
                yield finding


async def _user(ctx: CheckContext, found: Flow) -> Account | None:
    account = await register(ctx, found)
    if account is None or not await log_in(ctx, found, account):
        return None
    return account


def _updates_account(ctx: CheckContext, op: Operation) -> bool:
    """A ``PUT``/``PATCH`` of one account (or of one of its fields) with an e-mail or name."""
    if op.method not in ("PUT", "PATCH") or op.path.count("{") != 1 or op.request_body is None:
        return False
    properties = op.request_body.schema.get("properties")
    if not isinstance(properties, dict) or not {"".join(words(k)) for k in properties} & _FIELDS:
        return False
    return account_path(op.path) is not None  # ``/users/{name}/email``: one account's
