"""Routes a scanner must not misuse: the traps of a real API, in both twins.

- ``GET /maintenance/reset``: a state-changing GET (the caller's items' quantities go to 0);
- ``GET /referral-code``: a state-changing GET that says so only in its summary and
  description ("Get or create …"): the first call stores a code on the caller's profile;
- ``GET /auth/logout``: signs the caller's token out (every later request with it: 401);
- ``PATCH /users/me``: the caller's own profile; the vulnerable twin writes every field, and a
  ``role`` other than the token's breaks every later request of that user (500), as on the
  real API this copies;
- ``POST /items/{item_id}/publish``: puts an item in the public catalogue (cannot be undone);
- ``POST /invitations``: invites a colleague: a mail in the outbox table (cannot be undone);
- ``GET``/``PATCH /settings``: the organisation's settings (administrators change them);
- ``GET``/``POST /prompts``, ``GET``/``DELETE /prompts/{prompt_id}``: saved prompt templates, a
  free-text collection that is not an AI endpoint;
- ``DELETE /webhooks/{webhook_id}``: removes a subscription (how an active scan cleans up).

Nothing here is a flaw the ground truth lists except the vulnerable profile write; the lab
tests prove the scanner calls none of the traps it must not call.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Annotated, Any

from boto3.dynamodb.conditions import Attr, Key
from fastapi import Body, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from lab.items.routes_items import Bearer, ItemId
from lab.items.seed import OWNER_INDEX
from lab.items.service import Service, raw_json, token_hash


class ProfileUpdate(BaseModel):
    """FIX: the one field a user may change on their own profile."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)


class Invitation(BaseModel):
    """A colleague to invite."""

    email: str = Field(max_length=200, examples=["new.colleague@acme.example"])


class SettingsUpdate(BaseModel):
    """What an administrator may change in the organisation's settings."""

    model_config = ConfigDict(extra="forbid")

    signup_open: bool | None = None
    sso_required: bool | None = None
    welcome_email: str | None = Field(None, max_length=2000)


class PromptIn(BaseModel):
    """A saved prompt template (text kept for later; nothing is generated here)."""

    name: str = Field(min_length=1, max_length=80, examples=["weekly summary"])
    prompt: str = Field(max_length=4000, examples=["Summarise this week's stock changes."])
    model: str = Field("itemsbot", max_length=80)


