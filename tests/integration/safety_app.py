"""A permissive API for the safety tests: it accepts every method, records every request, and
keeps its state in one dict a test can snapshot before and after a scan.

Besides ordinary objects (items, notes, webhooks) it has every trap of the safety issue: a
state-changing GET (``/admin/reset``), a logout GET (``/auth/logout``) that revokes the token,
a privilege field on the caller's own profile (``PATCH /me``; a changed ``role`` breaks every
later request of that user with a 500), a publish operation, an invitation that sends mail to
an outbox, an organisation-wide setting, a free-text collection (``/notes``) that is not an AI
endpoint, and a chat endpoint that is one.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKENS = {"alice-token-0001": "u-alice", "bob-token-0002": "u-bob"}
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _seed() -> dict[str, Any]:
    return {
        "items": {
            "i-1": {"item_id": "i-1", "owner_id": "u-alice", "name": "kit", "quantity": 3},
            "i-2": {"item_id": "i-2", "owner_id": "u-bob", "name": "box", "quantity": 5},
        },
        "profiles": {
            "u-alice": {"user_id": "u-alice", "name": "Alice", "email": "a@x.test", "role": "user"},
            "u-bob": {"user_id": "u-bob", "name": "Bob", "email": "b@x.test", "role": "user"},
        },
        "notes": {},
        "webhooks": {},
        "settings": {"signup_open": True, "welcome_email": "Welcome!"},
        "outbox": [],
        "published": [],
        "revoked": [],
        "resets": 0,
    }


@dataclass
class Recorder:
    """What the app received, and its state."""

    state: dict[str, Any] = field(default_factory=_seed)
    seen: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, user
    break_after: int | None = None  # answer 500 to alice after this many of her requests
    broken: set[str] = field(default_factory=set)  # users whose every request answers 500

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the state, to compare before and after a scan."""
        return copy.deepcopy(self.state)

    def writes(self) -> list[tuple[str, str]]:
        """Every request that was not a GET, HEAD or OPTIONS."""
        return [(m, p) for m, p, _ in self.seen if m not in READS]


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "safety traps", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/items": {
            "get": {"summary": "List my items", "responses": {"200": {"description": "ok"}}}
        },
        "/items/{item_id}": {
            "parameters": [{"name": "item_id", "in": "path", "required": True}],
            "get": {"summary": "Read an item", "responses": {"200": {"description": "ok"}}},
            "patch": {
                "summary": "Update an item",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "additionalProperties": True},
                            "example": {"name": "kit"},
                        }
                    }
                },
                "responses": {"200": {"description": "ok"}},
            },
            "delete": {"summary": "Delete an item", "responses": {"204": {"description": "ok"}}},
        },
        "/items/{item_id}/publish": {
            "parameters": [{"name": "item_id", "in": "path", "required": True}],
            "post": {"summary": "Publish an item", "responses": {"200": {"description": "ok"}}},
        },
        "/notes": {
            "get": {"summary": "List notes", "responses": {"200": {"description": "ok"}}},
            "post": {
                "summary": "Write a note",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"text": {"type": "string"}},
                            },
                            "example": {"text": "hello"},
                        }
                    }
                },
                "responses": {"201": {"description": "created"}},
            },
        },
        "/notes/{note_id}": {
            "parameters": [{"name": "note_id", "in": "path", "required": True}],
            "get": {"summary": "Read a note", "responses": {"200": {"description": "ok"}}},
            "delete": {"summary": "Remove a note", "responses": {"204": {"description": "ok"}}},
        },
        "/webhooks": {
            "post": {
                "summary": "Subscribe a webhook",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"callback_url": {"type": "string"}},
                            }
                        }
                    }
                },
                "responses": {"201": {"description": "subscribed"}},
            }
        },
        "/webhooks/{webhook_id}": {
            "parameters": [{"name": "webhook_id", "in": "path", "required": True}],
            "delete": {"summary": "Unsubscribe", "responses": {"204": {"description": "ok"}}},
        },
        "/invitations": {
            "post": {
                "summary": "Invite a colleague by e-mail",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"email": {}}},
                            "example": {"email": "new@x.test"},
                        }
                    }
                },
                "responses": {"202": {"description": "sent"}},
            }
        },
        "/settings": {
            "get": {
                "summary": "Organisation settings",
                "responses": {"200": {"description": "ok"}},
            },
            "patch": {
                "summary": "Change organisation settings",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "ok"}},
            },
        },
        "/me": {
            "get": {"summary": "My profile", "responses": {"200": {"description": "ok"}}},
            "patch": {
                "summary": "Change my profile",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "additionalProperties": True}
                        }
                    }
                },
                "responses": {"200": {"description": "ok"}},
            },
        },
        "/admin/reset": {
            "get": {"summary": "Reset the demo data", "responses": {"200": {"description": "ok"}}}
        },
        "/auth/logout": {
            "get": {"summary": "Sign out", "responses": {"200": {"description": "ok"}}}
        },
        "/v1/chat/completions": {
            "post": {
                "summary": "Ask the assistant",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "model": {"type": "string"},
                                    "messages": {
                                        "type": "array",
                                        "items": {
                                            "properties": {"role": {}, "content": {}},
                                        },
                                    },
                                    "max_tokens": {"type": "integer"},
                                },
                            }
                        }
                    }
                },
                "responses": {"200": {"description": "ok"}},
            }
        },
    },
}


