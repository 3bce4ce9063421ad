"""Authentication: the login operation itself — user enumeration and brute-force protection.

Active mode only: a login is a POST. The login operation is a POST whose path names
authentication (``knowledge/safety.yaml``) and whose JSON body has a user field and a password
field. No real account is ever guessed at: the brute-force attempts go to a username the scan
made up, and the scan's own user gets two wrong passwords at most (to compare its answer with
an unknown user's).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, replace
from typing import Any, TypeGuard
from urllib.parse import urlencode

from middlebrick.checks._bodies import json_body
from middlebrick.checks.authentication import _auth_answers as replies
from middlebrick.checks.authentication._jwt import given_tokens
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.wording import authenticates, words
from middlebrick.spec.model import Operation
from middlebrick.spec.values import value_for_schema

_FORM = "application/x-www-form-urlencoded"
_ENUM = "authentication.user-enumeration"
_BRUTE = "authentication.no-brute-force-protection"

# Field names of login bodies: Django's and DRF's `username`/`password`, the OAuth 2.0
# resource-owner password grant (RFC 6749 §4.3.2), Rails Devise's and Laravel's `email`, Spring
# Security's form login (`username`, `password`), and the `login`/`identifier` of other auth kits.
_USER_FIELDS = ("username", "user", "login", "email", "identifier", "userid")
# Path words of a login (as opposed to a registration, which also takes a username and a
# password): Django's and Flask-Login's `login`, `signin`/`sign in`, `logon`, OAuth's `token`,
# session-creating `session(s)`, `authenticate`.
_LOGIN_WORDS = frozenset({"login", "signin", "logon", "token", "session", "sessions"})
_LOGIN_WORDS |= {"authenticate", "auth"}
_REGISTRATION_WORDS = frozenset({"register", "registration", "signup", "join"})
# The caller's own record: GitHub's `GET /user`, Spotify's and Microsoft Graph's `/me`, `/self`,
# `/whoami`, `/profile`, `/account`, `/current`.
_SELF_WORDS = frozenset({"me", "self", "whoami", "profile", "account", "current", "user"})
# JWT claims that hold a username (OpenID Connect Core §5.1 `preferred_username`, `email`).
_NAME_CLAIMS = ("username", "preferred_username", "login", "name")
# RFC 7519 §4.1.2 `sub`, the subject: Flask-JWT-Extended and many PyJWT apps put the username
# there. Only a name-like subject counts: a number or a UUID is an id, and a provider-prefixed
# (`auth0|…`) or URI subject is not what the login's user field takes.
_SUB_CLAIM = "sub"
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
_SECRET_FIELDS = ("password", "passwd", "pass", "passcode", "pin")
_ATTEMPTS = 12  # failed logins of the brute-force probe; an account lockout trips well before
_GUESSES_LEFT = 100  # an announced rate-limit budget this large does not stop guessing


@dataclass(frozen=True)
class Login:
    """A login operation: where to send a username and a password, and in which fields."""

    operation: Operation
    url: str
    body: dict[str, Any]
    user_field: str
    secret_field: str
    form: bool = False  # form-encoded (an OAuth 2.0 password grant), else JSON

    def request(self, user: str, password: str) -> Request:
        """An anonymous login with ``user`` and ``password`` (the other fields as documented)."""
        body = {**self.body, self.user_field: user, self.secret_field: password}
        if self.form:
            headers = Headers().set("Content-Type", _FORM)
            data = urlencode({k: _form_value(v) for k, v in body.items()}).encode()
        else:
            headers = Headers().set("Content-Type", "application/json")
            data = json.dumps(body).encode()
        return Request("POST", self.url, headers, data).without_credentials()

    @property
    def by_email(self) -> bool:
        return "email" in _plain(self.user_field)

    def unknown_user(self) -> str:
        """A username no account has: made up for this probe."""
        name = f"mb-{secrets.token_hex(6)}"
        return f"{name}@example.invalid" if self.by_email else name


@check(
    category="authentication",
    emits={_ENUM, _BRUTE},
    mode="active",
    max_requests=4 + _ATTEMPTS,
)
async def login_flows(ctx: CheckContext) -> AsyncIterator[Finding]:
    """The login operation: whether it tells existing users apart, and whether it limits guessing.

    Finds the login: a POST whose path names a login (login, signin, logon, token, session,
    auth …, never register or signup) and whose JSON body has a user field (``username``,
    ``email``, ``login`` …) and a password field (``password``, ``passwd``, ``pin`` …); the
    first one.

    - user-enumeration: the scan's own user (its username or e-mail, read from the answers
      about the caller — the operation that verified its credentials, ``/me``, ``/profile``,
      ``/account`` … — else its token's ``username`` / ``preferred_username`` / ``email``
      claims, or a name-like ``sub``; a name is never a number, URI or a value holding a UUID,
      such as a ``user_id``) and a made-up one,
      each with a wrong random password, twice, alternating (4 requests). Reported when each
      user's two answers agree with each other and differ between the users in status
      (confirmed) or in body once the submitted values are blanked (firm). A failed login is
      a non-2xx answer, or a 2xx one that carries no credential (``{"status": "fail",
      "message": …}``: no JWT, token or session field, credential header or cookie). Not
      reported when any answer carries a credential, is a redirect, 429 or 423, or carries
      ``Retry-After``: a limiter's answer says nothing about the user.
    - no-brute-force-protection: 12 logins with a made-up user and 12 different wrong passwords,
      one alone (the server's own time for a failed login), then 11 at once (at the ``--rate``
      / ``--concurrency`` caps, so a per-second limit trips).
      Reported (tentative: a lockout that only protects existing accounts
      does not show with an unknown user) when every answer has the first one's status and is
      a failed login (as above: a 200 without a credential counts), none is 429 or 423, none
      carries ``Retry-After``, none was held back (the slowest under 1 s or under three times
      the fastest, or every answer back within three lone attempts' time of the one before:
      a server answering in turn, not a tarpit), and rate-limit headers, if any, still
      announce at least 100 requests left
      (``RateLimit-Remaining``, ``X-RateLimit-Remaining``): a general limit of a thousand
      requests does not stop guessing. The detail says how many attempts went to which
      operation in what time.

    No real account is locked: the attempts go to a user that does not exist.
    """
    login = find_login(ctx)
    if login is None:
        return
    known = known_username(ctx, login.user_field)
    if known is not None:
        finding = await _enumeration(ctx, login, known)
        if finding is not None:
            yield finding
    finding = await _brute_force(ctx, login)
    if finding is not None:
        yield finding


async def _enumeration(ctx: CheckContext, login: Login, known: str) -> Finding | None:
    unknown = login.unknown_user()
    sent: list[tuple[tuple[int | None, str], Exchange]] = []
    for _ in range(2):
        for user in (known, unknown):
            password = f"mb-wrong-{secrets.token_hex(6)}"
            exchange = await ctx.send(login.request(user, password))
            if replies.limited(exchange) or not replies.failed(exchange):
                return None
            sent.append((shape(exchange, (user, password)), exchange))
    mine, theirs = [s for s, _ in sent[0::2]], [s for s, _ in sent[1::2]]
    if mine[0] != mine[1] or theirs[0] != theirs[1] or mine[0] == theirs[0]:
        return None
    real, fake = sent[0][1], sent[1][1]
    same_status = replies.status(real) == replies.status(fake)
    differs = (
        "a different body"
        if same_status
        else f"{replies.status(fake)} instead of {replies.status(real)}"
    )
    key = login.operation.key
    return ctx.finding(
        _ENUM,
        login.operation,
        parameter=login.user_field,
        detail=f"`{key}` with a wrong password answers {replies.status(real)} for an existing user "
        f"(the scan's own) and {differs} for a made-up one, twice each: anyone can test "
        "which usernames or e-mail addresses have an account",
        evidence=[("existing user", real), ("unknown user", fake)],
        confidence=Confidence.firm if same_status else Confidence.confirmed,
    )


async def _brute_force(ctx: CheckContext, login: Login) -> Finding | None:
    user = login.unknown_user()

    def attempt() -> Awaitable[replies.Timed]:
        request = replace(login.request(user, f"mb-wrong-{secrets.token_hex(6)}"), burst=True)
        return replies.timed(ctx.send, request)

    lone = await attempt()  # the server's own time for one failed login
    if replies.limited(lone.exchange) or not replies.failed(lone.exchange):
        return None
    started = time.monotonic()
    burst = await asyncio.gather(*(attempt() for _ in range(_ATTEMPTS - 1)))
    elapsed = max(time.monotonic() - started, 1e-3)
    answers = [(t.exchange, t.took) for t in (lone, *burst)]
    first = replies.status(lone.exchange)
    if first is None or replies.held_back(burst, lone.took):
        return None
    if not all(replies.failed(ex) for ex, _ in answers):
        return None  # a 2xx with a token: the login did not fail (or the answer is not read)
    if any(replies.limited(ex) or replies.status(ex) != first for ex, _ in answers):
        return None
    left = min((b for ex, _ in answers if (b := replies.budget(ex)) is not None), default=None)
    if left is not None and left < _GUESSES_LEFT:
        return None  # a rate limit that stops guessing soon, or one whose budget is not said
    budget = "" if left is None else f"; its rate-limit headers still allowed {left} more"
    key = login.operation.key
    return ctx.finding(
        _BRUTE,
        login.operation,
        parameter=login.secret_field,
        detail=f"{_ATTEMPTS} failed logins for one made-up user to `{key}`, one alone "
        f"(answered in {lone.took:.2f} s), then {_ATTEMPTS - 1} at once, answered in "
        f"{elapsed:.1f} s "
        f"({(_ATTEMPTS - 1) / elapsed:.0f}/s), all {first}: none was "
        f"refused (429/423), slowed down, or carried Retry-After{budget} (a lockout that "
        "protects only existing accounts would not show with an unknown user)",
        evidence=[("attempt 1", answers[0][0]), (f"attempt {_ATTEMPTS}", answers[-1][0])],
        confidence=Confidence.tentative,
    )


def find_login(ctx: CheckContext) -> Login | None:
    """The first POST that names authentication with a user and a password field."""
    urls = {op.path: ex.request.url for op, ex in ctx.baseline.items()}
    for op in ctx.surface.operations:
        if op.method != "POST" or not authenticates(op.path) or "{" in op.path:
            continue
        named = set(_path_words(op.path)) | {"".join(_path_words(op.path)[-2:])}
        if not named & _LOGIN_WORDS or named & _REGISTRATION_WORDS:
            continue
        form = op.request_body is not None and op.request_body.content_type == _FORM
        body = _form_body(op) if form else json_body(op)
        if body is None:
            continue
        user = _field(body, _USER_FIELDS)
        secret = _field(body, _SECRET_FIELDS)
        if user is not None and secret is not None:
            url = urls.get(op.path) or ctx.url(op.path)
            return Login(op, url.split("?", 1)[0], body, user, secret, form)
    return None


def _form_body(op: Operation) -> dict[str, Any] | None:
    """A form login's fields from its schema: the required ones and the user and password, with
    ``grant_type=password`` where the form has one (RFC 6749 §4.3.2; FastAPI's
    ``OAuth2PasswordRequestForm``)."""
    schema = op.request_body.schema if op.request_body is not None else {}
    props = schema.get("properties") or {}
    wanted = set(schema.get("required") or ())
    wanted |= {k for k in props if _plain(k) in (*_USER_FIELDS, *_SECRET_FIELDS)}
    body = {k: value_for_schema(props[k]) for k in props if k in wanted}
    if "grant_type" in props:
        body["grant_type"] = "password"
    return body or None


def _form_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _field(body: dict[str, Any], names: tuple[str, ...]) -> str | None:
    return next((k for k in body if _plain(k) in names), None)


def _plain(name: str) -> str:
    return "".join(words(name))


def _path_words(path: str) -> list[str]:
    return [w for segment in path.split("/") if "{" not in segment for w in words(segment)]


def known_username(ctx: CheckContext, user_field: str) -> str | None:
    """The scan's own username or e-mail, in the form ``user_field`` takes (an e-mail when its
    name says so): from the answers about the caller (the verifying operation, ``/me``,
    ``/profile`` …), else from the claims of its token."""
    by_email = "email" in _plain(user_field)
    documents = [ctx.identities.verifier] if ctx.identities.verifier is not None else []
    for op, exchange in ctx.baseline.items():
        if set(_path_words(op.path)[-1:]) & _SELF_WORDS:
            documents.append(exchange)
    found: list[str] = []
    for exchange in documents:
        pairs = list(replies.pairs(exchange.response.json)) if exchange.response is not None else []
        found += [v for k, v in pairs if _plain(k) == _plain(user_field)]
        found += [v for k, v in pairs if _plain(k) in _USER_FIELDS]
    for carried in given_tokens(ctx)[:1]:
        names = ("email",) if by_email else _NAME_CLAIMS
        found += [v for n in names if isinstance(v := carried.jwt.claims.get(n), str)]
        if _name_like(sub := carried.jwt.claims.get(_SUB_CLAIM)):
            found.append(sub)
    return next((value for value in found if _login_name(value, by_email=by_email)), None)


def _login_name(value: str, *, by_email: bool) -> bool:
    """A value the login's user field takes: an e-mail address when it wants one, else a name
    (not a number, nor an id that holds a UUID: ``user_id`` in ``/me`` is seldom the login)."""
    if ("@" in value) != by_email or not 0 < len(value) <= 254 or " " in value:
        return False
    return by_email or (_name_like(value) and not _UUID.search(value))


def _name_like(sub: object) -> TypeGuard[str]:
    """A ``sub`` claim that reads as a login name: a string, not a number, UUID or URI."""
    if not isinstance(sub, str) or not sub.strip():
        return False
    if sub.strip().lstrip("-").isdigit() or _UUID.fullmatch(sub.strip()):
        return False
    return not any(ch in sub for ch in "|:/")


def shape(exchange: Exchange, submitted: tuple[str, ...]) -> tuple[int | None, str]:
    """Status and body with the submitted values blanked: what tells two answers apart."""
    resp = exchange.response
    text = resp.text[:4096] if resp is not None else ""
    for value in submitted:
        text = text.replace(value, "<submitted>")
    return replies.status(exchange), text
