"""What every route of the profiles service shares: variant, tables, the caller, JSON, errors."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import Request, Response, abort, current_app, request

from lab.dynamo import plain
from lab.identities import InvalidToken, verify

REALM = 'Bearer realm="profiles"'
USER_HEADER = "X-User-ID"
LOG = logging.getLogger("lab.profiles")


@dataclass
class Service:
    """One running variant of the profiles service."""

    secure: bool
    secret: str
    resource: Any  # boto3 DynamoDB resource
    client: Any  # the low-level boto3 client (raw AttributeValues)
    users_table: str
    orders_table: str
    table_prefix: str

    @property
    def users(self) -> Any:
        """The users table."""
        return self.resource.Table(self.users_table)

    @property
    def orders(self) -> Any:
        """The orders table."""
        return self.resource.Table(self.orders_table)


@dataclass(frozen=True)
class Caller:
    """Who is asking: the user id, and (when known from a verified token) tenant and role."""

    user_id: str
    tenant: str | None
    role: str | None


def service() -> Service:
    """The ``Service`` of the running app."""
    svc: Service = current_app.extensions["lab_profiles"]
    return svc


def _bearer(req: Request) -> str | None:
    scheme, _, token = req.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def caller() -> Caller:
    """The caller of the current request, or abort with 401."""
    svc = service()
    token = _bearer(request)
    claims: dict[str, Any] = {}
    if token is not None:
        try:
            claims = verify(token, secret=svc.secret, variant="secure")
        except InvalidToken:
            claims = {}
    if svc.secure:
        if not isinstance(claims.get("sub"), str):  # FIX: identity only from a verified token
            unauthorized()
        return Caller(claims["sub"], claims.get("tenant"), claims.get("role"))
    # FLAW: a client-sent header decides who the caller is, token or not.
    user_id = request.headers.get(USER_HEADER) or claims.get("sub")
    if not user_id:
        abort(json_response({"error": "missing X-User-ID header or bearer token"}, 401))
    return Caller(str(user_id), claims.get("tenant"), claims.get("role"))


def unauthorized() -> None:
    """Abort with the secure 401 (generic body and ``WWW-Authenticate``)."""
    response = json_response({"error": "authentication required"}, 401)
    response.headers["WWW-Authenticate"] = REALM
    abort(response)


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON response of ``data`` (DynamoDB types made plain)."""
    return Response(json.dumps(plain(data)), status=status, mimetype="application/json")


def generic_error(status: int) -> Response:
    """FIX: the secure variant's error body: a status word, never the cause."""
    words = {400: "bad request", 403: "forbidden", 404: "not found", 410: "gone"}
    return json_response({"error": words.get(status, "request failed")}, status)


def pick(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """FIX: only the named fields of ``item`` (explicit response fields)."""
    return {field: item[field] for field in fields if field in item}