def make_app(recorder: Recorder) -> web.Application:
    """The app over ``recorder``'s state."""
    state = recorder.state
    counted: dict[str, int] = {}

    def user(request: web.Request) -> str:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in TOKENS or token in state["revoked"]:
            raise web.HTTPUnauthorized(text='{"error": "sign in"}', content_type="application/json")
        who = TOKENS[token]
        counted[who] = counted.get(who, 0) + 1
        late = recorder.break_after is not None and counted[who] > recorder.break_after
        if who in recorder.broken or (who == "u-alice" and late):
            raise web.HTTPInternalServerError(text='{"error": "internal"}')
        return who

    def answer(data: Any, status: int = 200) -> web.Response:
        return web.json_response(data, status=status)

    async def body(request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text='{"error": "json"}') from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text='{"error": "object"}')
        return data

    async def items(request: web.Request) -> web.Response:
        me = user(request)
        return answer([i for i in state["items"].values() if i["owner_id"] == me])

    async def item(request: web.Request) -> web.Response:
        user(request)
        key = request.match_info["item_id"]
        if key not in state["items"]:
            return answer({"error": "no such item"}, 404)
        if request.method == "PATCH":
            state["items"][key].update(await body(request))
        elif request.method == "DELETE":
            del state["items"][key]
            return web.Response(status=204)
        return answer(state["items"][key])

    async def publish(request: web.Request) -> web.Response:
        user(request)
        state["published"].append(request.match_info["item_id"])
        return answer({"published": True})

    async def notes(request: web.Request) -> web.Response:
        me = user(request)
        if request.method == "POST":
            key = f"n-{len(state['notes']) + 1}"
            while key in state["notes"]:
                key += "x"
            state["notes"][key] = {"note_id": key, "owner_id": me, **(await body(request))}
            return answer(state["notes"][key], 201)
        return answer(list(state["notes"].values()))

    async def note(request: web.Request) -> web.Response:
        user(request)
        key = request.match_info["note_id"]
        if key not in state["notes"]:
            return answer({"error": "no such note"}, 404)
        if request.method == "DELETE":
            del state["notes"][key]
            return web.Response(status=204)
        return answer(state["notes"][key])

    async def webhooks(request: web.Request) -> web.Response:
        user(request)
        key = f"w-{len(state['webhooks']) + 1}"
        while key in state["webhooks"]:
            key += "x"
        state["webhooks"][key] = {"webhook_id": key, **(await body(request))}
        return answer(state["webhooks"][key], 201)

    async def webhook(request: web.Request) -> web.Response:
        user(request)
        if state["webhooks"].pop(request.match_info["webhook_id"], None) is None:
            return answer({"error": "no such webhook"}, 404)
        return web.Response(status=204)

    async def invitations(request: web.Request) -> web.Response:
        user(request)
        state["outbox"].append(await body(request))
        return answer({"sent": True}, 202)

    async def settings(request: web.Request) -> web.Response:
        user(request)
        if request.method == "PATCH":
            state["settings"].update(await body(request))
        return answer(state["settings"])

    async def me(request: web.Request) -> web.Response:
        who = user(request)
        profile = state["profiles"][who]
        if request.method == "PATCH":
            profile.update(await body(request))
            if profile["role"] != "user":
                recorder.broken.add(who)
        return answer(profile)

    async def reset(request: web.Request) -> web.Response:
        user(request)
        state["resets"] += 1
        state["notes"].clear()
        return answer({"reset": True})

    async def logout(request: web.Request) -> web.Response:
        user(request)
        state["revoked"].append(request.headers.get("Authorization", "").removeprefix("Bearer "))
        return answer({"signed_out": True})

    async def chat(request: web.Request) -> web.Response:
        user(request)
        messages = (await body(request)).get("messages") or [{}]
        text = str(messages[-1].get("content", ""))
        reply = {"role": "assistant", "content": f"I can help with items. You said: {text[:40]}"}
        return answer({"choices": [{"index": 0, "message": reply}], "model": "helper-1"})

    async def index(request: web.Request) -> web.Response:
        links = ["/items", "/notes", "/settings", "/me", "/admin/reset", "/auth/logout"]
        return answer({"service": "traps", "links": links})

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(SPEC), content_type="application/json")

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        recorder.seen.append((request.method, request.path, TOKENS.get(token)))
        return await handler(request)  # type: ignore[no-any-return]

    app = web.Application(middlewares=[record])
    routes = [
        ("/", index, ("GET",)),
        ("/openapi.json", openapi, ("GET",)),
        ("/items", items, ("GET",)),
        ("/items/{item_id}", item, ("GET", "PATCH", "DELETE")),
        ("/items/{item_id}/publish", publish, ("POST",)),
        ("/notes", notes, ("GET", "POST")),
        ("/notes/{note_id}", note, ("GET", "DELETE")),
        ("/webhooks", webhooks, ("POST",)),
        ("/webhooks/{webhook_id}", webhook, ("DELETE",)),
        ("/invitations", invitations, ("POST",)),
        ("/settings", settings, ("GET", "PATCH")),
        ("/me", me, ("GET", "PATCH")),
        ("/admin/reset", reset, ("GET",)),
        ("/auth/logout", logout, ("GET",)),
        ("/v1/chat/completions", chat, ("POST",)),
    ]
    for path, handler, methods in routes:
        for method in methods:
            app.router.add_route(method, path, handler)
    return app
