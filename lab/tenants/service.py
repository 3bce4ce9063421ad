"""What every view of the tenants service shares: variant, table, the caller, tenant, JSON."""

from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

from lab.dynamo import plain
from lab.identities import InvalidToken, verify
from lab.tenants.assets import FakeRoot

REALM = 'Bearer realm="tenants"'
TENANT_HEADER = "X-Tenant-ID"
LOG = logging.getLogger("lab.tenants")


@dataclass
class Service:
    """One running variant of the tenants service (one per process: Django has one settings)."""

    secure: bool
    secret: str
    table: Any  # boto3 Table
    root: FakeRoot


@dataclass(frozen=True)
class Caller:
    """The verified caller and the tenant the request works in."""

    user_id: str
    role: str
    token_tenant: str
    tenant: str


class Refusal(Exception):
    """Raised inside a view to answer with ``response`` at once."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


_SERVICE: list[Service] = []


def install(svc: Service) -> None:
    """Make ``svc`` the service the views use."""
    _SERVICE[:] = [svc]


def service() -> Service:
    """The service of this process."""
    return _SERVICE[0]


def json_response(data: Any, status: int = 200) -> HttpResponse:
    """A JSON response of ``data`` (DynamoDB types made plain)."""
    return HttpResponse(json.dumps(plain(data)), status=status, content_type="application/json")


def generic_error(status: int) -> HttpResponse:
    """FIX: the secure variant's error body: a status word, never the cause."""
    words = {400: "bad request", 401: "authentication required", 403: "forbidden"}
    response = json_response({"error": words.get(status, "not found")}, status)
    if status == 401:
        response["WWW-Authenticate"] = REALM
    return response


def pick(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """FIX: only the named fields of ``item`` (explicit response fields)."""
    return {field: item[field] for field in fields if field in item}


def _subdomain(request: HttpRequest) -> str | None:
    host = request.get_host().rsplit(":", 1)[0].strip("[]")
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    labels = host.split(".")
    return labels[0] if len(labels) > 1 and labels[0] else None


def caller(request: HttpRequest) -> Caller:
    """The verified caller and the tenant of the request; raise ``Refusal`` with a 401/403."""
    svc = service()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("no bearer token")
        claims = verify(token.strip(), secret=svc.secret, variant="secure")
    except InvalidToken as exc:
        if svc.secure:
            raise Refusal(generic_error(401)) from exc
        raise Refusal(json_response({"detail": "authentication required"}, 401)) from exc
    own = str(claims.get("tenant", ""))
    asked = request.headers.get(TENANT_HEADER) or _subdomain(request)
    if svc.secure:
        if asked is not None and asked != own:  # FIX: the token's tenant, nothing else
            raise Refusal(generic_error(403))
        tenant = own
    else:
        tenant = asked or own  # FLAW: header or subdomain picks the tenant, no allow-list
    return Caller(str(claims["sub"]), str(claims.get("role", "user")), own, tenant)
