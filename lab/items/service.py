"""What every route of the items service shares: variant, tables, secret, JSON and cursors."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from lab.items.auth import claims_of

PUBLIC_FIELDS = ("item_id", "name", "description", "price", "quantity", "tags", "created_at")
PROJECTION = ", ".join(f"#{field}" for field in PUBLIC_FIELDS)
PROJECTION_NAMES = {f"#{field}": field for field in PUBLIC_FIELDS}
MAX_PAGE = 25
_log = logging.getLogger("lab.items")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class GenericErrors(APIRoute):
    """FIX: an unexpected error becomes a generic 500 body; the detail goes to the log only."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except (HTTPException, RequestValidationError):
                raise
            except Exception:
                _log.exception("unexpected error in %s %s", request.method, request.url.path)
                return JSONResponse({"detail": "internal error"}, status_code=500)

        return guarded


@dataclass
class Service:
    """One running variant of the items service."""

    secure: bool
    secret: str
    endpoint_url: str
    items: Any  # boto3 Table
    users: Any
    webhooks: Any
    client: Any  # the low-level boto3 client
    items_table: str
    tables: dict[str, Any] = dataclasses.field(default_factory=dict)  # the other tables, by name
    revoked: set[str] = dataclasses.field(default_factory=set)  # hashes of signed-out tokens
    broken: set[str] = dataclasses.field(
        default_factory=set
    )  # users whose stored role left their token's

    def router(self, **kwargs: Any) -> APIRouter:
        """A router whose routes hide unexpected errors when the variant is secure."""
        return APIRouter(route_class=GenericErrors if self.secure else APIRoute, **kwargs)

    def caller(self, request: Request) -> dict[str, Any]:
        """The verified claims of the caller (401 otherwise; 500 once its profile broke)."""
        claims = claims_of(request, secure=self.secure, secret=self.secret)
        if token_hash(request) in self.revoked:
            raise HTTPException(401, "this token was signed out")
        if claims["sub"] in self.broken:
            # As on the real API this lab copies: a role the token does not carry makes every
            # later request of the user fail.
            raise HTTPException(500, "internal error: role mismatch")
        return claims


def token_hash(request: Request) -> str:
    """The SHA-256 of the caller's bearer token (what the revocation list keeps)."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    return hashlib.sha256(token.encode()).hexdigest()


def raw_json(data: Any, status: int = 200) -> Response:
    """FLAW-style serialisation: ``json.dumps(..., default=str)`` (Decimals and sets as text)."""
    return Response(
        json.dumps(data, default=str), status_code=status, media_type="application/json"
    )


def public_item(item: dict[str, Any]) -> dict[str, Any]:
    """FIX: only the declared fields, with numbers as numbers and sets as sorted lists."""
    out: dict[str, Any] = {}
    for field in PUBLIC_FIELDS:
        value = item.get(field)
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        elif isinstance(value, set):
            value = sorted(value)
        out[field] = value
    return out


def valid_item_id(item_id: str) -> bool:
    """FIX: keys are UUIDs; anything else never reaches DynamoDB."""
    return bool(_UUID.match(item_id))


def encode_cursor(
    key: dict[str, Any] | None, *, secure: bool, secret: str, user: str
) -> str | None:
    """The next-page cursor for ``key`` (DynamoDB's LastEvaluatedKey)."""
    if not key:
        return None
    if not secure:  # FLAW: the raw ExclusiveStartKey, unsigned, as base64 JSON
        return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode()
    body = base64.urlsafe_b64encode(json.dumps({"k": key, "u": user}).encode()).decode()
    return f"{body}.{_sign(body, secret, user)}"


def decode_cursor(cursor: str, *, secure: bool, secret: str, user: str) -> dict[str, Any]:
    """The ExclusiveStartKey carried by ``cursor``; the secure variant checks signature and user."""
    if not secure:  # FLAW: trusts whatever the client sends back
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return data
    body, _, signature = cursor.partition(".")
    if not hmac.compare_digest(
        signature.encode(), _sign(body, secret, user).encode()
    ):  # FIX: HMAC, bound to user
        raise HTTPException(400, "invalid cursor")
    try:
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError as exc:
        raise HTTPException(400, "invalid cursor") from exc
    if payload.get("u") != user or not isinstance(payload.get("k"), dict):
        raise HTTPException(400, "invalid cursor")
    start: dict[str, Any] = payload["k"]
    return start


def _sign(body: str, secret: str, user: str) -> str:
    mac = hmac.new(secret.encode(), f"{user}\x1f{body}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
