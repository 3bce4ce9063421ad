"""Reading Postman collections (v2.0 and v2.1) as API descriptions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from middlebrick.discovery import discover
from middlebrick.errors import SpecError
from middlebrick.report import SpecInfo
from middlebrick.spec.load import parse_spec
from middlebrick.spec.model import ApiSpec, Operation
from middlebrick.spec.postman import postman_version, rebased
from middlebrick.testing import BASE, FakeSender, response

V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
V20 = "https://schema.getpostman.com/json/collection/v2.0.0/collection.json"
SECRET = "tok-3b1e9f0c-never-leaves"


def _load(collection: dict[str, Any]) -> ApiSpec:
    return parse_spec(json.dumps(collection), source="Postman.json")


def _op(spec: ApiSpec, key: str) -> Operation:
    found = [op for op in spec.operations if op.key == key]
    assert found, f"{key} not in {[op.key for op in spec.operations]}"
    return found[0]


def _request(name: str, url: Any, method: str = "GET", **extra: Any) -> dict[str, Any]:
    return {"name": name, "request": {"method": method, "url": url, **extra}}


GOAT = {
    "info": {"name": "REST API Goat", "schema": V21},
    "variable": [
        {"key": "baseUrl", "value": "http://localhost:5000"},
        {"key": "token", "value": SECRET},
    ],
    "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}"}]},
    "item": [
        {
            "name": "customers",
            "item": [
                _request(
                    "Get customers",
                    {
                        "raw": "{{baseUrl}}/get_customers?limit=10",
                        "host": ["{{baseUrl}}"],
                        "path": ["get_customers"],
                        "query": [
                            {"key": "limit", "value": "10"},
                            {"key": "debug", "value": "1", "disabled": True},
                        ],
                    },
                ),
                _request("Get customer 1", "{{baseUrl}}/get_customer_v1/1"),
                _request("Get customer 2", "{{baseUrl}}/get_customer_v1/2"),
                _request("Get account", "{{baseUrl}}/accounts/7"),
                _request(
                    "Get user",
                    {
                        "raw": "{{baseUrl}}/users/:user_id",
                        "host": ["{{baseUrl}}"],
                        "path": ["users", ":user_id"],
                        "variable": [{"key": "user_id", "value": "42"}],
                    },
                    header=[
                        {"key": "X-Tenant", "value": "acme"},
                        {"key": "Accept", "value": "application/json"},
                        {"key": "X-API-Key", "value": SECRET},
                    ],
                ),
            ],
        },
        {
            "name": "money",
            "auth": {"type": "noauth"},
            "item": [
                _request(
                    "Transfer",
                    "{{baseUrl}}/transfer",
                    "PUT",
                    header=[{"key": "Content-Type", "value": "application/json"}],
                    body={
                        "mode": "raw",
                        "raw": '{"from": 1, "to": {{to}}, "amount": 9.5, "note": "{{baseUrl}}",'
                        ' "tags": ["a"], "meta": {"ok": true}}',
                        "options": {"raw": {"language": "json"}},
                    },
                ),
                _request("Balance", "{{baseUrl}}/balance", auth={"type": "inherit"}),
                _request(
                    "Login",
                    "{{baseUrl}}/login",
                    "POST",
                    body={
                        "mode": "urlencoded",
                        "urlencoded": [
                            {"key": "username", "value": "alice"},
                            {"key": "password", "value": "{{password}}"},
                        ],
                    },
                ),
                _request(
                    "Upload",
                    "{{baseUrl}}/upload",
                    "POST",
                    auth={"type": "basic", "basic": [{"key": "password", "value": SECRET}]},
                    body={"mode": "formdata", "formdata": [{"key": "f", "type": "file"}]},
                ),
            ],
        },
    ],
}


def test_postman_v21_collection_becomes_operations_with_the_server_from_the_host_variable():
    spec = _load(GOAT)
    assert spec.spec_version == "postman-2.1.0"
    assert spec.title == "REST API Goat"
    assert spec.servers == ("http://localhost:5000",)
    assert _op(spec, "GET /get_customers").tags == ("customers",)
    limit, debug = _op(spec, "GET /get_customers").params("query")
    assert (limit.name, limit.examples, debug.name, debug.examples) == (
        "limit",
        ("10",),
        "debug",
        (),
    )


def test_postman_path_variables_become_templates_with_their_examples():
    spec = _load(GOAT)
    (user_id,) = _op(spec, "GET /users/{user_id}").params("path")
    assert (user_id.required, user_id.examples) == (True, ("42",))


def test_postman_concrete_ids_are_templated_with_the_tried_value_as_example():
    spec = _load(GOAT)
    (param,) = _op(spec, "GET /get_customer_v1/{id}").params("path")
    assert param.examples == ("1", "2")
    (account,) = _op(spec, "GET /accounts/{id}").params("path")  # one request is enough
    assert (account.examples, account.schema) == (("7",), {"type": "integer"})


def test_postman_numbers_after_a_version_word_stay_versions_unless_requests_differ_there():
    spec = _load(
        {
            "info": {"name": "v", "schema": V21},
            "item": [
                _request("jira", "http://h/rest/api/2/issue/10042"),
                _request("first", "http://h/2/tweets"),
            ],
        }
    )
    assert {op.path for op in spec.operations} == {"/rest/api/2/issue/{id}", "/2/tweets"}


def test_postman_versions_in_paths_are_never_templated():
    spec = _load(
        {
            "info": {"name": "v", "schema": V21},
            "item": [
                _request("a", "http://h/api/v1/users"),
                _request("b", "http://h/api/v2/users"),
            ],
        }
    )
    assert {op.path for op in spec.operations} == {"/api/v1/users", "/api/v2/users"}


def test_postman_auth_is_inherited_from_folders_and_the_collection():
    spec = _load(GOAT)
    assert _op(spec, "GET /get_customers").security == ({"bearer": ()},)
    assert _op(spec, "GET /users/{user_id}").security == ({"bearer": (), "apikey X-API-Key": ()},)
    assert _op(spec, "PUT /transfer").security == ()  # the folder says noauth
    assert _op(spec, "GET /balance").security == ()  # inherits the folder's noauth
    assert _op(spec, "POST /upload").security == ({"basic": ()},)
    assert spec.security_schemes["apikey X-API-Key"].param_name == "X-API-Key"


def test_postman_credential_values_are_never_kept():
    spec = _load(GOAT)
    assert SECRET not in repr(spec)
    (header,) = _op(spec, "GET /users/{user_id}").params("header")
    assert (header.name, header.examples, header.required) == ("X-Tenant", ("acme",), False)


def test_postman_json_body_gives_a_schema_inferred_from_the_example():
    body = _op(_load(GOAT), "PUT /transfer").request_body
    assert body is not None and body.content_type == "application/json"
    assert body.schema["properties"] == {
        "from": {"type": "integer"},
        "to": {"type": "string"},
        "amount": {"type": "number"},
        "note": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "meta": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
    }
    (example,) = body.examples
    assert example["from"] == 1 and example["note"] == "http://localhost:5000"
    assert isinstance(example["to"], str) and "{{" not in example["to"]


def test_postman_form_bodies_become_form_schemas():
    spec = _load(GOAT)
    login = _op(spec, "POST /login").request_body
    assert login is not None and login.content_type == "application/x-www-form-urlencoded"
    assert login.examples == ({"username": "alice", "password": ""},)
    upload = _op(spec, "POST /upload").request_body
    assert upload is not None and upload.content_type == "multipart/form-data"
    assert upload.schema["properties"]["f"] == {"type": "string", "format": "binary"}


def test_postman_v20_auth_objects_and_url_variable_ids_are_read():
    spec = _load(
        {
            "info": {"name": "old", "schema": V20},
            "item": [
                {
                    "name": "item",
                    "request": {
                        "method": "get",
                        "auth": {"type": "apikey", "apikey": {"key": "x-key", "value": SECRET}},
                        "url": {
                            "raw": "https://api.example.com/v1/items/:item",
                            "protocol": "https",
                            "host": ["api", "example", "com"],
                            "path": ["v1", "items", ":item"],
                            "variable": [{"id": "item", "value": "abc"}],
                        },
                    },
                },
                "not an item",
            ],
        }
    )
    assert spec.spec_version == "postman-2.0.0"
    assert spec.servers == ("https://api.example.com",)
    op = _op(spec, "GET /v1/items/{item}")
    assert op.params("path")[0].examples == ("abc",)
    assert op.security == ({"apikey x-key": ()},)
    assert SECRET not in repr(spec)


def test_postman_variables_resolve_through_each_other_and_loops_are_said():
    spec = _load(
        {
            "info": {"name": "vars"},
            "variable": [
                {"key": "host", "value": "{{scheme}}://localhost:8080/{{prefix}}"},
                {"key": "scheme", "value": "http"},
                {"key": "prefix", "value": "api"},
                {"key": "me", "value": "x{{me}}"},
                {"key": "a", "value": "{{b}}"},
                {"key": "b", "value": "{{a}}"},
            ],
            "item": [
                _request("one", "{{host}}/things/{{thing}}?q={{me}}&r={{a}}"),
                _request("two", "{{host}}/v{{n}}/x"),
            ],
        }
    )
    assert spec.spec_version == "postman-2.1.0"  # info and item, no schema: the current format
    assert spec.servers == ("http://localhost:8080/api",)
    op = _op(spec, "GET /things/{thing}")
    assert op.params("path")[0].examples == ()  # no value: a template without example
    assert [p.examples for p in op.params("query")] == [(), ()]
    assert _op(spec, "GET /v{n}/x").params("path")[0].name == "n"
    assert any("refer to themselves" in w for w in spec.warnings)


def test_postman_requests_to_other_hosts_are_left_out_with_a_note():
    spec = _load(
        {
            "info": {"name": "hosts", "schema": V21},
            "item": [
                _request("a", "{{baseUrl}}/a"),
                _request("b", "{{baseUrl}}/b"),
                _request("token", "https://auth.example.com/oauth/token", "POST"),
            ],
        }
    )
    assert [op.key for op in spec.operations] == ["GET /a", "GET /b"]
    assert spec.servers == ()  # an unknown base: the scan target
    assert any("auth.example.com" in w for w in spec.warnings)


def test_postman_collection_inside_the_api_envelope_and_v1_refused():
    wrapped = {"collection": {"info": {"name": "w", "schema": V21}, "item": [_request("a", "/a")]}}
    assert [op.key for op in _load(wrapped).operations] == ["GET /a"]
    assert postman_version({"openapi": "3.0.0"}) is None
    with pytest.raises(SpecError, match="retired v1 format"):
        _load({"name": "v1", "order": [], "requests": [{"url": "http://h/a"}]})


def test_postman_urls_of_its_own_server_move_to_the_scan_target():
    spec = _load(
        {
            "info": {"name": "relay", "schema": V21},
            "variable": [{"key": "baseUrl", "value": "http://localhost:5000"}],
            "item": [
                _request("relay", "{{baseUrl}}/relay?url={{baseUrl}}/feed&other=http://x/y"),
                _request(
                    "hook",
                    "{{baseUrl}}/hooks",
                    "POST",
                    body={"mode": "raw", "raw": '{"callback": {"url": "{{baseUrl}}/cb"}}'},
                ),
            ],
        }
    )
    relay, hook = rebased(spec, "http://127.0.0.1:8001/api")
    assert [p.examples for p in relay.params("query")] == [
        ("http://127.0.0.1:8001/feed",),
        ("http://x/y",),
    ]
    assert hook.request_body is not None
    assert hook.request_body.examples == ({"callback": {"url": "http://127.0.0.1:8001/cb"}},)


async def test_a_postman_collection_a_docs_page_links_to_is_the_served_description():
    # Given a docs page linking to a collection on its own origin, which names its own host
    collection = {
        "info": {"name": "served", "schema": V21},
        "variable": [{"key": "baseUrl", "value": "http://localhost:5000"}],
        "item": [_request("relay", "{{baseUrl}}/relay?url={{baseUrl}}/feed")],
    }
    page = '<a href="/docs/Postman_collection.json">Postman collection</a>'
    sender = FakeSender(
        {
            ("GET", ""): response(200, page, {"Content-Type": "text/html"}),
            ("GET", "/docs/Postman_collection.json"): response(200, collection),
        }
    )
    # When the surface of the target, whose page that is, is discovered
    surface = await discover(sender, BASE, probe=0)
    # Then the collection's request is the surface, its URL example moved to the target
    assert surface.origin == f"spec served at {BASE}/docs/Postman_collection.json"
    (op,) = surface.operations
    assert op.key == "GET /relay"
    assert op.params("query")[0].examples == (BASE + "/feed",)


def test_postman_credentials_in_the_query_and_bodies_are_schemes_or_made_up_never_kept():
    spec = _load(
        {
            "info": {"name": "keys", "schema": V21},
            "item": [
                _request("maps", f"http://h/maps?api_key={SECRET}&q=paris"),
                _request(
                    "login",
                    "http://h/login",
                    "POST",
                    body={"mode": "raw", "raw": json.dumps({"user": "al", "password": SECRET})},
                ),
            ],
        }
    )
    maps = _op(spec, "GET /maps")
    assert [p.name for p in maps.parameters] == ["q"]
    assert maps.security == ({"apikey api_key": ()},)
    assert spec.security_schemes["apikey api_key"].location == "query"
    body = _op(spec, "POST /login").request_body
    assert body is not None and body.examples[0]["user"] == "al"
    assert SECRET not in repr(spec)


def test_postman_userinfo_in_a_host_is_never_kept():
    spec = _load(
        {
            "info": {"name": "userinfo", "schema": V21},
            "variable": [{"key": "base", "value": f"https://bob:{SECRET}@api.test/v1"}],
            "item": [
                _request("a", "{{base}}/a"),
                _request("b", "{{base}}/b"),
                _request("c", f"http://eve:{SECRET}@other.test/c"),
            ],
        }
    )
    assert spec.servers == ("https://api.test/v1",)
    assert any("other.test" in w for w in spec.warnings)
    assert SECRET not in repr(spec)


def test_reports_name_a_collection_as_such():
    assert SpecInfo(source="p", spec_version="postman-2.1.0").kind == "Postman Collection v2.1.0"
    assert SpecInfo(source="p", spec_version="3.0.3").kind == "OpenAPI/Swagger 3.0.3"
