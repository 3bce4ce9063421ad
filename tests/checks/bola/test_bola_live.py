"""End to end on loopback: every BOLA flaw in one notes API, and its fixed twin; one flag apart.

alice and bob are users of tenant ``acme``, carol of ``globex``. The vulnerable twin reads
notes, tickets and documents by id alone, lists every owner's notes, lets ``?user_id=`` pick
the owner of a note, takes the tenant from ``X-Tenant-ID``, pages search results with an
unsigned cursor that names the owner, numbers tickets 1, 2, 3, and checks document ownership
on the raw path while routing on the normalised one. The secure twin checks the owner of
every object, signs its cursors and takes the tenant from the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import posixpath
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from middlebrick.config import Credential, ScanRequest
from middlebrick.engine import scan
from middlebrick.testing import LiveApp
from middlebrick.tokens import b64url

USERS = {
    "alice": {"user_id": "u-alice", "tenant": "acme"},
    "bob": {"user_id": "u-bob", "tenant": "acme"},
    "carol": {"user_id": "u-carol", "tenant": "globex"},
}
SECRET = b"cursor-signing-key-for-the-secure-twin"
NOTES = [
    {"note_id": f"n-{owner}-{k}", "owner_id": f"u-{owner}", "title": f"{owner} note {k}"}
    for owner in USERS
    for k in range(1, 4)
]
TICKETS = {1: "u-alice", 2: "u-bob", 3: "u-carol"}
TICKET_KEYS = {  # the secure twin's random ticket keys
    1: "5f0c8d2e-7b1a-4c3e-9d6f-2a8b4e1c7d90",
    2: "a3e9b7c1-2d4f-4e6a-8b0c-1f3d5e7a9c2b",
    3: "c8d2e4f6-1a3b-4c5d-9e7f-0b2d4f6a8c1e",
}
MEMBERS = {"acme": ["Alice", "Bob"], "globex": ["Carol"]}
DOCS = {"d-alice": "u-alice", "d-bob": "u-bob", "d-carol": "u-carol"}
BEARER = [{"bearer": []}]


def _token(name: str) -> str:
    """A JWT-shaped token naming the user and tenant (the twin looks tokens up, never verifies)."""
    header = b64url(json.dumps({"alg": "HS256"}).encode())
    claims = {"sub": USERS[name]["user_id"], "tenant": USERS[name]["tenant"]}
    return f"{header}.{b64url(json.dumps(claims).encode())}.c2ln"


TOKENS = {name: _token(name) for name in USERS}


def _op(summary: str, *params: dict[str, Any]) -> dict[str, Any]:
    return {
        "summary": summary,
        "parameters": list(params),
        "responses": {"200": {"description": "ok"}},
    }


def _path(name: str, example: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "example": example}


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "notes", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": BEARER,
    "paths": {
        "/me": {"get": _op("the caller")},
        "/notes": {"get": _op("my notes")},
        "/notes/{note_id}": {
            "get": _op(
                "one note",
                _path("note_id", "n-alice-1"),
                {"name": "user_id", "in": "query", "schema": {"type": "string"}},
            ),
            "patch": {
                "parameters": [_path("note_id", "n-alice-1")],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"title": {"type": "string"}},
                            }
                        }
                    }
                },
                "responses": {"200": {"description": "changed"}},
            },
        },
        "/search": {
            "get": _op(
                "my notes, paged", {"name": "cursor", "in": "query", "schema": {"type": "string"}}
            )
        },
        "/tickets": {"get": _op("my tickets")},
        "/tickets/{ticket_id}": {"get": _op("one ticket", {"name": "ticket_id", "in": "path"})},
        "/members": {
            "get": _op(
                "the tenant's members",
                {"name": "X-Tenant-ID", "in": "header", "schema": {"type": "string"}},
            )
        },
        "/docs": {"get": _op("my documents")},
        "/docs/{doc_id}": {"get": _op("one document", _path("doc_id", "d-alice"))},
    },
}


def _app(*, vulnerable: bool) -> web.Application:
    by_token = {token: name for name, token in TOKENS.items()}

    def caller(request: web.Request) -> dict[str, str]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        name = by_token.get(token) if scheme == "Bearer" else None
        if name is None:
            raise web.HTTPUnauthorized(text='{"detail": "authentication required"}')
        return USERS[name]

    def gone() -> web.Response:
        return web.json_response({"detail": "not found"}, status=404)

    async def me(request: web.Request) -> web.Response:
        return web.json_response(caller(request))

    async def notes(request: web.Request) -> web.Response:
        who = caller(request)
        rows = NOTES if vulnerable else [n for n in NOTES if n["owner_id"] == who["user_id"]]
        return web.json_response({"notes": rows})

    async def note(request: web.Request) -> web.StreamResponse:
        who = caller(request)
        owner = request.query.get("user_id", who["user_id"]) if vulnerable else who["user_id"]
        found = [n for n in NOTES if n["note_id"] == request.match_info["note_id"]]
        if not found or found[0]["owner_id"] != owner:
            return gone()
        return web.json_response(found[0])

    async def patch_note(request: web.Request) -> web.StreamResponse:
        who = caller(request)
        found = [n for n in NOTES if n["note_id"] == request.match_info["note_id"]]
        if not found or (not vulnerable and found[0]["owner_id"] != who["user_id"]):
            return gone()
        return web.json_response({**found[0], **await request.json()})

    async def search(request: web.Request) -> web.Response:
        who = caller(request)
        owner, start = who["user_id"], 0
        cursor = request.query.get("cursor")
        if cursor:
            body, _, signature = cursor.partition(".")
            try:
                start_key = json.loads(base64.urlsafe_b64decode(body))
                asked, start = start_key["owner_id"], int(start_key["note_id"].rsplit("-", 1)[1])
            except (ValueError, KeyError, TypeError):
                return web.json_response({"detail": "invalid cursor"}, status=400)
            if not vulnerable and (signature != _sign(body) or asked != owner):
                return web.json_response({"detail": "invalid cursor"}, status=400)
            owner = asked
        rows = [n for n in NOTES if n["owner_id"] == owner][start : start + 2]
        last = base64.urlsafe_b64encode(
            json.dumps({"owner_id": owner, "note_id": rows[-1]["note_id"]}).encode()
        ).decode()
        return web.json_response(
            {"notes": rows, "next_cursor": last if vulnerable else f"{last}.{_sign(last)}"}
        )

    def key(number: int) -> int | str:
        return number if vulnerable else TICKET_KEYS[number]  # FIX: random keys

    async def tickets(request: web.Request) -> web.Response:
        who = caller(request)
        mine = [n for n, o in TICKETS.items() if o == who["user_id"]]
        return web.json_response([{"ticket_id": key(n), "owner_id": who["user_id"]} for n in mine])

    async def ticket(request: web.Request) -> web.Response:
        who = caller(request)
        wanted = request.match_info["ticket_id"]
        number = next((n for n in TICKETS if str(key(n)) == wanted), None)
        owner = TICKETS.get(number) if number is not None else None
        if number is None or owner is None or (not vulnerable and owner != who["user_id"]):
            return gone()
        return web.json_response({"ticket_id": key(number), "owner_id": owner, "title": "help"})

    async def members(request: web.Request) -> web.Response:
        who = caller(request)
        asked = request.headers.get("X-Tenant-ID")
        if asked and asked != who["tenant"] and not vulnerable:
            return web.json_response({"detail": "forbidden"}, status=403)
        tenant = asked or who["tenant"]
        return web.json_response(
            {"members": [{"name": n, "tenant": tenant} for n in MEMBERS.get(tenant, [])]}
        )

    async def docs(request: web.Request) -> web.Response:
        who = caller(request)
        rows = [{"doc_id": d, "owner_id": o} for d, o in DOCS.items() if o == who["user_id"]]
        return web.json_response(rows)

    async def doc(request: web.Request) -> web.Response:
        who = caller(request)
        raw = request.raw_path.split("?", 1)[0]
        routed = posixpath.normpath(unquote(raw)).rsplit("/", 1)[-1]
        checked = raw.split("/")[2] if vulnerable else routed  # the flaw: the raw path's id
        if routed not in DOCS or DOCS.get(checked) != who["user_id"]:
            return gone()
        return web.json_response({"doc_id": routed, "owner_id": DOCS[routed], "title": "plan"})

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(SPEC)

    app = web.Application()
    app.router.add_get("/me", me)
    app.router.add_get("/notes", notes)
    app.router.add_get("/notes/{note_id}", note)
    app.router.add_patch("/notes/{note_id}", patch_note)
    app.router.add_get("/search", search)
    app.router.add_get("/tickets", tickets)
    app.router.add_get("/tickets/{ticket_id}", ticket)
    app.router.add_get("/members", members)
    app.router.add_get("/docs", docs)
    app.router.add_get("/docs/{doc_id:.+}", doc)
    app.router.add_get("/openapi.json", openapi)
    return app


def _sign(body: str) -> str:
    return hmac.new(SECRET, body.encode(), hashlib.sha256).hexdigest()[:32]


async def _bola(
    *, vulnerable: bool, mode: str = "safe", include: tuple[str, ...] = ()
) -> set[tuple[str, str]]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        request = ScanRequest(
            target=url,
            spec=f"{url}/openapi.json",
            identities={
                name: Credential(headers=(("Authorization", f"Bearer {token}"),))
                for name, token in TOKENS.items()
            },
            mode=mode,  # type: ignore[arg-type]
            include=include,
        )
        report = await scan(request)
    bola = [f for f in report.findings if f.category == "bola"]
    # a finding stands for the others of its root cause (the Filter's occurrences)
    return {(f.type_id, f.operation) for f in bola} | {
        (o.type_id, o.operation) for f in bola for o in f.occurrences
    }


async def test_bola_checks_report_every_flaw_of_the_vulnerable_twin():
    found = await _bola(vulnerable=True)

    assert found == {
        ("bola.foreign-records-in-list", "GET /notes"),
        ("bola.owner-override-parameter", "GET /notes/{note_id}"),
        ("bola.unsigned-cursor", "GET /search"),
        ("bola.cursor-tampering", "GET /search"),
        ("bola.predictable-id", "GET /tickets/{ticket_id}"),
        ("bola.adjacent-id-access", "GET /tickets/{ticket_id}"),
        ("bola.cross-identity-access", "GET /tickets/{ticket_id}"),
        ("bola.tenant-switch", "GET /members"),
        ("bola.identifier-traversal", "GET /docs/{doc_id}"),
    }


async def test_bola_checks_stay_quiet_on_the_secure_twin():
    assert await _bola(vulnerable=False) == set()


async def test_bola_active_scan_reports_a_write_to_another_user_s_note():
    """A note the scan did not create is written only when ``--include`` names its PATCH."""
    patch = "PATCH /notes/{note_id}"
    vulnerable = await _bola(vulnerable=True, mode="active", include=(patch,))
    secure = await _bola(vulnerable=False, mode="active", include=(patch,))
    unnamed = await _bola(vulnerable=True, mode="active")

    assert ("bola.cross-identity-access", patch) in vulnerable
    assert secure == set()
    assert ("bola.cross-identity-access", patch) not in unnamed
