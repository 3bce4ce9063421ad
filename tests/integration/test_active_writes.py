"""Active mode's allow-list of writes, by a whole scan against a server that records them.

The API has a registration (an account nothing deletes), an unknown POST, a collection with a
documented DELETE (a removable creation), a search POST and a login: only the creation, the
search and the login may receive a POST, and what the creation made is deleted again.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from middlebrick.config import Credential, Limits, ScanRequest
from middlebrick.engine import scan
from middlebrick.report import Report
from middlebrick.testing import LiveApp

TOKEN = "t-0001"
_TEXT = {"type": "string"}
_OK = {"200": {"description": "ok"}}


def _body(**properties: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": sorted(properties)}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "writes", "version": "1"},
    "paths": {
        "/users/v1/register": {
            "post": {
                "requestBody": _body(
                    username=_TEXT, password=_TEXT, email=_TEXT, admin={"type": "boolean"}
                ),
                "responses": _OK,
            }
        },
        "/jobs": {
            "post": {"requestBody": _body(callback_url=_TEXT, message=_TEXT), "responses": _OK}
        },
        "/reviews": {
            "get": {"responses": _OK},
            "post": {"requestBody": _body(title=_TEXT), "responses": {"201": {"description": "x"}}},
        },
        "/reviews/{review_id}": {
            "parameters": [{"name": "review_id", "in": "path", "required": True, "schema": _TEXT}],
            "get": {"responses": _OK},
            "delete": {"responses": {"204": {"description": "gone"}}},
        },
        "/products/search": {"post": {"requestBody": _body(query=_TEXT), "responses": _OK}},
        "/auth/login": {
            "post": {"requestBody": _body(username=_TEXT, password=_TEXT), "responses": _OK}
        },
    },
}


class Recorder:
    """Every request's method and path, and the store the writes change."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.accounts: list[str] = []
        self.jobs = 0
        self.reviews: dict[str, dict[str, Any]] = {}
        self.made = 0

    def posts(self) -> set[str]:
        return {path for method, path in self.seen if method == "POST"}


async def _field(request: web.Request, name: str) -> str:
    try:
        body = await request.json()
    except ValueError:
        body = None
    return str(body.get(name)) if isinstance(body, dict) else ""


def make_app(recorder: Recorder) -> web.Application:
    async def register(request: web.Request) -> web.Response:
        recorder.accounts.append(await _field(request, "username"))
        return web.json_response({"message": "registered"})

    async def jobs(request: web.Request) -> web.Response:
        recorder.jobs += 1
        return web.json_response({"message": "queued"})

    async def reviews(request: web.Request) -> web.Response:
        if request.method == "GET":
            return web.json_response(list(recorder.reviews.values()))
        recorder.made += 1
        key = f"r-{recorder.made}"
        recorder.reviews[key] = {"id": key, "title": await _field(request, "title")}
        return web.json_response(recorder.reviews[key], status=201)

    async def review(request: web.Request) -> web.Response:
        key = request.match_info["review_id"]
        if key not in recorder.reviews:
            return web.json_response({"error": "no such review"}, status=404)
        if request.method == "DELETE":
            del recorder.reviews[key]
            return web.Response(status=204)
        return web.json_response(recorder.reviews[key])

    async def search(request: web.Request) -> web.Response:
        return web.json_response([])

    async def login(request: web.Request) -> web.Response:
        return web.json_response({"error": "wrong user name or password"}, status=401)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(SPEC)

    @web.middleware
    async def record(request: web.Request, handler: Any) -> Any:
        recorder.seen.append((request.method, request.path))
        public = request.path in ("/openapi.json", "/auth/login")
        if not public and request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "sign in"}, status=401)
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_post("/users/v1/register", register)
    app.router.add_post("/jobs", jobs)
    app.router.add_get("/reviews", reviews)
    app.router.add_post("/reviews", reviews)
    app.router.add_get("/reviews/{review_id}", review)
    app.router.add_delete("/reviews/{review_id}", review)
    app.router.add_post("/products/search", search)
    app.router.add_post("/auth/login", login)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _scan(recorder: Recorder, **changes: Any) -> Report:
    async with LiveApp(make_app(recorder)) as url:
        identity = Credential(headers=(("Authorization", f"Bearer {TOKEN}"),))
        request = ScanRequest(
            target=url,
            spec=f"{url}/openapi.json",
            identities={"alice": identity},
            mode="active",
            limits=Limits(rate=500, burst=5),
            **changes,
        )
        return await scan(request)


async def test_active_scan_posts_only_to_creations_it_deletes_reads_and_logins() -> None:
    recorder = Recorder()

    report = await _scan(recorder)

    assert recorder.posts() == {"/reviews", "/products/search", "/auth/login"}
    assert recorder.accounts == [] and recorder.jobs == 0
    assert recorder.made > 0 and recorder.reviews == {}, "what it created is deleted again"
    assert report.not_restored == []
    skipped = {s.operation for s in report.skipped}
    assert {"POST /users/v1/register", "POST /jobs"} <= skipped
