"""A tiny API whose vulnerable and fixed variants differ by one flag, for end-to-end scans."""

from __future__ import annotations

import json
import time

from aiohttp import web

TOKEN = "s3cr3t-token-for-tests-0001"
LIMIT = 20_000  # requests per minute the fixed twin allows (many test scans share one)

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "twin", "version": "1.0.0"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/users": {
            "get": {
                "summary": "Search users by name",
                "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "users"}},
            }
        },
        "/users/{user_id}": {
            "get": {
                "parameters": [
                    {
                        "name": "user_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"200": {"description": "one user"}},
            }
        },
        "/orders": {
            "get": {
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string"},
                        "example": "open",
                    }
                ],
                "responses": {"200": {"description": "orders"}},
            }
        },
        "/health": {"get": {"security": [], "responses": {"200": {"description": "ok"}}}},
    },
}

USERS = [
    {"id": "u-1", "name": "Alice", "email": "alice@example.org"},
    {"id": "u-2", "name": "Bob", "email": "bob@example.org"},
]


def make_app(*, vulnerable: bool) -> web.Application:
    """The twin app: ``vulnerable=True`` carries every flaw the first three categories look for."""

    def authorised(request: web.Request) -> bool:
        return vulnerable or request.headers.get("Authorization") == f"Bearer {TOKEN}"

    def deny() -> web.Response:
        return web.json_response(
            {"detail": "authentication required"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="twin"'},
        )

    async def users(request: web.Request) -> web.Response:
        if not authorised(request):
            return deny()
        body = USERS if vulnerable else [{"id": u["id"], "name": u["name"]} for u in USERS]
        return web.json_response(body)

    async def user(request: web.Request) -> web.Response:
        if not authorised(request):
            return deny()
        found = next((u for u in USERS if u["id"] == request.match_info["user_id"]), None)
        if found is None:
            return web.json_response({"detail": "not found"}, status=404)
        if vulnerable:
            return web.json_response({**found, "aws_key": "AKIAZ4R7QW2XK5N3LM6P"})
        return web.json_response({"id": found["id"], "name": found["name"]})

    async def orders(request: web.Request) -> web.Response:
        if not authorised(request):
            return deny()
        if vulnerable:
            text = (
                "An error occurred (ValidationException) when calling the Query operation: "
                'Invalid KeyConditionExpression: Syntax error; token: "\'", near: "= \'"'
            )
            return web.json_response({"error": text}, status=500)
        return web.json_response({"error": "internal error"}, status=500)

    async def health(request: web.Request) -> web.Response:
        response = web.json_response({"status": "ok"})
        if vulnerable:
            response.headers["Set-Cookie"] = "session=abc123; Path=/"
        else:
            response.headers["Set-Cookie"] = (
                "session=abc123; Path=/; Secure; HttpOnly; SameSite=Strict"
            )
        return response

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(SPEC), content_type="application/json")

    window = {"started": time.monotonic(), "used": 0.0}

    @web.middleware
    async def hardening(request: web.Request, handler):  # type: ignore[no-untyped-def]
        if not vulnerable:  # a real fixed-window limit, announced in RateLimit-* headers
            if time.monotonic() - window["started"] >= 60:
                window.update(started=time.monotonic(), used=0)
            window["used"] += 1
            if window["used"] > LIMIT:
                return web.json_response({"detail": "slow down"}, status=429)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = web.json_response({"detail": exc.reason}, status=exc.status)
        if not vulnerable:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Server"] = "twin"  # no product version
            response.headers["RateLimit-Limit"] = str(LIMIT)
            response.headers["RateLimit-Remaining"] = str(max(0, LIMIT - int(window["used"])))
        return response

    app = web.Application(middlewares=[hardening])
    app.router.add_get("/users", users)
    app.router.add_get("/users/{user_id}", user)
    app.router.add_get("/orders", orders)
    app.router.add_get("/health", health)
    app.router.add_get("/openapi.json", openapi)
    return app
