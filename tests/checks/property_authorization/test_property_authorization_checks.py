"""Property authorization on recordings: sensitive and undeclared properties, projections."""

from __future__ import annotations

from typing import Any

import pytest

from middlebrick.config import Credential, ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

SENSITIVE = "property_authorization.sensitive_properties"
UNDECLARED = "property_authorization.undeclared_properties"
PROJECTION = "property_authorization.client_projection"
BCRYPT = "$2b$12$" + "a" * 53
USER = {"id": "u-1", "name": "Ann", "password_hash": BCRYPT, "ssn": "219-28-5358"}


def _ok(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"200": {"application/json": schema}}


async def _run(
    name: str,
    body: Any,
    *,
    path: str = "/users/{user_id}",
    operation: Operation | None = None,
    sender: FakeSender | None = None,
    scan: ScanRequest | None = None,
) -> list[Finding]:
    operation = operation or Operation(method="GET", path=path)
    concrete = path.replace("{user_id}", "u-1")
    pair = (operation, exchange("GET", concrete, response(200, body), operation=operation.key))
    return await run_check(name, baseline=make_baseline([pair]), sender=sender, scan=scan)


# --- sensitive_properties --------------------------------------------------------------------


async def test_sensitive_properties_reports_a_password_hash_and_ssn_by_name_and_value():
    found = await _run(SENSITIVE, USER)

    assert [(f.type_id, f.operation) for f in found] == [
        ("property_authorization.sensitive-property", "GET /users/{user_id}")
    ]
    finding = found[0]
    assert finding.severity is Severity.high and finding.confidence is Confidence.confirmed
    assert "`password_hash` (credential, holds a password hash)" in finding.detail
    assert "`ssn`" in finding.detail


async def test_sensitive_properties_reports_flags_and_internal_notes_at_info():
    # A name alone gives at most info (issue 21, class 11).
    found = await _run(
        SENSITIVE, {"items": [{"id": 1, "is_admin": False, "internal_notes": "margin 20%"}]}
    )

    assert found[0].severity is Severity.info
    assert "`items[].is_admin` (authorization flag by name only)" in found[0].detail


async def test_sensitive_properties_reports_a_token_name_holding_a_link_at_info():
    # Label Studio's invite: a field named token that holds the organisation's invite link.
    found = await _run(SENSITIVE, {"token": "http://127.0.0.1:8080/user/signup/?token=abc123"})

    assert [(f.severity, "secret by name only" in f.detail) for f in found] == [
        (Severity.info, True)
    ]


async def test_sensitive_properties_reports_a_key_shaped_value_under_a_secret_name():
    found = await _run(SENSITIVE, {"id": "u-1", "api_key": "zq8Jv3tPpW4LrNfX9aKd"})

    assert [(f.severity, "`api_key` (secret" in f.detail) for f in found] == [(Severity.high, True)]


async def test_sensitive_properties_reports_a_value_whatever_its_name():
    found = await _run(SENSITIVE, {"id": "u-1", "legacy": BCRYPT})

    assert "`legacy` (by value: a password hash)" in found[0].detail


async def test_sensitive_properties_reads_dynamodb_wire_format():
    key = "zq8Jv3tPpW4LrNfX9aKd"
    found = await _run(SENSITIVE, {"Item": {"id": {"S": "u-1"}, "api_key": {"S": key}}})

    assert "`Item.api_key` (secret)" in found[0].detail


@pytest.mark.parametrize(
    "body",
    [
        {"id": "u-1", "password_hash": "********", "ssn": "[redacted]"},
        {"id": "u-1", "ssn_last4": "5358", "api_key_id": "key-123456789"},
        {"items": [], "next_token": "eyJwYWdlIjoyfQ==", "prompt_tokens": 12},
        {"id": "u-1", "password_changed_at": "2024-01-01T00:00:00Z", "has_password": True},
        {"openapi": "3.0.3", "paths": {}, "components": {"schemas": {"password_hash": "x"}}},
    ],
    ids=["masked", "describes-not-holds", "pagination-token", "password-metadata", "api-doc"],
)
async def test_sensitive_properties_stays_quiet_when_nothing_sensitive_is_held(body: Any):
    assert await _run(SENSITIVE, body) == []


async def test_sensitive_properties_stays_quiet_on_a_login_operations_token():
    login = Operation(method="GET", path="/auth/token", summary="Issue a token")

    found = await _run(
        SENSITIVE, {"access_token": "abcdef0123456789"}, path="/auth/token", operation=login
    )

    assert found == []


async def test_sensitive_properties_stays_quiet_on_the_scans_own_key_echoed_back():
    key = "k3y-0f-the-scan-1234"
    scan = ScanRequest(target=BASE, identities={"alice": Credential(query=(("api_key", key),))})

    assert await _run(SENSITIVE, {"id": "u-1", "api_key": key}, scan=scan) == []


# --- undeclared_properties -------------------------------------------------------------------

USER_SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}, "name": {}}}


async def _undeclared(body: Any, schema: dict[str, Any]) -> list[Finding]:
    operation = Operation(method="GET", path="/users/{user_id}", responses=_ok(schema))
    return await _run(UNDECLARED, body, operation=operation)


async def test_undeclared_properties_reports_what_the_schema_does_not_list():
    found = await _undeclared(USER, USER_SCHEMA)

    assert found[0].confidence is Confidence.confirmed
    assert found[0].severity is Severity.low
    assert "`password_hash`, `ssn`" in found[0].detail


