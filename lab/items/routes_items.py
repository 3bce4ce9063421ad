"""The items read routes: one item, lists, search, export, the legacy read and the caller."""

from __future__ import annotations

import json
from typing import Annotated, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from lab.items.seed import OWNER_INDEX
from lab.items.seed import item_id as seeded_item_id
from lab.items.service import (
    MAX_PAGE,
    PROJECTION,
    PROJECTION_NAMES,
    Service,
    decode_cursor,
    encode_cursor,
    public_item,
    raw_json,
    valid_item_id,
)

bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearerAuth")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
Limit = Annotated[int, Query(ge=1, description="page size (at most 25)")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
_EXAMPLE_ID = seeded_item_id("alice", 1)
ItemId = Annotated[
    str,
    Path(
        examples=[_EXAMPLE_ID],
        openapi_examples={"alice": {"summary": "one of alice's items", "value": _EXAMPLE_ID}},
    ),
]


class ItemOut(BaseModel):
    """An item as the API documents it."""

    item_id: str
    name: str
    description: str
    price: float
    quantity: int
    tags: list[str]
    created_at: str


class ItemPage(BaseModel):
    """One page of items and the cursor of the next page."""

    items: list[ItemOut]
    next_cursor: str | None = None


class Me(BaseModel):
    """The caller, as the API documents it."""

    user_id: str
    name: str


def build(svc: Service) -> APIRouter:
    """The items router for ``svc``'s variant."""
    router = svc.router(tags=["items"])
    secure = svc.secure

    def own_page(sub: str, limit: int, cursor: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": Key("owner_id").eq(sub),  # FIX: the caller's items only
            "ProjectionExpression": PROJECTION,
            "ExpressionAttributeNames": PROJECTION_NAMES,
            "Limit": min(limit, MAX_PAGE),  # FIX: a clamped page size
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(
                cursor, secure=True, secret=svc.secret, user=sub
            )
        page = svc.items.query(**kwargs)
        return {
            "items": [public_item(i) for i in page["Items"]],
            "next_cursor": encode_cursor(
                page.get("LastEvaluatedKey"), secure=True, secret=svc.secret, user=sub
            ),
        }

    def owned(item_id: str, sub: str) -> dict[str, Any]:
        if not valid_item_id(item_id):
            raise HTTPException(404, "item not found")
        item = svc.items.get_item(Key={"item_id": item_id}).get("Item")
        if item is None or item.get("owner_id") != sub:  # FIX: owner from the verified token
            raise HTTPException(404, "item not found")
        return dict(item)

    if secure:

        @router.get(
            "/items", response_model=ItemPage, summary="List my items", operation_id="list_items"
        )
        def list_own_items(
            request: Request, _: Bearer, limit: Limit = MAX_PAGE, cursor: Cursor = None
        ) -> Any:
            return own_page(svc.caller(request)["sub"], limit, cursor)

    else:

        @router.get(
            "/items", response_model=ItemPage, summary="List my items", operation_id="list_items"
        )
        def list_all_items(request: Request, _: Bearer) -> Any:
            svc.caller(request)
            # FLAW: a Scan of the whole table: every owner, every attribute, no pagination.
            items: list[dict[str, Any]] = []
            page = svc.items.scan()
            items += page["Items"]
            while "LastEvaluatedKey" in page:
                page = svc.items.scan(ExclusiveStartKey=page["LastEvaluatedKey"])
                items += page["Items"]
            return raw_json({"items": items, "next_cursor": None})

    @router.get("/items/{item_id}", response_model=ItemOut, summary="Read one of my items")
    def read_item(
        item_id: ItemId,
        request: Request,
        _: Bearer,
        user_id: Annotated[
            str | None, Query(description="owner of the item (support tools)")
        ] = None,
    ) -> Any:
        claims = svc.caller(request)
        if secure:
            return public_item(owned(item_id, claims["sub"]))  # FIX: user_id is ignored
        item = svc.items.get_item(Key={"item_id": item_id}).get("Item")  # keyed by item_id alone
        owner = user_id or claims["sub"]  # FLAW: the query's user_id replaces the token's owner
        if item is None or item.get("owner_id") != owner:
            raise HTTPException(404, "item not found")
        return raw_json(item)  # FLAW: every attribute, password_hash and ssn included

    @router.get("/search", response_model=ItemPage, summary="Search my items by name prefix")
    def search(
        request: Request,
        _: Bearer,
        prefix: Annotated[str, Query(max_length=80, description="start of the item name")] = "",
        limit: Annotated[str | None, Query(description="page size")] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    ) -> Any:
        claims = svc.caller(request)
        sub = claims["sub"]
        if secure:
            try:
                size = min(max(int(limit or MAX_PAGE), 1), MAX_PAGE)  # FIX: a clamped Limit
            except ValueError as exc:
                raise HTTPException(422, "limit must be an integer") from exc
            start = (
                decode_cursor(cursor, secure=True, secret=svc.secret, user=sub) if cursor else None
            )
            owner = sub
        else:
            size = int(limit or 10)  # FLAW: any Limit; "abc" or "0" end in a 500 with a traceback
            start = decode_cursor(cursor, secure=False, secret="", user=sub) if cursor else None
            owner = start.get("owner_id", sub) if start else sub  # FLAW: the cursor names the owner
        condition = Key("owner_id").eq(owner)
        if prefix:
            condition = condition & Key("name").begins_with(prefix)
        kwargs: dict[str, Any] = {
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": condition,
            "Limit": size,
        }
        if secure:
            kwargs |= {
                "ProjectionExpression": PROJECTION,
                "ExpressionAttributeNames": PROJECTION_NAMES,
            }
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            page = svc.items.query(**kwargs)
        except ClientError as exc:
            if secure:  # FIX: a generic answer; the detail stays in the log
                raise HTTPException(400, "invalid search") from exc
            raise
        next_cursor = encode_cursor(
            page.get("LastEvaluatedKey"), secure=secure, secret=svc.secret, user=sub
        )
        if secure:
            return {"items": [public_item(i) for i in page["Items"]], "next_cursor": next_cursor}
        return raw_json({"items": page["Items"], "next_cursor": next_cursor})

    @router.get(
        "/legacy/items/{item_id}",
        response_model=ItemOut,
        deprecated=True,
        summary="Read an item (v1 mobile app; use GET /items/{item_id})",
    )
    def legacy_item(item_id: ItemId, _: Bearer) -> Any:
        if secure:  # FIX: the retired operation is gone
            raise HTTPException(410, "this operation was retired; use GET /items/{item_id}")
        # FLAW: still live, declared bearerAuth but never checks it, and no owner check at all.
        item = svc.items.get_item(Key={"item_id": item_id}).get("Item")
        if item is None:
            raise HTTPException(404, "item not found")
        return raw_json(item)

    if secure:

        @router.get(
            "/export", response_model=ItemPage, summary="Export my items", operation_id="export"
        )
        def export_own_items(
            request: Request, _: Bearer, limit: Limit = MAX_PAGE, cursor: Cursor = None
        ) -> Any:
            return own_page(svc.caller(request)["sub"], limit, cursor)  # FIX: documented, owned

    else:
        # FLAW: served but missing from the spec.
        @router.get("/export", include_in_schema=False, operation_id="export")
        def export_everything() -> Any:
            # FLAW: no token needed; the low-level Scan output, raw AttributeValues and all.
            page = svc.client.scan(TableName=svc.items_table, Limit=100)
            body = json.dumps({"Items": page["Items"], "Count": page["Count"]})
            return Response(content=body, media_type="application/json")

    @router.get("/users/me", response_model=Me, summary="Who am I")
    def me(request: Request, _: Bearer) -> Any:
        sub = svc.caller(request)["sub"]
        user = svc.users.get_item(Key={"user_id": sub}).get("Item")
        if user is None:
            raise HTTPException(404, "user not found")
        if secure:
            return {"user_id": user["user_id"], "name": user["name"]}  # FIX: explicit fields
        return raw_json(user)  # FLAW: role, is_admin and password_hash in the response

    @router.get("/users", response_model=list[Me], summary="Every account (administrators)")
    def accounts(request: Request, _: Bearer) -> Any:
        # Both variants trust the verified token's role; only the vulnerable verifier lets a
        # caller forge one (alg=none, the dictionary secret), so there a user becomes an admin.
        if svc.caller(request).get("role") != "admin":
            raise HTTPException(403, "administrators only")
        page = svc.users.scan(
            ProjectionExpression="user_id, #n", ExpressionAttributeNames={"#n": "name"}
        )
        return sorted(
            ({"user_id": u["user_id"], "name": u["name"]} for u in page["Items"]),
            key=lambda u: u["user_id"],
        )

    return router
