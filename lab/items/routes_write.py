"""The items write route: ``PATCH /items/{item_id}``, mass assignment and its allow-listed twin."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Annotated, Any

from botocore.exceptions import ClientError
from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from lab.items.routes_items import Bearer, ItemId, ItemOut
from lab.items.service import Service, public_item, raw_json, valid_item_id

NOT_FOUND = "item not found"
_NUMERIC = frozenset({"price", "quantity"})


class ItemUpdate(BaseModel):
    """The fields an owner may change; any other field is refused."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=80)
    description: str | None = Field(None, max_length=500)
    quantity: int | None = Field(None, ge=0, le=100_000)


def _set(fields: dict[str, Any]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """An UpdateExpression with placeholders for every name and value."""
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":v{i}": value for i, value in enumerate(fields.values())}
    expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
    return expression, names, values


def _typed(changes: dict[str, Any]) -> dict[str, Any]:
    """The body as DynamoDB values; numeric columns given as text ("7") are stored as numbers,
    as this service's own answers write them (an ORM would cast them the same way)."""
    values: dict[str, Any] = json.loads(json.dumps(changes), parse_float=Decimal)
    for name in _NUMERIC & set(values):
        if isinstance(values[name], str):
            with contextlib.suppress(ArithmeticError):  # FLAW kept: "abc" is stored as given
                values[name] = Decimal(values[name])
    return values


def build(svc: Service) -> APIRouter:
    """The write router for ``svc``'s variant."""
    router = svc.router(tags=["items"])
    summary = "Update one of my items"

    if svc.secure:

        @router.patch(
            "/items/{item_id}", response_model=ItemOut, summary=summary, operation_id="update_item"
        )
        def update_own_item(
            item_id: ItemId, request: Request, _: Bearer, changes: ItemUpdate
        ) -> Any:
            sub = svc.caller(request)["sub"]
            fields = changes.model_dump(exclude_none=True)  # FIX: an allow-list of fields
            if not valid_item_id(item_id):
                raise HTTPException(404, NOT_FOUND)
            if not fields:
                raise HTTPException(422, "nothing to change")
            expression, names, values = _set(fields)
            try:
                done = svc.items.update_item(
                    Key={"item_id": item_id},
                    UpdateExpression=expression,
                    ConditionExpression="#owner = :owner",  # FIX: the owner from the token
                    ExpressionAttributeNames={**names, "#owner": "owner_id"},
                    ExpressionAttributeValues={**values, ":owner": sub},
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                raise HTTPException(404, NOT_FOUND) from exc
            return public_item(done["Attributes"])

    else:

        @router.patch(
            "/items/{item_id}", response_model=ItemOut, summary=summary, operation_id="update_item"
        )
        def update_any_item(
            item_id: ItemId,
            request: Request,
            _: Bearer,
            changes: Annotated[dict[str, Any], Body(examples=[{"quantity": 3}])],
        ) -> Any:
            svc.caller(request)
            # FLAW: no owner check, and every field of the body is written (is_admin, owner_id…).
            if not changes or "item_id" in changes:
                raise HTTPException(422, "nothing to change")
            expression, names, values = _set(_typed(changes))
            try:
                done = svc.items.update_item(
                    Key={"item_id": item_id},
                    UpdateExpression=expression,
                    ConditionExpression="attribute_exists(#id)",
                    ExpressionAttributeNames={**names, "#id": "item_id"},
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                raise HTTPException(404, NOT_FOUND) from exc
            return raw_json(done["Attributes"])

    return router
