"""The inventory checks on recorded exchanges: each reports its flaw and stays quiet on the fix."""

from __future__ import annotations

import json
from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.discovery.undocumented import control_token
from middlebrick.findings import Confidence, Severity
from middlebrick.http.exchange import ANONYMOUS, Exchange, Request, Response
from middlebrick.spec.load import parse_spec
from middlebrick.spec.model import ApiSpec, Operation, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

ITEM = {"type": "object", "properties": {"id": {"type": "string"}, "price": {"type": "number"}}}


def _spec(paths: dict[str, Any]) -> ApiSpec:
    return parse_spec(json.dumps({"openapi": "3.0.3", "paths": paths}), source="openapi.json")


def _ok(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    content = {"application/json": {"schema": schema}}
    return {"get": {"responses": {"200": {"description": "ok", "content": content}}, **extra}}


def _surface(spec: ApiSpec | None, *extra: Operation) -> Surface:
    operations = (*(spec.operations if spec else ()), *extra)
    return Surface(base_url=BASE, operations=operations, spec=spec)


# --- undocumented_operations ------------------------------------------------------------------


async def test_undocumented_operations_reports_a_probed_operation_with_its_control() -> None:
    spec = _spec({"/items": {"get": {}}})
    export = Operation(method="GET", path="/export", source="probed")
    pairs = [(export, exchange("GET", "/export", response(200, {"Items": [{"id": "a1"}]})))]

    found = await run_check(
        "inventory.undocumented_operations",
        baseline=make_baseline(pairs),
        sender=FakeSender(),
        surface=_surface(spec, export),
    )

    assert [(f.type_id, f.operation, f.confidence) for f in found] == [
        ("inventory.undocumented-operation", "GET /export", Confidence.confirmed)
    ]
    assert [e.label for e in found[0].evidence] == ["probe", "control"]
    assert found[0].evidence[1].request.url == f"{BASE}/{control_token(BASE)}"
    assert found[0].evidence[1].status == 404
    assert found[0].severity == Severity.info  # anonymous, like the documented operation


def _credentialed_export(anonymous_status: int) -> tuple[FakeSender, list[Any], Surface]:
    """An undocumented /export found with credentials; the route answers anonymous callers
    with ``anonymous_status``."""
    spec = _spec({"/items": {"get": {}}})
    export = Operation(method="GET", path="/export", source="probed")
    request = Request("GET", BASE + "/export", identity="alice")
    pairs = [(export, Exchange(request, response(200, {"Items": [{"id": "a1"}]})))]

    def answer(sent: Request) -> Response:
        if sent.identity == ANONYMOUS:
            return response(
                anonymous_status,
                {"detail": "Forbidden"} if anonymous_status >= 400 else {"Items": [{"id": "a1"}]},
            )
        return response(200, {"Items": [{"id": "a1"}]})

    return FakeSender({("GET", "/export"): answer}), pairs, _surface(spec, export)


async def test_undocumented_operations_reports_a_route_open_to_anonymous_callers() -> None:
    sender, pairs, surface = _credentialed_export(200)

    found = await run_check(
        "inventory.undocumented_operations",
        baseline=make_baseline(pairs),
        sender=sender,
        surface=surface,
        scan=ScanRequest(target=BASE, headers=(("Authorization", "Bearer t"),)),
    )

    assert [(f.type_id, f.severity) for f in found] == [
        ("inventory.undocumented-operation", Severity.medium)
    ]
    assert [e.label for e in found[0].evidence] == ["probe", "control", "anonymous"]


async def test_undocumented_operations_is_inventory_when_the_route_refuses_anonymous() -> None:
    sender, pairs, surface = _credentialed_export(403)

    found = await run_check(
        "inventory.undocumented_operations",
        baseline=make_baseline(pairs),
        sender=sender,
        surface=surface,
        scan=ScanRequest(target=BASE, headers=(("Authorization", "Bearer t"),)),
    )

    assert [(f.severity, f.detail.endswith("so this is inventory")) for f in found] == [
        (Severity.info, True)
    ]


async def test_undocumented_operations_stays_quiet_without_an_api_description() -> None:
    export = Operation(method="GET", path="/export", source="probed")
    pairs = [(export, exchange("GET", "/export", response(200, {"Items": []})))]

    found = await run_check(
        "inventory.undocumented_operations",
        baseline=make_baseline(pairs),
        surface=_surface(None, export),
    )

    assert found == []


async def test_undocumented_operations_stays_quiet_for_documented_operations() -> None:
    spec = _spec({"/export": {"get": {}}})
    pairs = [(spec.operations[0], exchange("GET", "/export", response(200, {"Items": []})))]

    found = await run_check(
        "inventory.undocumented_operations", baseline=make_baseline(pairs), surface=_surface(spec)
    )

    assert found == []


# --- deprecated_operations --------------------------------------------------------------------


async def test_deprecated_operations_reports_a_deprecated_operation_answering_200() -> None:
    spec = _spec({"/legacy/items": {"get": {"deprecated": True}}})
    pairs = [(spec.operations[0], exchange("GET", "/legacy/items", response(200, [{"id": 1}])))]

    found = await run_check("inventory.deprecated_operations", baseline=make_baseline(pairs))

    assert [(f.type_id, f.operation) for f in found] == [
        ("inventory.deprecated-operation-live", "GET /legacy/items")
    ]
    assert "deprecated is not retired" in found[0].detail
    assert found[0].severity == Severity.info


async def test_deprecated_operations_stays_quiet_when_it_is_gone_or_refused() -> None:
    spec = _spec({"/old": {"get": {"deprecated": True}}, "/older": {"get": {"deprecated": True}}})
    gone = response(410, {"error": "retired"})
    denied = _html("<html><form action='/login'><input type=password></form></html>")
    pairs = [
        (spec.operations[0], exchange("GET", "/old", gone)),
        (spec.operations[1], exchange("GET", "/older", denied)),
    ]

    found = await run_check("inventory.deprecated_operations", baseline=make_baseline(pairs))

    assert found == []


# --- older_versions ---------------------------------------------------------------------------


def _versions(v1_status: int) -> list[tuple[Operation, Any]]:
    spec = _spec({"/v1/users/{id}": {"get": {}}, "/v2/users/{id}": {"get": {}}})
    v1, v2 = spec.operations
    return [
        (v1, exchange("GET", "/v1/users/7", response(v1_status, {"id": 7, "role": "admin"}))),
        (v2, exchange("GET", "/v2/users/7", response(200, {"id": 7}))),
    ]


async def test_older_versions_reports_the_older_version_answering_beside_the_newer() -> None:
    found = await run_check("inventory.older_versions", baseline=make_baseline(_versions(200)))

    assert [(f.type_id, f.operation) for f in found] == [
        ("inventory.older-version-live", "GET /v1/users/{id}")
    ]
    assert [e.label for e in found[0].evidence] == ["older", "newer"]


async def test_older_versions_stays_quiet_when_a_probed_older_version_answers_otherwise() -> None:
    # discovery found /v1/users/{id} answering 200, but with a notice, not a user
    spec = _spec({"/v2/users/{id}": {"get": {}}})
    probed = Operation(method="GET", path="/v1/users/{id}", source="probed")
    notice = response(200, {"message": "v1 is retired, see https://example.org/migrate"})
    pairs = [
        (probed, exchange("GET", "/v1/users/7", notice)),
        (spec.operations[0], exchange("GET", "/v2/users/7", response(200, {"id": 7, "a": 1}))),
    ]

    found = await run_check("inventory.older_versions", baseline=make_baseline(pairs))

    assert found == []


async def test_older_versions_stays_quiet_when_the_older_version_is_retired() -> None:
    found = await run_check("inventory.older_versions", baseline=make_baseline(_versions(410)))

    assert found == []


# --- versioning -------------------------------------------------------------------------------


async def test_versioning_reports_an_api_without_any_version_as_info() -> None:
    spec = _spec({"/items": {"get": {}}, "/orders": {"get": {}}})
    pairs = [(op, exchange("GET", op.path, response(200, []))) for op in spec.operations]

    found = await run_check(
        "inventory.versioning", baseline=make_baseline(pairs), surface=_surface(spec)
    )

    assert [(f.type_id, f.operation, f.severity) for f in found] == [
        ("inventory.versioning-absent", "*", Severity.info)
    ]


async def test_versioning_stays_quiet_when_a_path_or_a_header_carries_a_version() -> None:
    versioned = _spec({"/v1/items": {"get": {}}})
    headed = _spec({"/items": {"get": {}}})
    answer = response(200, [], {"API-Version": "2024-05-01"})

    by_path = await run_check(
        "inventory.versioning",
        baseline=make_baseline([(versioned.operations[0], exchange("GET", "/v1/items", answer))]),
        surface=_surface(versioned),
    )
    by_header = await run_check(
        "inventory.versioning",
        baseline=make_baseline([(headed.operations[0], exchange("GET", "/items", answer))]),
        surface=_surface(headed),
    )

    assert by_path == [] and by_header == []


# --- server_versions --------------------------------------------------------------------------


async def test_server_versions_reports_product_versions_once_for_the_target() -> None:
    headers = {"Server": "uvicorn/0.54.0 (Python 3.11)", "X-Powered-By": "FastAPI/0.163.2"}
    spec = _spec({"/items": {"get": {}}})
    pairs = [(spec.operations[0], exchange("GET", "/items", response(200, [], headers)))]
    root = exchange("GET", "/", response(200, {}, headers))

    found = await run_check(
        "inventory.server_versions",
        baseline=make_baseline(pairs, root=root),
        framework="fastapi",
    )

    assert [(f.type_id, f.operation) for f in found] == [
        ("inventory.server-version-disclosed", "*")
    ]
    assert "`Server: uvicorn/0.54.0 (Python 3.11)` on 2 responses" in found[0].detail
    assert "`X-Powered-By: FastAPI/0.163.2`" in found[0].detail
    assert found[0].detail.endswith("(framework recognised: fastapi)")
    assert "--no-server-header" in found[0].remediation  # the framework's own advice


async def test_server_versions_stays_quiet_for_product_names_without_versions() -> None:
    spec = _spec({"/items": {"get": {}}})
    plain = response(200, [], {"Server": "nginx", "X-Powered-By": "Express"})
    pairs = [(spec.operations[0], exchange("GET", "/items", plain))]

    found = await run_check("inventory.server_versions", baseline=make_baseline(pairs))

    assert found == []


# --- pagination -------------------------------------------------------------------------------


def _collection(count: int, *params: dict[str, Any]) -> tuple[ApiSpec, Any]:
    page = {"type": "object", "properties": {"items": {"type": "array", "items": ITEM}}}
    spec = _spec({"/items": _ok(page, parameters=list(params))})
    body = {"items": [{"id": str(n), "price": 1.5} for n in range(count)]}
    return spec, make_baseline(
        [(spec.operations[0], exchange("GET", "/items", response(200, body)))]
    )


async def test_pagination_reports_a_large_unpaginated_collection_as_confirmed() -> None:
    spec, baseline = _collection(240)

    found = await run_check("inventory.pagination", baseline=baseline, surface=_surface(spec))

    assert [(f.type_id, f.operation, f.severity, f.confidence) for f in found] == [
        ("inventory.missing-pagination", "GET /items", Severity.medium, Confidence.confirmed)
    ]
    assert "240 records" in found[0].detail


async def test_pagination_reports_a_small_unpaginated_collection_as_info() -> None:
    spec, baseline = _collection(3)

    found = await run_check("inventory.pagination", baseline=baseline, surface=_surface(spec))

    assert [(f.severity, f.confidence) for f in found] == [(Severity.info, Confidence.tentative)]


async def test_pagination_stays_quiet_when_a_page_parameter_is_documented() -> None:
    cursor = {"name": "cursor", "in": "query", "schema": {"type": "string"}}
    spec, baseline = _collection(240, cursor)

    found = await run_check("inventory.pagination", baseline=baseline, surface=_surface(spec))

    assert found == []


async def test_pagination_stays_quiet_for_a_single_resource() -> None:
    spec = _spec({"/items/{id}": _ok(ITEM)})
    pairs = [(spec.operations[0], exchange("GET", "/items/1", response(200, {"id": "1"})))]

    found = await run_check(
        "inventory.pagination", baseline=make_baseline(pairs), surface=_surface(spec)
    )

    assert found == []


# --- docs_exposed -----------------------------------------------------------------------------

SWAGGER = """<!doctype html><html><head><title>API - Swagger UI</title></head><body>
<div id="swagger-ui"></div><script src="/static/swagger-ui-bundle.js"></script>
<script>const ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui'})</script>
</body></html>"""


def _html(body: str) -> Any:
    return response(200, body, {"Content-Type": "text/html; charset=utf-8"})


async def test_docs_exposed_reports_swagger_ui_served_without_credentials() -> None:
    sender = FakeSender({("GET", "/docs"): _html(SWAGGER)})

    found = await run_check("inventory.docs_exposed", baseline=make_baseline([]), sender=sender)

    assert [(f.type_id, f.operation, f.severity) for f in found] == [
        ("inventory.docs-exposed", "*", Severity.info)
    ]
    assert f"{BASE}/docs" in found[0].detail
    assert {r.identity for r in sender.sent} == {ANONYMOUS}


async def test_docs_exposed_reports_a_development_host_as_info() -> None:
    staging = "http://api.staging.example.test"
    sender = FakeSender({("GET", "/redoc"): _html('<redoc spec-url="/openapi.json"></redoc>')})

    found = await run_check(
        "inventory.docs_exposed",
        baseline=make_baseline([]),
        sender=sender,
        scan=ScanRequest(target=staging),
        surface=Surface(base_url=staging, operations=()),
    )

    assert [f.severity for f in found] == [Severity.info]


async def test_docs_exposed_stays_quiet_when_every_path_serves_the_same_page() -> None:
    class SinglePageApp(FakeSender):
        async def send(self, request: Any, *, follow_redirects: bool = True) -> Any:
            answer = await super().send(request, follow_redirects=follow_redirects)
            return type(answer)(request, _html(SWAGGER))

    found = await run_check(
        "inventory.docs_exposed", baseline=make_baseline([]), sender=SinglePageApp()
    )

    assert found == []


async def test_docs_exposed_stays_quiet_when_only_the_raw_document_is_served() -> None:
    sender = FakeSender({("GET", "/openapi.json"): response(200, {"openapi": "3.0.3"})})

    found = await run_check("inventory.docs_exposed", baseline=make_baseline([]), sender=sender)

    assert found == []
