"""Disposable identities: users the scan registers itself, logs in, and deletes (active mode).

``flow`` finds the registration (``http.accounts.registers``), the login beside it (a POST whose
last path segment names authentication, with a user and a password field), the documented
self-service deletion of the caller's own account (``DELETE /users/me``: ``self_deletion``),
else (``--include`` only) the ``DELETE`` of one account, and the caller's own record
(``GET /me`` …). ``register`` makes one user of the scan's own — a random name, an e-mail on
``example.com`` (reserved by RFC 2606), a strong random password — with the journal told
beforehand which URL deletes it; ``log_in`` gets its token and the header that carries it.

``why_not`` says why no disposable user can be registered: the report lists the probes that
need one as not tested, with that reason. Before the first one it registers a canary user and
has it delete itself at once (``Journal.undo_account``): unless the deletion answered 2xx and
its token no longer reads its own record, the scan registers no other (the canary is reported
as not restored). A ``DELETE /users/{id}`` is usually an administrator's, so it never makes a
registration undoable on its own.

Never the scan's given identities: every request here is anonymous or carries a disposable
user's own token.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from middlebrick.checks._properties import records
from middlebrick.checks._writes import fresh, json_media, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.http.accounts import (
    account_deletion,
    account_path,
    password_field,
    registers,
    self_deletion,
)
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.wording import logs_in, words
from middlebrick.spec.model import Operation
from middlebrick.spec.values import value_for_schema
from middlebrick.tokens import find_jwts

__all__ = [
    "Account",
    "Flow",
    "flow",
    "log_in",
    "login_request",
    "path_value",
    "register",
    "why_not",
]

_DOMAIN = "example.com"  # RFC 2606 §3: reserved for documentation, no one's mailbox
_USER_FIELDS = ("username", "user", "login", "name", "email", "emailaddress", "mail")
_CONFIRM = ("passwordconfirm", "confirmpassword", "password2", "passwordconfirmation")
_TOKEN_FIELDS = ("token", "accesstoken", "authtoken", "key", "jwt", "idtoken")
_SELF = {"me", "self", "whoami", "profile", "account", "current"}


@dataclass(frozen=True)
class Flow:
    """The operations a disposable identity needs."""

    register: Operation
    login: Operation
    delete: Operation | None  # the account's DELETE (None: only --include)
    me: Operation | None  # GET of the caller's own record
    own: bool = False  # ``delete`` is the self-service deletion (``DELETE /users/me``)

    @property
    def parameter(self) -> str | None:
        """The DELETE's path parameter (``username``, ``user_id`` …)."""
        if self.delete is None or self.own:
            return None
        return self.delete.path.rstrip("/").rpartition("/")[2].strip("{}")


@dataclass
class Account:
    """One user the scan registered: its credentials and what the API answered."""

    username: str
    email: str
    password: str
    made: Exchange  # the registration
    url: str | None  # its DELETE URL, when documented
    headers: Headers = field(default_factory=Headers)  # its token, once logged in
    login: Exchange | None = None
    id: str | None = None  # the id the registration answered, if any

    def request(self, method: str, url: str, body: Mapping[str, Any] | None = None) -> Request:
        """A request as this user (its token, never the scan's identities)."""
        headers = self.headers
        data = None
        if body is not None:
            headers = headers.set("Content-Type", "application/json")
            data = json.dumps(dict(body)).encode()
        return Request(method, url, headers, data).without_credentials()


def flow(ctx: CheckContext) -> Flow | None:
    """The registration, login, account DELETE and ``/me`` of the surface, when there is a
    registration and a login."""
    ops = ctx.surface.operations
    register_op = next((op for op in ops if registers(op)), None)
    login = next((op for op in ops if _is_login(op)), None)
    if register_op is None or login is None:
        return None
    me = next((op for op in ops if _is_me(op)), None)
    own = self_deletion(register_op, ops)
    if own is not None:
        return Flow(register_op, login, own, me, own=True)
    return Flow(register_op, login, account_deletion(register_op, ops), me)


async def why_not(ctx: CheckContext, found: Flow) -> str | None:
    """Why the scan may not register a disposable user (``None``: it may). The first call
    registers a canary user that deletes itself at once; when it cannot, none is registered."""
    url = ctx.url(found.register.path)
    if not ctx.may_send("POST", url, anonymous=True):
        return (
            f"`{found.register.key}` registers accounts and the API documents no self-service "
            "DELETE of the caller's own account (`DELETE /users/me`) a disposable user could "
            "remove itself with; name it with --include to let the scan register disposable "
            "users"
        )
    journal = getattr(ctx.client, "journal", None)
    if journal is None or found.delete is None:
        return None  # --include with no deletion documented: the user consented
    async with journal.accounts_lock:
        if journal.accounts_undoable is None:
            journal.accounts_reason = await _canary(ctx, found) or ""
            journal.accounts_undoable = not journal.accounts_reason
    return journal.accounts_reason or None