def build(svc: Service) -> Any:
    """The router of the traps for ``svc``'s variant."""
    router = svc.router()
    tables = svc.tables

    @router.get("/maintenance/reset", tags=["meta"], summary="Reset the demo data")
    def reset(request: Request, _: Bearer) -> dict[str, Any]:
        sub = svc.caller(request)["sub"]
        found = svc.items.query(
            IndexName=OWNER_INDEX, KeyConditionExpression=Key("owner_id").eq(sub)
        )
        for item in found["Items"]:
            svc.items.update_item(
                Key={"item_id": item["item_id"]},
                UpdateExpression="SET quantity = :zero",
                ExpressionAttributeValues={":zero": Decimal(0)},
            )
        return {"reset": len(found["Items"])}

    @router.get(
        "/referral-code",
        tags=["team"],
        summary="Get or create my referral code",
        description="Returns the caller's referral code, creating one if the caller has none.",
    )
    def referral_code(request: Request, _: Bearer) -> dict[str, Any]:
        sub = svc.caller(request)["sub"]
        user = svc.users.get_item(Key={"user_id": sub}).get("Item", {})
        code = user.get("referral_code")
        if code is None:  # the write a GET should not do, as the real API this copies
            code = uuid.uuid4().hex[:8]
            svc.users.update_item(
                Key={"user_id": sub},
                UpdateExpression="SET referral_code = :c",
                ExpressionAttributeValues={":c": code},
            )
        return {"referral_code": code}

    @router.get("/auth/logout", tags=["auth"], summary="Sign out")
    def logout(request: Request, _: Bearer) -> dict[str, Any]:
        sub = svc.caller(request)["sub"]
        signed_out = token_hash(request)
        tables["revoked"].put_item(Item={"token_hash": signed_out, "user_id": sub})
        svc.revoked.add(signed_out)
        return {"signed_out": True}

    if svc.secure:

        @router.patch("/users/me", tags=["items"], summary="Change my name")
        def update_me(request: Request, _: Bearer, changes: ProfileUpdate) -> Any:
            sub = svc.caller(request)["sub"]
            svc.users.update_item(
                Key={"user_id": sub},
                UpdateExpression="SET #n = :n",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={":n": changes.name},
            )
            return {"user_id": sub, "name": changes.name}

    else:

        @router.patch("/users/me", tags=["items"], summary="Change my profile")
        def update_any_field_of_me(
            request: Request,
            _: Bearer,
            changes: Annotated[dict[str, Any], Body(examples=[{"name": "Alice"}])],
        ) -> Any:
            claims = svc.caller(request)
            changes = {k: v for k, v in changes.items() if k != "user_id"}
            if not changes:
                raise HTTPException(422, "nothing to change")
            # FLAW: every field of the body is written to the caller's own profile, role too.
            values = json.loads(json.dumps(changes), parse_float=Decimal)
            names = {f"#f{i}": name for i, name in enumerate(values)}
            done = svc.users.update_item(
                Key={"user_id": claims["sub"]},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(names))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={f":v{i}": v for i, v in enumerate(values.values())},
                ReturnValues="ALL_NEW",
            )
            if done["Attributes"].get("role") != claims.get("role"):
                svc.broken.add(claims["sub"])
            return raw_json(done["Attributes"])

    @router.post("/items/{item_id}/publish", tags=["items"], summary="Publish an item")
    def publish(item_id: ItemId, request: Request, _: Bearer) -> dict[str, Any]:
        sub = svc.caller(request)["sub"]
        item = svc.items.get_item(Key={"item_id": item_id}).get("Item")
        if item is None or item.get("owner_id") != sub:
            raise HTTPException(404, "item not found")
        tables["published"].put_item(Item={"item_id": item_id, "owner_id": sub})
        return {"item_id": item_id, "published": True}

    @router.post("/invitations", status_code=202, tags=["team"], summary="Invite a colleague")
    def invite(request: Request, _: Bearer, invitation: Invitation) -> dict[str, Any]:
        sub = svc.caller(request)["sub"]
        message_id = str(uuid.uuid4())
        tables["outbox"].put_item(
            Item={
                "message_id": message_id,
                "to": invitation.email,
                "from_user": sub,
                "subject": "You are invited to Acme Items",
            }
        )
        return {"message_id": message_id, "queued": True}

    @router.get("/settings", tags=["team"], summary="The organisation's settings")
    def settings(request: Request, _: Bearer) -> Any:
        svc.caller(request)
        return tables["settings"].get_item(Key={"org": "acme"}).get("Item", {})

    @router.patch("/settings", tags=["team"], summary="Change the organisation's settings")
    def update_settings(request: Request, _: Bearer, changes: SettingsUpdate) -> Any:
        if svc.caller(request).get("role") != "admin":
            raise HTTPException(403, "administrators only")
        fields = changes.model_dump(exclude_none=True)
        if not fields:
            raise HTTPException(422, "nothing to change")
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        done = tables["settings"].update_item(
            Key={"org": "acme"},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(names))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":v{i}": v for i, v in enumerate(fields.values())},
            ReturnValues="ALL_NEW",
        )
        return done["Attributes"]

    @router.get("/prompts", tags=["prompts"], summary="My saved prompts")
    def prompts(request: Request, _: Bearer) -> Any:
        sub = svc.caller(request)["sub"]
        return tables["prompts"].scan(FilterExpression=Attr("owner_id").eq(sub))["Items"]

    @router.post("/prompts", status_code=201, tags=["prompts"], summary="Save a prompt")
    def save_prompt(request: Request, _: Bearer, prompt: PromptIn) -> Any:
        sub = svc.caller(request)["sub"]
        item = {"prompt_id": str(uuid.uuid4()), "owner_id": sub, **prompt.model_dump()}
        tables["prompts"].put_item(Item=item)
        return item

    def own_prompt(request: Request, prompt_id: str) -> dict[str, Any]:
        sub = svc.caller(request)["sub"]
        item = tables["prompts"].get_item(Key={"prompt_id": prompt_id}).get("Item")
        if item is None or item.get("owner_id") != sub:
            raise HTTPException(404, "prompt not found")
        return dict(item)

    @router.get("/prompts/{prompt_id}", tags=["prompts"], summary="One saved prompt")
    def prompt(prompt_id: str, request: Request, _: Bearer) -> Any:
        return own_prompt(request, prompt_id)

    @router.delete(
        "/prompts/{prompt_id}", status_code=204, tags=["prompts"], summary="Forget a prompt"
    )
    def forget_prompt(prompt_id: str, request: Request, _: Bearer) -> Response:
        own_prompt(request, prompt_id)
        tables["prompts"].delete_item(Key={"prompt_id": prompt_id})
        return Response(status_code=204)

    @router.delete(
        "/webhooks/{webhook_id}", status_code=204, tags=["tools"], summary="Unsubscribe a webhook"
    )
    def unsubscribe(webhook_id: str, request: Request, _: Bearer) -> Response:
        sub = svc.caller(request)["sub"]
        hook = svc.webhooks.get_item(Key={"webhook_id": webhook_id}).get("Item")
        if hook is None or hook.get("owner_id") != sub:
            raise HTTPException(404, "webhook not found")
        svc.webhooks.delete_item(Key={"webhook_id": webhook_id})
        return Response(status_code=204)

    return router
