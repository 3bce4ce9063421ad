"""End to end on loopback: JWT handling, identity headers, bypass variants; one flag apart.

The vulnerable twin signs tokens with the dictionary word ``secret`` and no ``exp``, accepts
``alg: none`` and expired tokens, takes the caller from ``X-User-ID``, serves its export
without credentials, and authenticates orders in a middleware that matches the path exactly
and exempts HEAD / preflight (``X-HTTP-Method-Override: OPTIONS``) while the router is
case-insensitive and accepts a trailing slash. The secure twin verifies everything in the
handlers with a random secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

from aiohttp import web

from middlebrick.config import Credential, ScanRequest
from middlebrick.engine import scan
from middlebrick.testing import LiveApp
from middlebrick.tokens import b64url

WEAK = "secret"
STRONG = "0f4c2b9e7a1d3c5e8b6a4f2d0c9e7b5a3f1d8c6e4b2a0f9d7c5e3b1a8f6d4c2e"
USERS = {
    "u-alice": {"id": "u-alice", "name": "Alice", "email": "alice@notes.example"},
    "u-bob": {"id": "u-bob", "name": "Bob", "email": "bob@notes.example"},
}
ORDER = {"id": "o-7", "total": 12.5, "status": "open"}
EXPORT = {
    "users": [
        {"id": "u-alice", "ssn": "123-45-6789", "api_key": "sk_live_9fQ2kLm4Zx7PwR1tYc8vB3nD"}
    ]
}
REALM = {"WWW-Authenticate": 'Bearer realm="notes"'}
BEARER = [{"bearer": []}]
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "notes", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": BEARER,
    "paths": {
        "/api/profile": {"get": {"responses": {"200": {"description": "the caller"}}}},
        "/api/orders/{order_id}": {
            "get": {
                "parameters": [
                    {"name": "order_id", "in": "path", "required": True, "example": "o-7"}
                ],
                "responses": {"200": {"description": "one order"}},
            }
        },
        "/api/export": {"get": {"responses": {"200": {"description": "everything"}}}},
    },
}
_ORDER_PATH = re.compile(r"/api/orders/[^/]+")


def _mint(sub: str, *, vulnerable: bool) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "iat": now}
    if not vulnerable:
        claims |= {"exp": now + 3600, "iss": "notes", "aud": "notes-api"}
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    key = (WEAK if vulnerable else STRONG).encode()
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(signature)}"


def _decode(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _subject(request: web.Request, *, vulnerable: bool) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        return None
    head, body, signature = token.split(".")
    try:
        header, claims = _decode(head), _decode(body)
    except ValueError:
        return None
    if vulnerable and str(header.get("alg", "")).lower() == "none":
        return str(claims.get("sub"))  # FLAW: unsigned tokens accepted
    if header.get("alg") != "HS256":
        return None
    key = (WEAK if vulnerable else STRONG).encode()
    expected = b64url(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature):
        return None
    if not vulnerable:  # FIX: exp, iss and aud required and checked
        if claims.get("iss") != "notes" or claims.get("aud") != "notes-api":
            return None
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
            return None
    return str(claims.get("sub"))


def _app(*, vulnerable: bool) -> web.Application:
    def caller(request: web.Request) -> str | None:
        subject = _subject(request, vulnerable=vulnerable)
        if vulnerable:
            return request.headers.get("X-User-ID") or subject  # FLAW: identity from a header
        return subject

    def deny() -> web.Response:
        return web.json_response({"detail": "not authenticated"}, status=401, headers=REALM)

    async def profile(request: web.Request) -> web.Response:
        who = caller(request)
        return web.json_response(USERS[who]) if who in USERS else deny()

    async def order(request: web.Request) -> web.Response:
        if not vulnerable and caller(request) is None:  # FIX: checked in the handler
            return deny()
        return web.json_response(ORDER)

    async def export(request: web.Request) -> web.Response:
        if not vulnerable and caller(request) is None:  # FLAW: no check at all when vulnerable
            return deny()
        return web.json_response(EXPORT)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(SPEC)

    @web.middleware
    async def orders_guard(request: web.Request, handler: Any) -> web.StreamResponse:
        # FLAW: an exact, case-sensitive path rule that exempts HEAD and preflight requests.
        preflight = request.headers.get("X-HTTP-Method-Override", "").upper() == "OPTIONS"
        exempt = request.method in ("HEAD", "OPTIONS") or preflight
        guarded = vulnerable and _ORDER_PATH.fullmatch(request.path) and not exempt
        response: web.StreamResponse
        if guarded and caller(request) is None:
            response = deny()
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = web.json_response({"detail": exc.reason}, status=exc.status)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    app = web.Application(middlewares=[orders_guard])
    app.router.add_get("/api/profile", profile)
    for pattern in (r"/{a:(?i:api)}/{o:(?i:orders)}/{order_id:[^/]+}", "/api/orders/{order_id}/"):
        app.router.add_get(pattern, order)
    app.router.add_get("/api/export", export)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _findings(*, vulnerable: bool) -> set[tuple[str, str, str | None]]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        request = ScanRequest(
            target=url,
            spec=f"{url}/openapi.json",
            identities={
                name: Credential(
                    headers=(("Authorization", f"Bearer {_mint(sub, vulnerable=vulnerable)}"),)
                )
                for name, sub in (("alice", "u-alice"), ("bob", "u-bob"))
            },
        )
        report = await scan(request)
    return {
        (f.type_id, f.operation, f.parameter)
        for f in report.findings
        if f.category == "authentication" and f.severity != "info"
    }


async def test_authentication_checks_report_every_flaw_of_the_vulnerable_twin() -> None:
    found = await _findings(vulnerable=True)

    assert found == {
        ("authentication.declared-not-enforced", "GET /api/export", None),
        ("authentication.jwt-alg-none", "*", None),
        # the alg=none token with bob's sub reads bob's profile: what the forging reaches
        ("authentication.jwt-forged-identity", "GET /api/profile", "sub"),
        ("authentication.jwt-weak-secret", "*", None),
        ("authentication.jwt-expired-accepted", "*", None),
        ("authentication.jwt-missing-claims", "*", "exp,iss,aud"),
        ("authentication.identity-from-header", "GET /api/profile", "X-User-ID"),
        # the orders guard asks the same caller(): the header alone passes it
        ("authentication.identity-from-header", "GET /api/orders/{order_id}", "X-User-ID"),
        ("authentication.sensitive-data-without-auth", "GET /api/export", None),
        ("authentication.auth-bypass-variant", "GET /api/orders/{order_id}", "HEAD"),
        ("authentication.auth-bypass-variant", "GET /api/orders/{order_id}", "trailing-slash"),
        ("authentication.auth-bypass-variant", "GET /api/orders/{order_id}", "path-case"),
        (
            "authentication.auth-bypass-variant",
            "GET /api/orders/{order_id}",
            "X-HTTP-Method-Override",
        ),
    }


async def test_authentication_checks_stay_quiet_on_the_secure_twin() -> None:
    assert await _findings(vulnerable=False) == set()