async def test_undeclared_properties_is_info_when_nothing_undeclared_is_sensitive():
    # Given Flask-AppBuilder-style metadata beside the declared record
    body = {"id": "u-1", "name": "Ann", "label_columns": {"name": "Name"}, "reload": False}

    found = await _undeclared(body, USER_SCHEMA)

    assert [(f.severity, f.confidence) for f in found] == [(Severity.info, Confidence.confirmed)]
    assert "none sensitive by name: spec drift" in found[0].detail


async def test_undeclared_properties_follows_arrays_and_composed_schemas():
    page = {
        "type": "object",
        "properties": {
            "users": {
                "type": "array",
                "items": {"allOf": [USER_SCHEMA, {"properties": {"ssn": {}}}]},
            }
        },
    }

    found = await _undeclared({"users": [USER]}, page)

    assert "`users[].password_hash`" in found[0].detail and "ssn" not in found[0].detail


async def test_undeclared_properties_reports_a_write_only_property_returned():
    schema = {
        **USER_SCHEMA,
        "properties": {
            **USER_SCHEMA["properties"],
            "password_hash": {"type": "string", "writeOnly": True},
            "ssn": {},
        },
    }

    found = await _undeclared(USER, schema)

    assert "`password_hash (writeOnly)`" in found[0].detail


@pytest.mark.parametrize(
    "schema",
    [
        {**USER_SCHEMA, "additionalProperties": True},
        {**USER_SCHEMA, "additionalProperties": {"type": "string"}},
        {"type": "object"},
        {},
        {"oneOf": [USER_SCHEMA, {"type": "object", "additionalProperties": True}]},
    ],
    ids=["additional-true", "additional-schema", "free-form", "empty", "open-branch"],
)
async def test_undeclared_properties_stays_quiet_when_the_schema_admits_extras(schema: Any):
    assert await _undeclared(USER, schema) == []


async def test_undeclared_properties_stays_bounded_on_a_schema_that_composes_itself():
    looping: dict[str, Any] = {"type": "object", "properties": {"id": {}}, "oneOf": []}
    looping["oneOf"].extend([looping, {"allOf": [looping] * 50}] * 50)

    found = await _undeclared(USER, looping)

    assert "`password_hash`, `ssn`" in found[0].detail


async def test_undeclared_properties_stays_quiet_without_a_response_schema():
    assert await _run(UNDECLARED, USER) == []


# --- client_projection -----------------------------------------------------------------------

MEMBERS = [{"name": "Ann", "status": "active"}, {"name": "Bob", "status": "away"}]
SORTED = Operation(
    method="GET", path="/members", parameters=(Parameter("sort_key", "query", examples=("name",)),)
)


def _projecting(*, allow_list: bool, echo: bool = False) -> Any:
    """A member list that copies ``sort_key`` into its projection, or checks it."""

    def answer(request: Request) -> Response:
        column = request.url.split("sort_key=", 1)[1] if "sort_key=" in request.url else "name"
        if allow_list and column not in ("name", "status"):
            return response(400, {"error": "bad sort_key"})
        if echo:
            return response(200, {"members": MEMBERS, "sort_key": column})
        extra = (
            {column: "pbkdf2_sha256$870000$abcdef0123456789"} if column == "password_hash" else {}
        )
        return response(200, {"members": [{**m, **extra} for m in MEMBERS]})

    return answer


async def _projection(
    answer: Any, operation: Operation = SORTED
) -> tuple[list[Finding], FakeSender]:
    sender = FakeSender({("GET", "/members"): answer})
    baseline = exchange("GET", "/members?sort_key=name", response(200, {"members": MEMBERS}))
    found = await run_check(
        PROJECTION, baseline=make_baseline([(operation, baseline)]), sender=sender
    )
    return found, sender


async def test_client_projection_reports_a_sort_key_that_returns_password_hashes():
    found, sender = await _projection(_projecting(allow_list=False))

    assert [(f.type_id, f.parameter) for f in found] == [
        ("property_authorization.client-chosen-projection", "sort_key")
    ]
    assert "`password_hash` in 2 record(s)" in found[0].detail
    assert [e.label for e in found[0].evidence] == ["probe", "baseline"]
    assert len(sender.sent) == 1


@pytest.mark.parametrize(
    ("allow_list", "echo"), [(True, False), (False, True)], ids=["allow-listed", "echoed"]
)
async def test_client_projection_stays_quiet_when_the_attribute_never_comes_back(
    allow_list: bool, echo: bool
):
    found, sender = await _projection(_projecting(allow_list=allow_list, echo=echo))

    assert found == []
    assert len(sender.sent) == 2  # password_hash, then password


async def test_client_projection_tries_an_undeclared_fields_parameter_once():
    plain_list = Operation(method="GET", path="/members")

    found, sender = await _projection(
        lambda request: response(200, {"members": MEMBERS}), plain_list
    )

    assert found == []
    assert [r.url.removeprefix(BASE) for r in sender.sent] == [
        "/members?sort_key=name&fields=password_hash"  # the baseline request, one more parameter
    ]


async def test_undeclared_properties_is_info_for_the_scans_own_key_echoed_back():
    key = "k3y-0f-the-scan-1234"
    scan = ScanRequest(target=BASE, identities={"alice": Credential(query=(("api_key", key),))})
    operation = Operation(method="GET", path="/me/token", responses=_ok(USER_SCHEMA))

    found = await _run(UNDECLARED, {"id": "u-1", "api_key": key}, operation=operation, scan=scan)

    assert [f.severity for f in found] == [Severity.info]
