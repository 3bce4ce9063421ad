"""Authentication: a password-reset request that tells existing users apart.

A reset request mails the user, so the safety policy never calls it (``reset`` is a state
change, ``forgot-password`` an unrecognised write) unless ``--include`` names the operation;
without that, the report lists it among the operations not tested. Included, the scan's own
user gets one reset mail, and made-up users at ``example.invalid`` (a name that never
resolves, RFC 2606) the others.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from middlebrick.checks._bodies import json_body
from middlebrick.checks.authentication import _auth_answers as replies
from middlebrick.checks.authentication.login import known_username, shape
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.wording import words
from middlebrick.spec.model import Operation

_ENUM = "authentication.user-enumeration"

# Path words of the step that asks for a reset: Django's `password_reset`, dj-rest-auth's
# `password/reset`, Laravel's `forgot-password`, Rails' `password_resets`, `recover`.
_RESET_WORDS = frozenset({"reset", "resets", "forgot", "forgotten", "recover", "recovery"})
_USER_FIELDS = ("email", "username", "login", "user", "identifier")
# A body with one of these is the second step (a new password and the mailed token).
_SECOND_STEP = ("password", "token", "uid", "code", "otp")


@dataclass(frozen=True)
class _Reset:
    operation: Operation
    url: str
    body: dict[str, Any]
    user_field: str

    def request(self, user: str) -> Request:
        """An anonymous reset request for ``user``."""
        body = {**self.body, self.user_field: user}
        headers = Headers().set("Content-Type", "application/json")
        request = Request("POST", self.url, headers, json.dumps(body).encode())
        return replace(request.without_credentials(), fresh=True)

    def unknown_user(self) -> str:
        name = f"mb{secrets.token_hex(6)}"
        return f"{name}@example.invalid" if "email" in replies.plain(self.user_field) else name


@check(category="authentication", emits={_ENUM}, mode="active", max_requests=3)
async def reset_enumeration(ctx: CheckContext) -> AsyncIterator[Finding]:
    """The password-reset request: whether it tells existing users apart (``--include`` only).

    Finds the request: a POST whose path names a reset (``reset``, ``forgot``, ``recover`` …)
    and whose JSON body has an ``email`` or ``username`` field and no new password or token
    (the second step), and that the safety policy lets the scan send: only when ``--include``
    names it, as it mails the user. Sends a made-up user, the scan's own (its e-mail or
    username, as the login check finds it: one reset mail), and another made-up user (3
    requests). Reported when the two made-up users got the same answer and the scan's own a
    different one, in status (confirmed) or in body once the submitted values are blanked
    (firm). Not reported when an answer is refused by a limiter (429, 423, Retry-After) or is
    a 5xx.
    """
    reset = _find_reset(ctx)
    if reset is None:
        return
    known = known_username(ctx, reset.user_field)
    if known is None:
        return
    first, second = reset.unknown_user(), reset.unknown_user()
    sent: list[tuple[str, Exchange]] = []
    for user in (first, known, second):
        exchange = await ctx.send(reset.request(user))
        code = replies.status(exchange)
        if code is None or code >= 500 or replies.limited(exchange):
            return
        sent.append((user, exchange))
    (_, a), (_, mine), (_, b) = sent
    if shape(a, (first,)) != shape(b, (second,)) or shape(mine, (known,)) == shape(a, (first,)):
        return
    same_status = replies.status(mine) == replies.status(a)
    differs = "a different body" if same_status else f"{replies.status(a)}"
    yield ctx.finding(
        _ENUM,
        reset.operation,
        parameter=reset.user_field,
        detail=f"`{reset.operation.key}` answers {replies.status(mine)} for an existing user "
        f"(the scan's own) and {differs} for two made-up ones: anyone can test which "
        "e-mail addresses or usernames have an account",
        evidence=[("existing user", mine), ("unknown user", a)],
        confidence=Confidence.firm if same_status else Confidence.confirmed,
    )


def _find_reset(ctx: CheckContext) -> _Reset | None:
    urls = {op.path: ex.request.url for op, ex in ctx.baseline.items()}
    for op in ctx.surface.operations:
        if op.method != "POST" or "{" in op.path:
            continue
        named = {w for segment in op.path.split("/") for w in words(segment)}
        if not named & _RESET_WORDS or not ("password" in named or "forgot" in named):
            continue
        body = json_body(op)
        if body is None or any(any(w in replies.plain(k) for w in _SECOND_STEP) for k in body):
            continue
        user = next((k for k in body if replies.plain(k) in _USER_FIELDS), None)
        url = (urls.get(op.path) or ctx.url(op.path)).split("?", 1)[0]
        if user is not None and ctx.may_send("POST", url):
            return _Reset(op, url, body, user)
    return None
