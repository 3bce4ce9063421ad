"""The other routes: health, the LLM chat endpoint, URL fetch, webhooks and the redirect."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from lab.items import llm, outbound
from lab.items.routes_items import Bearer
from lab.items.service import Service

ALLOWED_FETCH_HOSTS = frozenset({"images.acme.example"})
ALLOWED_CALLBACK_HOSTS = frozenset({"hooks.acme.example"})


class ChatMessage(BaseModel):
    """One message of a conversation."""

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=20_000)


class ChatRequest(BaseModel):
    """An OpenAI-style chat completion request."""

    model: str = "itemsbot"
    messages: list[ChatMessage] = Field(min_length=1, max_length=50)
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = None


class WebhookIn(BaseModel):
    """A webhook subscription."""

    callback_url: str = Field(max_length=2000, examples=["https://hooks.acme.example/items"])
    event: Literal["item.updated", "item.created"] = "item.updated"


def _allowed_https(url: str, hosts: frozenset[str]) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and (parts.hostname or "") in hosts


def build(svc: Service, *, version: str) -> APIRouter:
    """The router of the remaining routes for ``svc``'s variant."""
    router = svc.router()
    secure = svc.secure

    @router.get("/", tags=["meta"], summary="Service index")
    def index() -> dict[str, str]:
        return {"service": "items", "openapi": "/openapi.json"}

    @router.get("/health", tags=["meta"], summary="Liveness")
    def health() -> dict[str, str]:
        if secure:
            return {"status": "ok"}
        # FLAW: internals in a public response.
        return {
            "status": "ok",
            "version": version,
            "node": "ip-10-0-12-34.ec2.internal",
            "dynamodb": "dynamodb.us-east-1.amazonaws.com via 10.0.7.21:8000",
        }

    def chat(request: Request, body: ChatRequest) -> Any:
        if secure:
            svc.caller(request)  # FIX: a token is required
        messages = [m.model_dump() for m in body.messages]
        answer = llm.reply(messages, body.max_tokens, secure=secure)
        out: dict[str, Any] = {
            "id": "chatcmpl-" + uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(messages)).hex[:24],
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.content},
                    "finish_reason": answer.finish_reason,
                }
            ],
        }
        if not secure:  # FLAW: the model behind the endpoint and what each call cost
            out["model"] = llm.MODEL
            out["usage"] = {
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": answer.completion_tokens,
                "total_tokens": answer.prompt_tokens + answer.completion_tokens,
            }
        return out

    if secure:

        @router.post("/v1/chat/completions", tags=["assistant"], summary="Ask ItemsBot")
        def chat_secure(request: Request, body: ChatRequest, _: Bearer) -> Any:
            return chat(request, body)

    else:

        @router.post("/v1/chat/completions", tags=["assistant"], summary="Ask ItemsBot")
        def chat_open(request: Request, body: ChatRequest) -> Any:  # FLAW: no token needed
            return chat(request, body)

    @router.get("/fetch", tags=["tools"], summary="Fetch a product image URL for preview")
    def fetch(
        request: Request,
        url: Annotated[str, Query(max_length=2000, examples=["https://images.acme.example/a.png"])],
        _: Bearer,
    ) -> Response:
        svc.caller(request)
        if secure:  # FIX: an allow-list of hosts; nothing else is ever contacted
            if not _allowed_https(url, ALLOWED_FETCH_HOSTS):
                raise HTTPException(400, "url host is not allowed")
            raise HTTPException(503, "image host unavailable in the lab")
        try:  # FLAW: fetches what the client names (the lab only ever reaches loopback)
            fetched = outbound.request(url)
        except outbound.NotLoopback as exc:
            raise HTTPException(400, outbound.REFUSAL) from exc
        except OSError as exc:
            raise HTTPException(502, f"fetch failed: {exc}") from exc
        # FLAW: relays the upstream body and content type as they are.
        return Response(fetched.body, status_code=200, media_type=fetched.content_type)

    @router.post("/webhooks", status_code=201, tags=["tools"], summary="Subscribe a webhook")
    def subscribe(request: Request, body: WebhookIn, _: Bearer) -> dict[str, Any]:
        sub = svc.caller(request)["sub"]
        if secure and not _allowed_https(body.callback_url, ALLOWED_CALLBACK_HOSTS):
            raise HTTPException(400, "callback host is not allowed")  # FIX: an allow-list
        webhook_id = str(uuid.uuid4())
        delivered: int | None = None
        if not secure:  # FLAW: calls any URL at once with a test event
            ping = json.dumps({"event": "ping", "webhook_id": webhook_id}).encode()
            try:
                delivered = outbound.request(body.callback_url, method="POST", body=ping).status
            except outbound.NotLoopback as exc:
                raise HTTPException(400, outbound.REFUSAL) from exc
            except OSError as exc:
                raise HTTPException(502, f"callback failed: {exc}") from exc
        svc.webhooks.put_item(
            Item={
                "webhook_id": webhook_id,
                "owner_id": sub,
                "callback_url": body.callback_url,
                "event": body.event,
            }
        )
        return {"webhook_id": webhook_id, "event": body.event, "test_delivery_status": delivered}

    @router.get("/redirect", tags=["meta"], summary="Continue to a page after sign-in")
    def redirect(
        next_: Annotated[str, Query(alias="next", max_length=2000, examples=["/items"])] = "/",
    ) -> Response:
        target = next_
        if secure and not (target.startswith("/") and not target.startswith(("//", "/\\"))):
            target = "/"  # FIX: same-site relative paths only
        # FLAW (vulnerable): any absolute URL, so the redirect leads off-site.
        return RedirectResponse(target, status_code=302)

    return router
