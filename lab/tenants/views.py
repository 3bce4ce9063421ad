"""The tenants service's views: members, tickets, assets and the OpenAPI document.

Every deliberate flaw is marked ``# FLAW:`` and its fix ``# FIX:``.
"""

from __future__ import annotations

import functools
import json
import mimetypes
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from lab.profiles.openapi import variant_document
from lab.tenants.assets import FakeRoot
from lab.tenants.seed import PRIORITIES
from lab.tenants.service import (
    Caller,
    Refusal,
    caller,
    generic_error,
    json_response,
    pick,
    service,
)

SPEC_FILE = Path(__file__).with_name("openapi.yaml")
MEMBER_LIST_FIELDS = ("name", "status", "priority")
MEMBER_FIELDS = ("user_id", "name", "status", "priority")
TICKET_FIELDS = ("ticket_uuid", "title", "status", "priority", "created_at")
SORT_KEYS = frozenset({"name", "status", "priority"})
TICKET_FILTERS = frozenset({"status", "priority"})
EDITABLE = {"status": frozenset({"active", "away"}), "priority": frozenset(PRIORITIES)}
_VULNERABLE_COLUMNS = ("member_id", "tenant", "name", "email", "phone", "role", "is_admin")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(svg|txt|css|png)$")

View = Callable[..., HttpResponse]


def endpoint(view: View) -> View:
    """Answer a ``Refusal`` raised by the view with its response."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Refusal as refusal:
            return refusal.response

    return wrapped


def _names(fields: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """A ProjectionExpression of placeholders for ``fields``, and its attribute names."""
    names = {f"#p{i}": field for i, field in enumerate(fields)}
    return ", ".join(names), names


def _public(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """FIX: the explicit response fields, the UUID under the public key's name."""
    renamed = {"user_id": "member_id", "ticket_uuid": "ticket_id"}
    return {renamed.get(key, key): value for key, value in pick(item, fields).items()}


def _partition(who: Caller, kind: str) -> str:
    return f"{who.tenant}#{kind}"  # FLAW (vulnerable): a client-chosen tenant concatenated


@require_http_methods(["GET"])
@endpoint
def members(request: HttpRequest) -> HttpResponse:
    """The members of the tenant, sorted by ``?sort_key=``."""
    svc, who = service(), caller(request)
    sort_key = request.GET.get("sort_key", "name")
    if svc.secure:
        if sort_key not in SORT_KEYS:  # FIX: an allow-list of sort columns
            return generic_error(400)
        projection, names = _names(MEMBER_LIST_FIELDS)
        rows = svc.table.query(
            KeyConditionExpression=Key("PK").eq(f"{who.token_tenant}#MEMBER"),
            ProjectionExpression=projection,
            ExpressionAttributeNames=names,
        )["Items"]
    else:
        # FLAW: the sort column is copied into ExpressionAttributeNames and projected.
        projection, names = _names(tuple(dict.fromkeys((*_VULNERABLE_COLUMNS, sort_key))))
        rows = svc.table.query(
            KeyConditionExpression=Key("PK").eq(_partition(who, "MEMBER")),
            ProjectionExpression=projection,
            ExpressionAttributeNames=names,
        )["Items"]
    rows.sort(key=lambda row: str(row.get(sort_key, "")))
    return json_response({"members": rows, "count": len(rows)})


@require_http_methods(["GET", "PATCH"])
@endpoint
def member(request: HttpRequest, member_id: str) -> HttpResponse:
    """One member (GET), or a change to one member's fields (PATCH)."""
    svc, who = service(), caller(request)
    if svc.secure:
        if member_id != who.user_id:  # FIX: a member reads and changes only themselves
            return generic_error(404)
        key = _secure_member_key(who)
        if key is None:
            return generic_error(404)
        if request.method == "PATCH":
            return _secure_update(request, key)
        item = svc.table.get_item(Key=key)["Item"]
        return json_response(_public(item, MEMBER_FIELDS))
    key = {"PK": _partition(who, "MEMBER"), "SK": str(int(member_id))}  # FLAW: 500 on "abc"
    if request.method == "PATCH":
        changes = json.loads(request.body or b"{}")
        # FLAW: every field the client sends is written, is_admin and role included, for any
        # member, by any member.
        names = {f"#f{i}": field for i, field in enumerate(changes)}
        values = {f":v{i}": value for i, value in enumerate(changes.values())}
        updated = svc.table.update_item(
            Key=key,
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ConditionExpression="attribute_exists(PK)",
            ReturnValues="ALL_NEW",
        )
        return json_response(updated["Attributes"])
    item = svc.table.get_item(Key=key).get("Item")
    if item is None:
        raise Http404(f"no member {member_id} in tenant {who.tenant}")
    return json_response(item)  # FLAW: the whole record, anyone's, password_hash included


