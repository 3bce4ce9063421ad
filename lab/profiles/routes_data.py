"""The profiles service's DynamoDB routes: profile, wallet, user search, orders, items by table.

Every deliberate flaw is marked ``# FLAW:`` and its fix ``# FIX:``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError
from flask import Blueprint, request

from lab.profiles.partiql import execute_select
from lab.profiles.seed import ORDER_STATUSES, wallet_card
from lab.profiles.service import LOG, caller, generic_error, json_response, pick, service

blueprint = Blueprint("profiles_data", __name__)

PROFILE_FIELDS = ("id", "name", "tenant")
DIRECTORY_FIELDS = ("name",)
ORDER_FIELDS = ("id", "status", "total", "currency", "created_at")
ITEM_TABLES = frozenset({"orders"})
MAX_ORDERS = 50
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@blueprint.get("/api/profile")
def profile() -> Any:
    """The caller's profile."""
    svc, who = service(), caller()
    item = svc.users.get_item(Key={"id": who.user_id}).get("Item")
    if item is None:
        return generic_error(404) if svc.secure else json_response({"error": "no such user"}, 404)
    if svc.secure:
        return json_response(pick(item, PROFILE_FIELDS))  # FIX: explicit response fields
    return json_response(item)  # FLAW: the whole item, password_hash and ssn included


@blueprint.get("/api/wallets/<holder>")
def wallet(holder: str) -> Any:
    """The card on file of the user ``holder`` (the spec links it from the profile's ``id``)."""
    svc = service()
    if svc.secure:
        who = caller()
        if holder != who.user_id:  # FIX: only the caller's own wallet, from the verified token
            return generic_error(404)
        card = wallet_card(holder)
        return json_response({"holder": holder, "brand": "visa", "last4": card[-4:]})  # FIX
    # FLAW: no caller at all: anyone, even without a token, reads any holder's wallet.
    if svc.users.get_item(Key={"id": holder}).get("Item") is None:
        return json_response({"error": f"no wallet for {holder}"}, 404)
    # FLAW: the whole card number goes out.
    return json_response({"holder": holder, "brand": "visa", "card_number": wallet_card(holder)})


@blueprint.get("/api/users/search")
def search_users() -> Any:
    """Users matching a filter such as ``{"email": {"ComparisonOperator": "EQ", …}}``."""
    svc, who = service(), caller()
    raw = request.args.get("filter", "")
    if svc.secure:
        email = _email_filter(raw)
        if email is None or who.tenant is None:
            return generic_error(400)
        # FIX: one fixed attribute and operator, the value bound, the tenant from the token.
        found = svc.users.scan(
            FilterExpression=Attr("email").eq(email) & Attr("tenant").eq(who.tenant),
            ProjectionExpression="#n",
            ExpressionAttributeNames={"#n": "name"},
        )["Items"]
        return json_response({"users": [pick(item, DIRECTORY_FIELDS) for item in found]})
    # FLAW: the legacy ScanFilter comes from the client, ComparisonOperator and all.
    scan_filter = json.loads(raw) if raw else {}
    try:
        found = svc.users.scan(ScanFilter=scan_filter)["Items"]
    except ClientError as exc:  # FLAW: DynamoDB's own message goes back to the client
        return json_response({"error": str(exc)}, 400)
    return json_response({"users": found, "count": len(found)})  # FLAW: whole items


def _email_filter(raw: str) -> str | None:
    """FIX: accept only ``{"email": {"ComparisonOperator": "EQ", "AttributeValueList": [s]}}``.

    Returns the e-mail address ``s``, or None for anything else.
    """
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or set(data) != {"email"} or not isinstance(data["email"], dict):
        return None
    condition = data["email"]
    values = condition.get("AttributeValueList")
    if set(condition) != {"ComparisonOperator", "AttributeValueList"}:
        return None
    if condition["ComparisonOperator"] != "EQ" or not isinstance(values, list) or len(values) != 1:
        return None
    value = values[0]
    return value if isinstance(value, str) and 0 < len(value) <= 254 else None


@blueprint.get("/api/orders")
def orders() -> Any:
    """The caller's orders, optionally only those with ``status``."""
    svc, who = service(), caller()
    status = request.args.get("status", "open")
    if svc.secure:
        limit_text = request.args.get("limit", "20")
        if status not in ORDER_STATUSES or not limit_text.isdigit():  # FIX: allow-list, int
            return generic_error(400)
        limit = max(1, min(int(limit_text), MAX_ORDERS))  # FIX: clamped page size
        statement = (
            f'SELECT id, status, total, currency, created_at FROM "{svc.orders_table}" '
            "WHERE owner_id = ? AND status = ?"
        )  # FIX: every value a parameter, only the public columns
        rows = execute_select(svc.resource, statement, [who.user_id, status])
        return json_response({"orders": [pick(row, ORDER_FIELDS) for row in rows[:limit]]})
    limit = int(request.args.get("limit", "20"))  # FLAW: "abc" ends in a 500 with the cause
    # FLAW: the statement is an f-string; a quote in status rewrites the WHERE clause.
    statement = (
        f"SELECT * FROM \"{svc.orders_table}\" WHERE owner_id = '{who.user_id}' "
        f"AND status = '{status}'"
    )
    try:
        rows = execute_select(svc.resource, statement)
    except ClientError as exc:  # FLAW: DynamoDB's message and the statement go back
        return json_response({"error": str(exc), "statement": statement}, 400)
    return json_response({"orders": rows[:limit], "count": len(rows)})  # FLAW: whole items


@blueprint.get("/items/<table_name>/<item_id>")
def item_by_table(table_name: str, item_id: str) -> Any:
    """One item of one of the service's tables, if it belongs to the caller."""
    svc, who = service(), caller()
    if svc.secure:
        # FIX: an allow-list of tables, UUID keys, the owner from the verified token.
        if table_name not in ITEM_TABLES or not _UUID.match(item_id):
            return generic_error(404)
        item = svc.orders.get_item(Key={"id": item_id}).get("Item")
        if item is None or item.get("owner_id") != who.user_id:
            return generic_error(404)
        return json_response(pick(item, ORDER_FIELDS))
    try:
        # FLAW: the URL names the table.
        table = svc.resource.Table(f"{svc.table_prefix}{table_name}")
        item = table.get_item(Key={"id": item_id}).get("Item")
    except ClientError as exc:  # FLAW: DynamoDB's message goes back to the client
        error = exc.response.get("Error", {})
        return json_response({"error": error.get("Message"), "code": error.get("Code")}, 400)
    if item is None:
        return json_response({"error": f"no item {item_id} in {table_name}"}, 404)
    owner = item.get("owner_id", item.get("id"))
    if owner != who.user_id:  # FLAW: who.user_id came from the X-User-ID header
        return json_response({"error": "not your item"}, 403)
    return json_response(item)


def log_and_hide(exc: Exception) -> Any:
    """FIX: log the detail, answer a generic 500."""
    LOG.error("unhandled error", exc_info=exc)
    return json_response({"error": "internal error"}, 500)