async def _canary(ctx: CheckContext, found: Flow) -> str | None:
    """Register one user, have it deleted at once and verify it gone: why not, else ``None``."""
    journal = ctx.client.journal  # type: ignore[attr-defined]
    account = await _register(ctx, found, None)
    if account is None:
        return f"a first disposable user could not be registered with `{found.register.key}`"
    await log_in(ctx, found, account)
    result = await journal.undo_account(account.username)
    if result is None or result.state == "deleted":
        return None
    return (
        f"the first disposable user {account.username} could not be deleted with "
        f"`{found.delete.key if found.delete else '?'}` (it is listed as not restored), so the "
        "scan registers no other"
    )


async def register(
    ctx: CheckContext, found: Flow, extra: Mapping[str, Any] | None = None
) -> Account | None:
    """Register one disposable user (plus ``extra`` fields); ``None`` when refused, failed,
    or the canary user could not be deleted (``why_not``)."""
    if await why_not(ctx, found) is not None:
        return None
    return await _register(ctx, found, extra)


async def _register(
    ctx: CheckContext, found: Flow, extra: Mapping[str, Any] | None
) -> Account | None:
    url = ctx.url(found.register.path)
    if not ctx.may_send("POST", url, anonymous=True):
        return None
    name = f"mb{secrets.token_hex(5)}"
    email = f"{name}@{_DOMAIN}"
    password = f"Mb-{secrets.token_urlsafe(15)}9a!"
    schema = found.register.request_body.schema if found.register.request_body else {}
    body = value_for_schema(schema)
    body = dict(body) if isinstance(body, dict) else {}
    secret = password_field(found.register)
    for key in list(schema.get("properties", {})) if isinstance(schema, dict) else []:
        plain = "".join(words(key))
        if plain == "".join(words(secret or "")) or plain in _CONFIRM:
            body[key] = password
        elif "email" in plain or plain == "mail":
            body[key] = email
        elif plain in _USER_FIELDS:
            body[key] = name
    body.update(extra or {})
    account = Account(name, email, password, Exchange(Request("POST", url), None), None)
    journal = getattr(ctx.client, "journal", None)
    if found.own and found.delete is not None:
        named: str | None = ctx.url(found.delete.path)
        reads = ctx.url(found.me.path) if found.me is not None else named
        if journal is not None:
            journal.expect(url, named or "", key=name, own=reads)
    else:
        named = _account_url(ctx, found, account)
        if journal is not None and found.delete is not None:
            by_id = named or (lambda answer: _url_by_id(ctx, found, answer))
            journal.expect(url, by_id, key=name)
    headers = Headers.of({"Content-Type": json_media(found.register)})
    request = Request("POST", url, headers, json.dumps(body).encode()).without_credentials()
    account.made = await ctx.send(request)
    if not account.made.ok or account.made.response is None:
        return None
    if account.made.response.says_failed:  # {"status": "fail", …}: nothing registered
        return None
    account.id = _answered_id(found, account.made)
    if found.delete is not None:
        account.url = named or _url_by_id(ctx, found, account.made)
    _own_home(ctx, account)
    return account


async def log_in(ctx: CheckContext, found: Flow, account: Account) -> bool:
    """Log ``account`` in and keep its token in the header the API takes; False on failure."""
    answer = await ctx.send(login_request(ctx, found, account.username, account.password))
    account.login = answer
    token = _token(answer)
    if token is None:
        return False
    candidates = _headers(ctx, token)
    if found.me is not None:
        for headers in candidates:
            probe = Request("GET", ctx.url(found.me.path), headers).without_credentials()
            if (await ctx.send(fresh(probe, 0))).ok:
                candidates = [headers]
                break
        else:
            return False
    account.headers = candidates[0]
    journal = getattr(ctx.client, "journal", None)
    if journal is not None:
        journal.sign(account.username, account.headers)
    return True


def login_request(ctx: CheckContext, found: Flow, user: str, password: str) -> Request:
    """An anonymous login of ``user`` (its name, or e-mail when the field asks for one)."""
    schema = found.login.request_body.schema if found.login.request_body else {}
    properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
    body: dict[str, Any] = {}
    secret = password_field(found.login)
    for key in properties:
        plain = "".join(words(key))
        if key == secret:
            body[key] = password
        elif "email" in plain or plain == "mail":
            body[key] = user if "@" in user else f"{user}@{_DOMAIN}"
        elif plain in _USER_FIELDS:
            body[key] = user
    headers = Headers.of({"Content-Type": json_media(found.login)})
    url = ctx.url(found.login.path)
    return Request("POST", url, headers, json.dumps(body).encode()).without_credentials()


