"""A generated JSON API of any size, its OpenAPI document, and a loopback server for it.

``n`` operations over ``n // 2`` resources: ``GET /r{k}`` lists a page of records (``limit``
caps it at 50) and ``GET /r{k}/{id}`` reads one (404 for an unknown id); an odd ``n`` adds
``GET /status``. With ``limit_rps`` the server answers 429 (with ``Retry-After: 1``) past that
many requests in any sliding second, as a gateway's rate limit does. Used by
``benchmarks/scale.py`` and the pacing tests; run alone it prints its port, serves until its
standard input closes, then prints the time and status of every answer::

    .venv/bin/python benchmarks/generated_api.py 1000 [--limit-rps 20]   # prints the port
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import time
from typing import Any

from aiohttp import web

PAGE = 3  # records a list holds by default
MAX_PAGE = 50  # the most a list returns, whatever ``limit`` asks


def spec(n: int) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the generated API with ``n`` operations."""
    paths: dict[str, Any] = {}
    for k in range(n // 2):
        name = f"r{k}"
        paths[f"/{name}"] = {
            "get": {
                "operationId": f"list_{name}",
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "maximum": MAX_PAGE},
                    },
                    {"name": "q", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": f"a page of {name}"}},
            }
        }
        paths[f"/{name}/{{{name}_id}}"] = {
            "get": {
                "operationId": f"get_{name}",
                "parameters": [
                    {"name": f"{name}_id", "in": "path", "required": True, "schema": _ID}
                ],
                "responses": {"200": {"description": f"one of {name}"}, "404": _NOT_FOUND},
            }
        }
    if n % 2:
        paths["/status"] = {"get": {"responses": {"200": {"description": "service status"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": f"generated API of {n} operations", "version": "1.0"},
        "paths": paths,
    }


_ID = {"type": "string", "example": "a0"}
_NOT_FOUND = {"description": "no such record"}


def _record(resource: str, index: int) -> dict[str, Any]:
    return {
        "id": f"a{index}",
        "name": f"{resource} {index}",
        "created_at": f"2024-01-0{index % 9 + 1}T00:00:00Z",
    }


def app(
    n: int, *, limit_rps: float | None = None, log: list[tuple[float, int]] | None = None
) -> web.Application:
    """An aiohttp application serving the generated API (and its document at /openapi.json).

    ``log``, when given, receives the time and status of every answer.
    """
    document = json.dumps(spec(n)).encode()
    resources = n // 2
    recent: collections.deque[float] = collections.deque()

    def resource(request: web.Request) -> str | None:
        name = request.match_info["name"]
        if not name.startswith("r") or not name[1:].isdigit() or int(name[1:]) >= resources:
            return None
        return name

    async def listing(request: web.Request) -> web.Response:
        name = resource(request)
        if name is None:
            return _json({"detail": "Not Found"}, 404)
        raw = request.query.get("limit", str(PAGE))
        size = int(raw) if raw.isdigit() else PAGE
        page = [_record(name, i) for i in range(min(max(size, 1), MAX_PAGE))]
        return _json({"items": page, "total": len(page)})

    async def item(request: web.Request) -> web.Response:
        name, key = resource(request), request.match_info["id"]
        if name is None or not key.startswith("a") or not key[1:].isdigit():
            return _json({"detail": "Not Found"}, 404)
        if int(key[1:]) >= MAX_PAGE:
            return _json({"detail": "Not Found"}, 404)
        return _json(_record(name, int(key[1:])))

    async def status(request: web.Request) -> web.Response:
        if n % 2 == 0:
            return _json({"detail": "Not Found"}, 404)
        return _json({"status": "ok", "resources": resources})

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=document, content_type="application/json")

    async def root(request: web.Request) -> web.Response:
        return _json({"name": "generated", "docs": "/openapi.json"})

    async def fallback(request: web.Request) -> web.Response:
        return _json({"detail": "Not Found"}, 404)

    @web.middleware
    async def limiter(request: web.Request, handler: Any) -> web.StreamResponse:
        now = time.monotonic()
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        response: web.StreamResponse
        if limit_rps is not None and len(recent) >= limit_rps:
            response = _json({"detail": "Too Many Requests"}, 429, {"Retry-After": "1"})
        else:
            recent.append(now)
            response = await handler(request)
        if log is not None:
            log.append((now, response.status))
        return response

    application = web.Application(middlewares=[limiter])
    application.router.add_get("/", root)
    application.router.add_get("/openapi.json", openapi)
    application.router.add_get("/status", status)
    application.router.add_get("/{name}", listing)
    application.router.add_get("/{name}/{id}", item)
    application.router.add_route("*", "/{tail:.*}", fallback)
    return application


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def serve(n: int, limit_rps: float | None = None) -> None:
    """Serve on a free loopback port; print the port; serve until stdin closes.

    Then print, as one JSON line, the time (seconds from the first) and status of every answer.
    """
    log: list[tuple[float, int]] = []

    async def main() -> None:
        runner = web.AppRunner(app(n, limit_rps=limit_rps, log=log), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        print(server.sockets[0].getsockname()[1], flush=True)  # type: ignore[attr-defined]
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())
    first = log[0][0] if log else 0.0
    print(json.dumps([(round(at - first, 4), status) for at, status in log]), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operations", type=int)
    parser.add_argument("--limit-rps", type=float, default=None)
    args = parser.parse_args()
    serve(args.operations, args.limit_rps)
