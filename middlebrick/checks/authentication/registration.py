"""Authentication: the registration operation tells existing users apart — without registering.

Active mode only: a registration is a POST. No account is ever created here: every
registration the check sends leaves the password out, so it cannot succeed, and it is sent for
an unknown name only once the existing name's answer showed that the API looks the name up
before it validates the rest.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from middlebrick.checks._bodies import json_body
from middlebrick.checks.authentication import _auth_answers as replies
from middlebrick.checks.authentication.login import known_username
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.wording import names_registration, words
from middlebrick.spec.model import Operation

_ENUM = "authentication.user-enumeration"

# The user fields of registration bodies (the login check's: Django's `username`, Devise's and
# Laravel's `email`, `login`, `identifier`).
_USER_FIELDS = ("username", "user", "login", "email", "identifier", "userid")
# Secret fields left out of every registration sent: `password`, Django's `password1`/
# `password2`, dj-rest-auth's and Laravel's `password_confirmation`, `passwd`, `pin`.
_SECRET_WORDS = ("password", "passwd", "passphrase", "pin", "secret")
# Words of the answers that say a name is taken: Django's "A user with that username already
# exists.", DRF's UniqueValidator "This field must be unique.", Rails' and Laravel's "has already
# been taken", "is already registered", "duplicate", "conflict" (HTTP 409's reason phrase).
_TAKEN_WORDS = frozenset(
    {"exists", "taken", "already", "duplicate", "unique", "registered", "conflict"}
)


@dataclass(frozen=True)
class _Registration:
    operation: Operation
    url: str
    body: dict[str, Any]
    user_field: str
    filler: str  # the made-up address of the body's other e-mail fields

    def request(self, user: str) -> Request:
        """An anonymous registration of ``user`` without its password: it cannot succeed."""
        body = {
            k: v
            for k, v in self.body.items()
            if not any(w in replies.plain(k) for w in _SECRET_WORDS)
        }
        body[self.user_field] = user
        for key in body:
            if key != self.user_field and "email" in replies.plain(key):
                body[key] = self.filler  # never a real inbox
        headers = Headers().set("Content-Type", "application/json")
        request = Request("POST", self.url, headers, json.dumps(body).encode())
        return replace(request.without_credentials(), incomplete=True, fresh=True)

    def unknown_user(self) -> str:
        """A name no account has, in the user field's form."""
        name = f"mb{secrets.token_hex(6)}"
        return f"{name}@example.invalid" if "email" in replies.plain(self.user_field) else name


@check(category="authentication", emits={_ENUM}, mode="active", max_requests=3)
async def registration_enumeration(ctx: CheckContext) -> AsyncIterator[Finding]:
    """The registration: whether it tells existing users apart, without registering anyone.

    Finds the registration: a POST whose path ends in ``register``, ``registration``,
    ``signup`` or ``sign_up`` and whose JSON body has a user field (``username``, ``email``,
    ``login`` …; the first whose value the scan knows for its own user, a username before an
    e-mail) and a password field; the first one. Every registration sent leaves out the
    password fields (``password``, ``password1``/``password2``, ``password_confirmation`` …),
    so none can create an account, has no credentials, and carries made-up e-mail addresses
    (``@example.invalid``) in any other e-mail field.

    Sends the scan's own username or e-mail (as the login check finds it) first. Only when that
    answer is a 4xx that says the name is taken (409, or ``exists``, ``taken``, ``already``,
    ``unique``, ``duplicate`` …) does it send a made-up name, then the scan's own again (3
    requests). Reported when the made-up name's answer is a 4xx that does not say so (the
    validation error of the missing password) and the scan's own name got the same answer
    twice: confirmed when the statuses differ (409 against 400), firm when only the bodies do.
    Quiet when both answers are the same validation error, which is what a registration that
    validates the whole body before it looks the name up answers.
    """
    found = _find_registration(ctx)
    if found is None:
        return
    registration, known = found
    mine = await ctx.send(registration.request(known))
    if not _taken(mine):
        return
    unknown = registration.unknown_user()
    theirs = await ctx.send(registration.request(unknown))
    code = replies.status(theirs)
    if code is None or not 400 <= code < 500 or code == 429 or _taken(theirs):
        return
    again = await ctx.send(registration.request(known))
    if _shape(again, known) != _shape(mine, known):
        return
    same_status = replies.status(mine) == code
    differs = "a different message" if same_status else f"{code} instead of {replies.status(mine)}"
    yield ctx.finding(
        _ENUM,
        registration.operation,
        parameter=registration.user_field,
        detail=f"`{registration.operation.key}` without a password answers "
        f"{replies.status(mine)} saying the scan's own {registration.user_field} is taken (twice) "
        f"and {differs} for a made-up one: anyone can test which usernames or e-mail addresses "
        "have an account (no account was created: the password was left out)",
        evidence=[("existing user", mine), ("unknown user", theirs)],
        confidence=Confidence.firm if same_status else Confidence.confirmed,
    )


def _find_registration(ctx: CheckContext) -> tuple[_Registration, str] | None:
    """The first registration, with the user field whose value the scan knows for itself (a
    ``username`` before an ``email``), and that value."""
    urls = {op.path: ex.request.url for op, ex in ctx.baseline.items()}
    for op in ctx.surface.operations:
        if op.method != "POST" or "{" in op.path or not names_registration(op.path):
            continue
        body = json_body(op)
        if body is None or not any(any(w in replies.plain(k) for w in _SECRET_WORDS) for k in body):
            continue  # a registration without a password mails a link: never sent
        fields = sorted(
            (k for k in body if replies.plain(k) in _USER_FIELDS),
            key=lambda k: _USER_FIELDS.index(replies.plain(k)),
        )
        for field in fields:
            known = known_username(ctx, field)
            if known is not None:
                url = (urls.get(op.path) or ctx.url(op.path)).split("?", 1)[0]
                filler = f"mb-{secrets.token_hex(6)}@example.invalid"
                return _Registration(op, url, body, field, filler), known
    return None


def _taken(exchange: Exchange) -> bool:
    """A 4xx answer that says the name is taken (409, or in words)."""
    code = replies.status(exchange)
    if code is None or not 400 <= code < 500 or code in (401, 403, 404, 405, 429):
        return False
    if code == 409:
        return True
    text = exchange.response.text[:4096] if exchange.response is not None else ""
    return bool(set(words(text)) & _TAKEN_WORDS)


def _shape(exchange: Exchange, user: str) -> tuple[int | None, str]:
    text = exchange.response.text[:4096] if exchange.response is not None else ""
    return replies.status(exchange), text.replace(user, "<submitted>")
