"""End to end on loopback: a DynamoDB-style API whose twins differ by one flag, scanned whole.

The vulnerable twin splices names into expressions, formats PartiQL, takes the table from the
path and the ScanFilter from the query, converts ``limit`` unguarded, joins file names to a
folder, reflects origins, obeys method-override headers, advertises TRACE and shows debug
tracebacks; the fixed twin does none of it.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from middlebrick.config import Limits, ScanRequest
from middlebrick.engine import scan
from middlebrick.testing import LiveApp

TICKETS = [
    {"id": 1, "priority": "high"},
    {"id": 2, "priority": "high"},
    {"id": 3, "priority": "low"},
    {"id": 4, "priority": "low"},
]
ORDERS = [
    {"id": "o1", "owner": "me", "status": "open"},
    {"id": "o2", "owner": "other", "status": "open"},
    {"id": "o3", "owner": "other", "status": "shipped"},
]
USERS = [{"email": "a@x.example"}, {"email": "b@x.example"}]
FILES = {"/srv/files/readme.txt": "hello", "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\n"}
TABLES = {"orders": {"o1": {"id": "o1"}}, "users": {}}
STARLETTE_PAGE = "<html><head><title>Starlette Debugger</title></head><body>500</body></html>"


def _param(name: str, *, location: str = "query", example: Any = None) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": location, "schema": {"type": "string"}}
    if location == "path":
        param["required"] = True
    if example is not None:
        param["example"] = example
    return param


def _get(*params: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"parameters": list(params), "responses": {"200": {"description": "ok"}}}}


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "records", "version": "1"},
    "paths": {
        "/tickets": _get(_param("field", example="priority"), _param("value", example="high")),
        "/orders": _get(_param("status", example="open")),
        "/records/{table_name}/{record_id}": _get(
            _param("table_name", location="path", example="orders"),
            _param("record_id", location="path", example="o1"),
        ),
        "/users/search": _get(
            _param(
                "filter",
                example=json.dumps(
                    {"email": {"ComparisonOperator": "EQ", "AttributeValueList": ["a@x.example"]}}
                ),
            )
        ),
        "/search": _get(_param("limit", example="2")),
        "/files/{name}": _get(_param("name", location="path", example="readme.txt")),
        "/tickets/{ticket_id}": {
            "get": {
                "parameters": [_param("ticket_id", location="path", example="1")],
                "responses": {"200": {"description": "the ticket"}},
            },
            "patch": {
                "parameters": [_param("ticket_id", location="path", example="1")],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object"},
                            "example": {"field": "priority", "value": "low"},
                        }
                    }
                },
                "responses": {"200": {"description": "updated"}},
            },
        },
    },
}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _app(*, vulnerable: bool) -> web.Application:
    async def tickets(request: web.Request) -> web.Response:
        field, value = request.query.get("field", "priority"), request.query.get("value", "")
        if not vulnerable:
            if field != "priority":
                return _json({"error": "bad request"}, 400)
            return _json({"tickets": [t for t in TICKETS if t.get(field) == value]})
        logic = re.fullmatch(r"attribute_exists\((\w+)\) (OR|AND) (\w+)", field)
        if logic:
            name, op, compared = logic.groups()
            rows = [
                t
                for t in TICKETS
                if (name in t and op == "OR") or (name in t and t.get(compared) == value)
            ]
            return _json({"tickets": rows})
        if not re.fullmatch(r"\w+", field):
            raise RuntimeError(f"Invalid FilterExpression: Syntax error; token: {field!r}")
        return _json({"tickets": [t for t in TICKETS if t.get(field) == value]})

    async def orders(request: web.Request) -> web.Response:
        status = request.query.get("status", "open")
        mine = [o for o in ORDERS if o["owner"] == "me"]
        if vulnerable and status.endswith("' OR 'mb'<>'mc"):
            return _json({"orders": ORDERS})
        if vulnerable and status.endswith("' AND 'mb'<>'mc"):
            status = status.split("'")[0]
        elif vulnerable and status.replace("''", "").count("'"):
            return _json({"error": "Statement wasn't well formed, can't be processed"}, 400)
        return _json({"orders": [o for o in mine if o["status"] == status]})

    async def record(request: web.Request) -> web.Response:
        table, record_id = request.match_info["table_name"], request.match_info["record_id"]
        if not vulnerable and table != "orders":
            return _json({"error": "not found"}, 404)
        if table not in TABLES:
            return _json({"error": "Requested resource not found"}, 400)
        found = TABLES[table].get(record_id)
        return _json(found) if found else _json({"error": f"no {record_id} in {table}"}, 404)

    async def user_search(request: web.Request) -> web.Response:
        try:
            condition = json.loads(request.query.get("filter", ""))["email"]
        except (ValueError, KeyError, TypeError):
            return _json({"error": "bad request"}, 400)
        op, values = condition.get("ComparisonOperator"), condition.get("AttributeValueList")
        if op == "NOT_NULL" and vulnerable:
            return _json({"users": USERS})
        if (
            op != "EQ"
            or not isinstance(values, list)
            or not all(isinstance(v, str) for v in values)
        ):
            return _json({"error": "bad request"}, 400)
        return _json({"users": [u for u in USERS if u["email"] in values]})

    async def search(request: web.Request) -> web.Response:
        limit = request.query.get("limit", "2")
        if limit.isdigit():
            return _json({"items": [{"id": i} for i in range(int(limit))][:3]})
        if not vulnerable:
            return _json({"detail": "limit must be an integer"}, 422)
        if "text/html" in request.headers.get("Accept", ""):
            return web.Response(status=500, text=STARLETTE_PAGE, content_type="text/html")
        return web.Response(status=500, text="Traceback (most recent call last):\nValueError")

    async def files(request: web.Request) -> web.Response:
        raw = request.raw_path.split("?", 1)[0].split("/files/", 1)[1]
        path = posixpath.normpath(posixpath.join("/srv/files", unquote(raw)))
        if not vulnerable and not path.startswith("/srv/files/"):
            return _json({"error": "not found"}, 404)
        if path not in FILES:
            return _json({"error": "not found"}, 404)
        return web.Response(body=FILES[path].encode(), content_type="application/octet-stream")

    async def ticket(request: web.Request) -> web.Response:
        return _json({"id": request.match_info["ticket_id"], "priority": "high"})

    async def update(request: web.Request) -> web.Response:
        body = await request.json()
        field, value = body.get("field"), body.get("value")
        if not vulnerable and field != "priority":
            return _json({"error": "bad request"}, 400)
        if not isinstance(field, str) or not re.fullmatch(r"\w+", field):
            raise RuntimeError(f"Invalid UpdateExpression: Syntax error; token: {field!r}")
        return _json({"id": request.match_info["ticket_id"], str(field): value})

    async def trace(request: web.Request) -> web.Response:
        if not vulnerable:
            return _json({"error": "method not allowed"}, 405)
        echoed = f"TRACE {request.raw_path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in request.headers.items()
        )
        return web.Response(text=echoed, content_type="message/http")

    async def options(request: web.Request) -> web.Response:
        allow = "GET, HEAD, OPTIONS" + (", TRACE" if vulnerable else "")
        return web.Response(status=200, headers={"Allow": allow})

    async def openapi(request: web.Request) -> web.Response:
        return _json(SPEC)

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        override = request.headers.get("X-HTTP-Method-Override")
        if vulnerable and override == "OPTIONS":
            return await options(request)
        try:
            answer = await handler(request)
        except RuntimeError as exc:  # the unhandled DynamoDB error of the vulnerable handler
            answer = web.Response(status=500, text=str(exc))
        origin = request.headers.get("Origin")
        if vulnerable and origin:
            answer.headers["Access-Control-Allow-Origin"] = origin
            answer.headers["Access-Control-Allow-Credentials"] = "true"
        return answer

    app = web.Application(middlewares=[middleware])
    app.router.add_get("/tickets", tickets)
    app.router.add_get("/orders", orders)
    app.router.add_get("/records/{table_name}/{record_id}", record)
    app.router.add_get("/users/search", user_search)
    app.router.add_get("/search", search)
    app.router.add_get("/files/{tail:.*}", files)
    app.router.add_get("/tickets/{ticket_id}", ticket)
    app.router.add_patch("/tickets/{ticket_id}", update)
    app.router.add_route("OPTIONS", "/{tail:.*}", options)
    app.router.add_route("TRACE", "/{tail:.*}", trace)
    app.router.add_get("/openapi.json", openapi)
    return app


async def _found(
    *, vulnerable: bool, mode: str = "safe", include: tuple[str, ...] = ()
) -> set[tuple[str, str, str | None, str]]:
    async with LiveApp(_app(vulnerable=vulnerable)) as url:
        request = ScanRequest(
            target=url,
            spec=f"{url}/openapi.json",
            mode=mode,
            include=include,
            limits=Limits(rate=1000),
        )
        report = await scan(request)
    # a finding stands for the others of its root cause (the Filter's occurrences), with its
    # confidence: the reflected origin holds the null origin of the same CORS policy
    return {
        (type_id, operation, parameter, f.confidence.value)
        for f in report.findings
        if f.category == "input_validation"
        for type_id, operation, parameter in [
            (f.type_id, f.operation, f.parameter),
            *((o.type_id, o.operation, o.parameter) for o in f.occurrences),
        ]
    }


SAFE_FINDINGS = {
    ("input_validation.dynamodb-expression-injection", "GET /tickets", "field", "confirmed"),
    ("input_validation.partiql-injection", "GET /orders", "status", "confirmed"),
    (
        "input_validation.table-name-injection",
        "GET /records/{table_name}/{record_id}",
        "table_name",
        "firm",
    ),
    ("input_validation.dynamodb-operator-injection", "GET /users/search", "filter", "confirmed"),
    ("input_validation.type-confusion", "GET /search", "limit", "firm"),
    ("input_validation.path-traversal", "GET /files/{name}", "name", "confirmed"),
    ("input_validation.cors-reflected-origin", "*", None, "confirmed"),
    ("input_validation.cors-null-origin", "*", None, "confirmed"),
    ("input_validation.method-override", "*", None, "confirmed"),
    ("input_validation.dangerous-method", "*", None, "firm"),
    ("input_validation.debug-mode", "*", None, "firm"),
}


async def test_input_validation_checks_report_every_flaw_of_the_vulnerable_twin() -> None:
    assert await _found(vulnerable=True) == SAFE_FINDINGS


async def test_input_validation_checks_stay_quiet_on_the_fixed_twin() -> None:
    assert await _found(vulnerable=False) == set()


async def test_input_validation_checks_report_body_injection_and_trace_in_active_mode() -> None:
    """The tickets existed before the scan: their PATCH bodies are probed only when included."""
    found = await _found(vulnerable=True, mode="active", include=("PATCH /tickets/{ticket_id}",))
    unnamed = await _found(vulnerable=True, mode="active")

    added = {
        (
            "input_validation.dynamodb-expression-injection",
            "PATCH /tickets/{ticket_id}",
            "body.field",
            "firm",
        ),
        ("input_validation.type-confusion", "PATCH /tickets/{ticket_id}", "body.field", "firm"),
        ("input_validation.dangerous-method", "*", None, "confirmed"),
    }
    assert (
        found
        == (SAFE_FINDINGS - {("input_validation.dangerous-method", "*", None, "firm")}) | added
    )
    assert {f for f in unnamed if f[1] == "PATCH /tickets/{ticket_id}"} == set()


async def test_input_validation_checks_stay_quiet_on_the_fixed_twin_in_active_mode() -> None:
    assert await _found(vulnerable=False, mode="active") == set()


def _public_app(*, wildcard: bool) -> web.Application:
    async def catalogue(request: web.Request) -> web.Response:
        headers = {"Access-Control-Allow-Origin": "*"} if wildcard else {}
        return web.json_response([{"sku": "a-1"}], headers=headers)

    app = web.Application()
    app.router.add_get("/catalogue", catalogue)
    return app


async def test_cors_reports_a_wildcard_origin_that_its_twin_does_not_send() -> None:
    found = {}
    for wildcard in (True, False):
        async with LiveApp(_public_app(wildcard=wildcard)) as url:
            report = await scan(ScanRequest(target=f"{url}/catalogue", limits=Limits(rate=1000)))
        found[wildcard] = {f.type_id for f in report.findings if f.category == "input_validation"}

    assert found == {True: {"input_validation.cors-wildcard-origin"}, False: set()}