def _secure_member_key(who: Caller) -> dict[str, str] | None:
    svc = service()
    found = svc.table.query(
        KeyConditionExpression=Key("PK").eq(f"{who.token_tenant}#MEMBER"),
        FilterExpression=Attr("user_id").eq(who.user_id),
        ProjectionExpression="PK, SK",
    )["Items"]
    return {"PK": found[0]["PK"], "SK": found[0]["SK"]} if found else None


def _secure_update(request: HttpRequest, key: dict[str, str]) -> HttpResponse:
    """FIX: only allow-listed fields with allow-listed values; names and values bound."""
    try:
        changes = json.loads(request.body)
    except ValueError:
        return generic_error(400)
    if not isinstance(changes, dict) or not changes:
        return generic_error(400)
    for field, value in changes.items():
        if field not in EDITABLE or not isinstance(value, str) or value not in EDITABLE[field]:
            return generic_error(400)
    names = {f"#f{i}": field for i, field in enumerate(changes)}
    values = {f":v{i}": value for i, value in enumerate(changes.values())}
    updated = service().table.update_item(
        Key=key,
        UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(changes))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
    )
    return json_response(_public(updated["Attributes"], MEMBER_FIELDS))


@require_http_methods(["GET"])
@endpoint
def tickets(request: HttpRequest) -> HttpResponse:
    """The tenant's tickets, optionally only those whose ``?field=`` equals ``?value=``."""
    svc, who = service(), caller(request)
    field, value = request.GET.get("field"), request.GET.get("value", "")
    if svc.secure:
        condition = Attr("owner_id").eq(who.user_id)  # FIX: only the caller's tickets
        if field is not None:
            if field not in TICKET_FILTERS:  # FIX: an allow-list of filter fields
                return generic_error(400)
            condition = condition & Attr(field).eq(value)  # names and values bound
        projection, names = _names(TICKET_FIELDS)
        rows = svc.table.query(
            KeyConditionExpression=Key("PK").eq(f"{who.token_tenant}#TICKET"),
            FilterExpression=condition,
            ProjectionExpression=projection,
            ExpressionAttributeNames=names,
        )["Items"]
        public = [_public(row, TICKET_FIELDS) for row in rows]
        return json_response({"tickets": public, "count": len(public)})
    query: dict[str, Any] = {"KeyConditionExpression": Key("PK").eq(_partition(who, "TICKET"))}
    if field is not None:
        # FLAW: the field name is pasted into the filter expression string.
        query["FilterExpression"] = f"{field} = :value"
        query["ExpressionAttributeValues"] = {":value": value}
    rows = svc.table.query(**query)["Items"]
    return json_response({"tickets": rows, "count": len(rows)})  # FLAW: everyone's, whole items


@require_http_methods(["GET"])
@endpoint
def ticket(request: HttpRequest, ticket_id: str) -> HttpResponse:
    """One ticket."""
    svc, who = service(), caller(request)
    if svc.secure:
        if not _UUID.match(ticket_id):  # FIX: UUID keys, not sequential numbers
            return generic_error(404)
        found = svc.table.query(
            KeyConditionExpression=Key("PK").eq(f"{who.token_tenant}#TICKET"),
            FilterExpression=Attr("ticket_uuid").eq(ticket_id) & Attr("owner_id").eq(who.user_id),
        )["Items"]
        if not found:
            return generic_error(404)
        return json_response(_public(found[0], TICKET_FIELDS))
    # FLAW: sequential numbers, no owner check, and int("abc") ends in Django's debug page.
    item = svc.table.get_item(Key={"PK": _partition(who, "TICKET"), "SK": str(int(ticket_id))})
    if "Item" not in item:
        raise Http404(f"no ticket {ticket_id} in tenant {who.tenant}")
    return json_response(item["Item"])


@require_http_methods(["GET", "HEAD"])
def asset(request: HttpRequest, name: str) -> HttpResponse:
    """A static asset of the tenant portal (logo, stylesheet, texts)."""
    svc = service()
    root: FakeRoot = svc.root
    if svc.secure:
        path = root.secure_path(name) if _ASSET_NAME.match(name) else None  # FIX: name + folder
        if path is None:
            return generic_error(404)
    else:
        path = root.vulnerable_path(name)  # FLAW: ../ walks out of the asset folder
        if not path.exists():
            raise Http404(f"asset {name} not found")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return HttpResponse(path.read_bytes(), content_type=content_type)


@require_http_methods(["GET"])
def openapi(request: HttpRequest) -> HttpResponse:
    """The service's OpenAPI document."""
    base_url = f"{request.scheme}://{request.get_host()}"
    return json_response(variant_document(SPEC_FILE, service().secure, base_url))
