"""The profiles service beyond DynamoDB: user cards (v1 and v2), admin, relay, docs, spec.

Every deliberate flaw is marked ``# FLAW:`` and its fix ``# FIX:``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, request

from lab.items import outbound
from lab.profiles.openapi import document
from lab.profiles.service import caller, generic_error, json_response, pick, service

blueprint = Blueprint("profiles_misc", __name__)

CARD_FIELDS = ("id", "name")
RELAY_ORIGINS: frozenset[str] = frozenset()
"""FIX: the partner origins the relay may fetch from; none are configured in the lab."""
INTERNAL_REPLICA = "10.20.4.17:8000"
_DOCS_PAGE = """<!doctype html>
<html><head><title>Swagger UI - profiles API</title></head>
<body><div id="swagger-ui" class="swagger-ui">
<h1>profiles API</h1><p>Interactive documentation for <a href="/openapi.json">/openapi.json</a>.
SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"})</p>
</div></body></html>
"""


@blueprint.get("/openapi.json")
def openapi() -> Any:
    """The service's OpenAPI document."""
    return json_response(document(service().secure, request.host_url.rstrip("/")))


@blueprint.get("/apidocs")
def apidocs() -> Any:
    """Interactive API documentation."""
    if service().secure:
        return generic_error(404)  # FIX: no documentation UI in production
    # FLAW: interactive API documentation served by the production app.
    return Response(_DOCS_PAGE, mimetype="text/html")


@blueprint.get("/v2/users/<user_id>")
def user_card(user_id: str) -> Any:
    """A user's card."""
    svc, who = service(), caller()
    if svc.secure and user_id != who.user_id:  # FIX: only the caller's own card
        return generic_error(404)
    item = svc.users.get_item(Key={"id": user_id}).get("Item")
    if item is None:
        return generic_error(404) if svc.secure else json_response({"error": "no such user"}, 404)
    if svc.secure:
        return json_response(pick(item, CARD_FIELDS))
    # FLAW: anybody's card, with e-mail, phone and role.
    return json_response(pick(item, ("id", "name", "email", "phone", "tenant", "role")))


@blueprint.get("/v1/users/<user_id>")
def user_card_v1(user_id: str) -> Any:
    """The first version of the user card (deprecated)."""
    svc = service()
    if svc.secure:
        return generic_error(410)  # FIX: the retired version is gone
    # FLAW: still live, no credentials asked, the whole item in DynamoDB's wire format.
    found = svc.client.get_item(TableName=svc.users_table, Key={"id": {"S": user_id}})
    if "Item" not in found:
        return json_response({"error": "no such user"}, 404)
    return json_response({"Item": found["Item"]})


@blueprint.get("/admin")
def admin() -> Any:
    """The admin dashboard."""
    svc, who = service(), caller()
    users = svc.users.scan()["Items"]
    if svc.secure:
        if who.role != "admin":  # FIX: the role from the verified token decides
            return generic_error(403)
        return json_response({"users": len(users)})
    # FLAW: any caller gets the admin view, with roles, e-mails and the internal replica.
    return json_response(
        {
            "users": [pick(u, ("id", "name", "email", "role", "is_admin")) for u in users],
            "replica": INTERNAL_REPLICA,
        }
    )


@blueprint.get("/api/relay")
def relay() -> Any:
    """Fetch a partner URL and pass its content on."""
    svc = service()
    caller()
    url = request.args.get("url", "")
    if svc.secure:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" not in RELAY_ORIGINS:  # FIX: allow-listed origins
            return generic_error(400)
    try:
        fetched = outbound.request(url)  # the lab's guard: loopback only, never anything else
    except outbound.NotLoopback as exc:
        return json_response({"error": str(exc)}, 400)
    except OSError as exc:
        return json_response({"error": f"upstream unreachable: {exc}"}, 502)
    # FLAW: the upstream body and content type are passed on as they came.
    return Response(fetched.body, status=200, content_type=fetched.content_type)