def path_value(account: Account, parameter: str) -> str | None:
    """What names ``account`` in a path parameter: its e-mail, its name, or the id its
    DELETE URL holds (``None`` when it is not known)."""
    plain = "".join(words(parameter))
    if "email" in plain or plain == "mail":
        return account.email
    if "name" in plain or plain in ("user", "login", "handle"):
        return account.username
    return account.id


def _own_home(ctx: CheckContext, account: Account) -> None:
    """Let the scan write under the account's own URLs (``/users/{its name}/password``): each
    documented operation whose path names one account of an account collection by a name, an
    e-mail or the id the registration answered. Only this disposable user's own."""
    scope = getattr(ctx.client, "scope", None)
    journal = getattr(ctx.client, "journal", None)
    for op in ctx.surface.operations:
        named = account_path(op.path)
        value = path_value(account, named[1]) if named is not None else None
        if named is None or value is None:
            continue
        home = ctx.url(named[0] + quote(value, safe=""))
        if scope is not None:
            scope.policy.created(home, below=True)
        if journal is not None:
            journal.home(account.username, home)


def _answered_id(found: Flow, answer: Exchange) -> str | None:
    """The new account's id in the registration's answer (``{"id": 7}``, ``{"user": {…}}``)."""
    body = answer.response.json if answer.response is not None else None
    keys = ("id", "pk", "user_id", "userid")
    for record in records(body):
        value = next((record[k] for k in keys if k in record), None)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def _account_url(ctx: CheckContext, found: Flow, account: Account) -> str | None:
    """The account's DELETE URL, when its parameter is a name or an e-mail (``None`` for an
    id, which only the registration's answer gives)."""
    if found.delete is None or found.parameter is None:
        return None
    plain = "".join(words(found.parameter))
    if "email" in plain or plain == "mail":
        value = account.email
    elif "name" in plain or plain in ("user", "login", "handle"):
        value = account.username
    else:
        return None  # an id: the registration's answer gives it
    return ctx.url(found.delete.path.replace("{" + found.parameter + "}", quote(value, safe="")))


def _url_by_id(ctx: CheckContext, found: Flow, answer: Exchange) -> str | None:
    """The account's DELETE URL with the id the registration answered (``{"id": 7}``, or
    inside an envelope: ``{"user": {"id": 7}}``)."""
    if found.delete is None or found.parameter is None or not answer.ok:
        return None
    body = answer.response.json if answer.response is not None else None
    keys = (found.parameter, "".join(words(found.parameter)), "id", "pk")
    for record in records(body):
        value = next((record[k] for k in keys if k in record), None)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            path = found.delete.path.replace(
                "{" + found.parameter + "}", quote(str(value), safe="")
            )
            return ctx.url(path)
    return None


def _is_login(op: Operation) -> bool:
    if op.method != "POST" or "{" in op.path or not logs_in(op.path):
        return False
    if password_field(op) is None or op.request_body is None:
        return False
    properties = op.request_body.schema.get("properties", {})
    return any("".join(words(k)) in _USER_FIELDS for k in properties)


def _is_me(op: Operation) -> bool:
    if "{" in op.path:
        return False
    literal = [s for s in op.path.split("/") if s and "{" not in s]
    return op.method == "GET" and bool(literal) and bool(set(words(literal[-1])) & _SELF)


def _token(exchange: Exchange) -> str | None:
    """The credential a login answered: a JWT anywhere, else a token-named string field."""
    if not exchange.ok or exchange.response is None:
        return None
    jwts = find_jwts(exchange.response.text[:65536], limit=1)
    if jwts:
        return jwts[0].raw
    record = record_of(exchange) or {}
    for key, value in record.items():
        if "".join(words(key)) in _TOKEN_FIELDS and isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _headers(ctx: CheckContext, token: str) -> list[Headers]:
    """The headers that may carry ``token``, the declared schemes' first."""
    found: list[Headers] = []
    spec = ctx.surface.spec
    for scheme in spec.security_schemes.values() if spec is not None else ():
        name = scheme.param_name or ""
        in_header = scheme.type == "apiKey" and scheme.location == "header"
        if in_header and name.lower() not in ("", "authorization"):
            found.append(Headers.of({name: token}))
    for prefix in ("Bearer", "Token"):
        found.append(Headers.of({"Authorization": f"{prefix} {token}"}))
    return found
