"""Disposable identities: users the scan registers itself, logs in, and deletes (active mode).

``flow`` finds the registration (``http.accounts.registers``), the login beside it (a POST whose
last path segment names authentication, with a user and a password field), the documented
``DELETE`` of one account and the caller's own record (``GET /me`` …). ``register`` makes one
user of the scan's own — a random name, an e-mail on ``example.com`` (reserved by RFC 2606), a
strong random password — with the journal told beforehand which URL deletes it; ``log_in``
gets its token and the header that carries it. ``why_not`` says why no disposable user can be
registered: the report lists the probes that need one as not tested, with that reason.

Never the scan's given identities: every request here is anonymous or carries a disposable
user's own token.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

from middlebrick.checks._properties import records
from middlebrick.checks._writes import fresh, json_media, record_of
from middlebrick.checks.context import CheckContext
from middlebrick.http.accounts import account_deletion, password_field, registers
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
    delete: Operation | None  # the documented DELETE of one account (None: only --include)
    me: Operation | None  # GET of the caller's own record

    @property
    def parameter(self) -> str | None:
        """The DELETE's path parameter (``username``, ``user_id`` …)."""
        if self.delete is None:
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
    return Flow(register_op, login, account_deletion(register_op, ops), me)


def why_not(ctx: CheckContext, found: Flow) -> str | None:
    """Why the scan may not register a disposable user (``None``: it may)."""
    url = ctx.url(found.register.path)
    if ctx.may_send("POST", url, anonymous=True):
        return None
    return (
        f"`{found.register.key}` registers accounts and the API documents no DELETE of an "
        "account that would remove them; name it with --include to let the scan register "
        "disposable users"
    )


async def register(
    ctx: CheckContext, found: Flow, extra: Mapping[str, Any] | None = None
) -> Account | None:
    """Register one disposable user (plus ``extra`` fields); ``None`` when refused or failed."""
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
    named = _account_url(ctx, found, account)
    journal = getattr(ctx.client, "journal", None)
    if journal is not None and found.delete is not None:
        journal.expect(url, named or (lambda answer: _url_by_id(ctx, found, answer)))
    headers = Headers.of({"Content-Type": json_media(found.register)})
    request = Request("POST", url, headers, json.dumps(body).encode()).without_credentials()
    account.made = await ctx.send(request)
    if found.delete is not None:
        account.url = named or _url_by_id(ctx, found, account.made)
    return account if account.made.ok else None


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
    if journal is not None and account.url is not None:
        journal.sign(account.url, account.headers)
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
    if account.url is None:
        return None
    return unquote(account.url.rstrip("/").rpartition("/")[2]) or None


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
