"""Loading Swagger 2.0 / OpenAPI 3.0 / 3.1 documents into the normalised model."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from middlebrick.errors import SpecError
from middlebrick.spec.load import load_spec, parse_spec

SWAGGER_2 = dedent(
    """
    swagger: 2.0
    info: {title: Pets, version: 1.2}
    host: api.example.com
    basePath: /v1
    schemes: [https, http]
    consumes: [application/json]
    produces: [application/json, application/xml]
    securityDefinitions:
      basicAuth: {type: basic}
      key: {type: apiKey, in: header, name: X-API-Key}
    security: [{key: []}]
    paths:
      /pets/{petId}:
        parameters:
          - {name: petId, in: path, type: integer, format: int64, minimum: 1}
          - {name: verbose, in: query, type: boolean, default: false}
        get:
          operationId: getPet
          summary: One pet
          tags: [pets]
          parameters:
            - {name: verbose, in: query, type: string, enum: [asc, desc], x-example: desc}
          responses:
            200: {description: ok, schema: {$ref: '#/definitions/Pet'}}
            default: {description: error}
        put:
          security: []
          deprecated: true
          parameters:
            - {name: body, in: body, required: true, schema: {$ref: '#/definitions/Pet'}}
          responses: {204: {description: done}}
      /pets/{petId}/photo:
        post:
          consumes: [multipart/form-data]
          security: [{basicAuth: []}]
          parameters:
            - {name: petId, in: path, type: integer}
            - {name: caption, in: formData, type: string, required: true}
            - {name: file, in: formData, type: file}
          responses: {201: {description: created}}
        x-internal: true
      /search:
        get:
          schemes: [http]
          parameters:
            - {name: tags, in: query, type: array, items: {type: string}, collectionFormat: csv}
            - {name: page, in: formData, type: integer}
          responses: {200: {description: ok}}
    definitions:
      Pet:
        type: object
        required: [name]
        properties:
          name: {type: string}
    """
)

OPENAPI_30 = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "3"},
    "servers": [
        {
            "url": "https://{region}.example.com:{port}/{base}",
            "variables": {
                "region": {"default": "eu", "enum": ["eu", "us"]},
                "port": {"default": "8443"},
                "base": {"enum": ["api"]},
            },
        }
    ],
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "Bearer", "bearerFormat": "JWT"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x/.well-known"},
        },
        "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}}},
    },
    "paths": {
        "/orders": {
            "servers": [{"url": "/orders-api"}],
            "get": {
                "parameters": [
                    {"$ref": "#/components/parameters/Limit"},
                    {
                        "name": "filter",
                        "in": "query",
                        "content": {
                            "application/json": {"schema": {"type": "object"}, "example": {"a": 1}}
                        },
                    },
                    {
                        "name": "X-Trace",
                        "in": "header",
                        "schema": {"type": "string"},
                        "examples": {"one": {"value": "abc"}, "two": {"summary": "no value"}},
                    },
                ],
                "responses": {
                    "200": {"content": {"application/json": {"schema": {"type": "array"}}}},
                    "4XX": {"description": "client error"},
                },
            },
            "post": {
                "servers": [{"url": "https://write.example.com"}],
                "security": [{"bearer": []}, {}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "text/plain": {"schema": {"type": "string"}},
                        "application/json; charset=utf-8": {
                            "schema": {"type": "object"},
                            "example": {"sku": "A1"},
                        },
                    },
                },
                "responses": {"201": {"description": "created"}},
            },
        },
        "/empty": {},
        "x-extension": {"get": {"responses": {}}},
    },
}

OPENAPI_31 = {
    "openapi": "3.1.0",
    "info": {"title": "Hooks", "version": "1"},
    "webhooks": {"newPet": {"post": {"requestBody": {"content": {"application/json": {}}}}}},
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_swagger_2_operations_are_normalised(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, "swagger.yaml", SWAGGER_2))

    assert spec.spec_version == "2.0"
    assert (spec.title, spec.version) == ("Pets", "1.2")
    assert spec.servers == ("https://api.example.com/v1", "http://api.example.com/v1")
    assert [op.key for op in spec.operations] == [
        "GET /pets/{petId}",
        "PUT /pets/{petId}",
        "POST /pets/{petId}/photo",
        "GET /search",
    ]
    get = spec.operations[0]
    assert (get.operation_id, get.summary, get.tags) == ("getPet", "One pet", ("pets",))
    assert [(p.name, p.location, p.required) for p in get.parameters] == [
        ("petId", "path", True),
        ("verbose", "query", False),
    ]
    assert get.parameters[0].schema == {"type": "integer", "format": "int64", "minimum": 1}
    verbose = get.parameters[1]
    assert verbose.schema == {"type": "string", "enum": ["asc", "desc"]}  # operation overrides path
    assert verbose.examples == ("desc",)
    assert set(get.responses) == {"200", "default"}
    assert get.responses["200"]["application/xml"]["required"] == ["name"]
    assert get.responses["default"] == {}


def test_swagger_2_body_and_form_data_become_request_bodies(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, "swagger.yaml", SWAGGER_2))

    put = spec.operation("PUT", "/pets/{petId}")
    assert put is not None and put.request_body is not None
    assert put.request_body.content_type == "application/json"
    assert put.request_body.required
    assert put.request_body.schema["properties"] == {"name": {"type": "string"}}
    assert [p.name for p in put.parameters] == ["petId", "verbose"]  # body is not a parameter

    photo = spec.operation("POST", "/pets/{petId}/photo")
    assert photo is not None and photo.request_body is not None
    assert photo.request_body.content_type == "multipart/form-data"
    assert photo.request_body.schema == {
        "type": "object",
        "properties": {
            "caption": {"type": "string"},
            "file": {"type": "string", "format": "binary"},
        },
        "required": ["caption"],
    }
    search = spec.operation("GET", "/search")
    assert search is not None and search.request_body is not None
    assert search.request_body.content_type == "application/x-www-form-urlencoded"
    assert search.parameters[0].schema == {"type": "array", "items": {"type": "string"}}


def test_swagger_2_security_inherits_overrides_and_empty_list_means_public(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, "swagger.yaml", SWAGGER_2))
    by_key = {op.key: op for op in spec.operations}

    assert by_key["GET /pets/{petId}"].security == ({"key": ()},)
    assert by_key["GET /pets/{petId}"].requires_auth
    assert by_key["PUT /pets/{petId}"].security == ()
    assert not by_key["PUT /pets/{petId}"].requires_auth
    assert by_key["PUT /pets/{petId}"].deprecated
    assert by_key["POST /pets/{petId}/photo"].security == ({"basicAuth": ()},)
    assert spec.security_schemes["basicAuth"].type == "http"
    assert spec.security_schemes["basicAuth"].scheme == "basic"
    key = spec.security_schemes["key"]
    assert (key.type, key.location, key.param_name) == ("apiKey", "header", "X-API-Key")


def test_swagger_2_operation_schemes_give_its_servers(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, "swagger.yaml", SWAGGER_2))

    search = spec.operation("GET", "/search")
    assert search is not None
    assert search.servers == ("http://api.example.com/v1",)
    assert spec.operations[0].servers == spec.servers


def test_swagger_2_without_host_keeps_base_path_as_server() -> None:
    doc = {"swagger": "2.0", "basePath": "api", "paths": {"/a": {"get": {}}}}

    spec = parse_spec(json.dumps(doc), source="inline.json")

    assert spec.servers == ("/api",)


def test_openapi_30_parameters_bodies_and_responses() -> None:
    spec = parse_spec(json.dumps(OPENAPI_30), source="shop.json")

    assert [op.key for op in spec.operations] == ["GET /orders", "POST /orders"]
    get, post = spec.operations
    limit, filt, trace = get.parameters
    assert (limit.name, limit.location, limit.schema) == ("limit", "query", {"type": "integer"})
    assert filt.schema == {"type": "object"} and filt.examples == ({"a": 1},)
    assert (trace.location, trace.examples) == ("header", ("abc",))
    assert get.responses == {"200": {"application/json": {"type": "array"}}, "4XX": {}}
    assert get.success_schema() == {"type": "array"}
    assert post.request_body is not None
    assert post.request_body.content_type == "application/json; charset=utf-8"
    assert post.request_body.examples == ({"sku": "A1"},)
    assert post.request_body.required


def test_openapi_30_servers_substitute_variables_and_nest() -> None:
    spec = parse_spec(json.dumps(OPENAPI_30), source="shop.json")

    assert spec.servers == ("https://eu.example.com:8443/api",)
    get, post = spec.operations
    assert get.servers == ("/orders-api",)  # path-level
    assert post.servers == ("https://write.example.com",)  # operation-level


def test_openapi_30_security_none_when_undeclared_and_optional_alternative() -> None:
    spec = parse_spec(json.dumps(OPENAPI_30), source="shop.json")
    get, post = spec.operations

    assert get.security is None
    assert post.security == ({"bearer": ()}, {})
    assert not post.requires_auth  # the empty alternative makes credentials optional
    assert spec.security_schemes["bearer"].scheme == "bearer"
    assert spec.security_schemes["cookie"].location == "cookie"
    assert spec.security_schemes["oidc"].type == "openIdConnect"


def test_openapi_31_with_only_webhooks_loads_with_no_operations() -> None:
    spec = parse_spec(json.dumps(OPENAPI_31), source="hooks.json")

    assert spec.spec_version == "3.1.0"
    assert spec.operations == ()
    assert spec.warnings == ()


def test_openapi_31_type_arrays_and_ref_siblings_are_kept() -> None:
    doc = {
        "openapi": "3.1.0",
        "paths": {
            "/a": {
                "get": {
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "schema": {"$ref": "#/$defs/Q", "description": "the query"},
                        }
                    ]
                }
            }
        },
        "$defs": {"Q": {"type": ["string", "null"], "const": "x"}},
    }

    spec = parse_spec(json.dumps(doc), source="a.json")

    schema = spec.operations[0].parameters[0].schema
    assert schema == {"type": ["string", "null"], "const": "x", "description": "the query"}


def test_path_item_ref_to_another_file_is_followed(tmp_path: Path) -> None:
    _write(tmp_path, "paths/users.yaml", "get:\n  responses: {}\npost:\n  responses: {}\n")
    root = _write(
        tmp_path,
        "openapi.yaml",
        "openapi: 3.0.0\npaths:\n  /users:\n    $ref: './paths/users.yaml'\n",
    )

    spec = load_spec(root)

    assert [op.key for op in spec.operations] == ["GET /users", "POST /users"]


def test_yaml_quirks_value_scalar_dates_and_integer_keys_load_as_strings(tmp_path: Path) -> None:
    text = dedent(
        """
        openapi: 3.0.0
        info: {title: t, version: 2024-10-01}
        paths:
          /q:
            get:
              parameters:
                - name: op
                  in: query
                  schema: {type: string, enum: [<, =, ">"]}
                  example: 2020-01-01T00:00:00Z
              responses:
                200: {description: ok}
                596: {description: odd}
        """
    )
    spec = load_spec(_write(tmp_path, "q.yaml", text.replace("<, =", "'<', =")))

    assert spec.version == "2024-10-01"
    param = spec.operations[0].parameters[0]
    assert param.schema["enum"] == ["<", "=", ">"]
    assert param.examples == ("2020-01-01T00:00:00Z",)
    assert set(spec.operations[0].responses) == {"200", "596"}


def test_yaml_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["openapi: 3.0.0", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    path = _write(tmp_path, "bomb.yaml", "\n".join(lines) + "\npaths: {}\n")

    with pytest.raises(SpecError, match="YAML bomb"):
        load_spec(path)


def test_a_few_yaml_aliases_are_fine(tmp_path: Path) -> None:
    text = "openapi: 3.0.0\nx-p: &p {name: a, in: query}\npaths: {/a: {get: {parameters: [*p]}}}\n"

    spec = load_spec(_write(tmp_path, "a.yaml", text))

    assert spec.operations[0].parameters[0].name == "a"


def test_deep_nesting_is_refused_without_crashing() -> None:
    with pytest.raises(SpecError, match="nested more than"):
        parse_spec("openapi: 3.0.0\nx: " + "[" * 60_000 + "]" * 60_000, source="deep.yaml")
    with pytest.raises(SpecError, match="nested more than"):
        parse_spec("openapi: 3.0.0\nx:\n  " + "- " * 60_000 + "x\n", source="deep.yaml")
    with pytest.raises(SpecError, match="nested more than"):
        parse_spec(
            '{"openapi": "3.0.0", "x": ' + "[" * 60_000 + "]" * 60_000 + "}", source="d.json"
        )


def test_unknown_yaml_tags_are_read_as_plain_values_never_run() -> None:
    text = "openapi: 3.0.0\ninfo: !!python/object/apply:os.system ['echo hi']\npaths: {}\n"

    spec = parse_spec(text, source="tags.yaml")

    assert spec.operations == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "tags.yaml is empty"),
        (b"key: [unclosed\n", "is neither JSON nor YAML: did not find expected ',' or ']'"),
        (
            b"just a string",
            "is not an OpenAPI or Swagger document nor a Postman collection: it has no 'openapi'",
        ),
        (b'{"info": {"title": "x"}}', "is not an OpenAPI or Swagger document"),
    ],
)
def test_spec_error_says_what_is_wrong(content: bytes, message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_spec(content, source="tags.yaml")


def test_spec_error_for_unreadable_and_too_large_files(tmp_path: Path) -> None:
    with pytest.raises(
        SpecError, match=r"cannot read the API description .*missing\.yaml: no such file"
    ):
        load_spec(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="it is a folder"):
        load_spec(tmp_path)
    big = _write(tmp_path, "big.json", '{"openapi": "3.0.0", "paths": {}}' + " " * 200)
    with pytest.raises(SpecError, match=r"big\.json is larger than the 100-byte limit"):
        load_spec(big, max_bytes=100)


def test_load_spec_of_a_url_goes_through_fetch() -> None:
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return b'{"swagger": "2.0", "paths": {"/a": {"get": {}}}}'

    spec = load_spec("https://api.example.com/swagger.json", fetch=fetch)

    assert fetched == ["https://api.example.com/swagger.json"]
    assert spec.servers == ()
    assert [op.key for op in spec.operations] == ["GET /a"]
    with pytest.raises(SpecError, match="is a URL and no way to fetch it was given"):
        load_spec("https://api.example.com/swagger.json")


def test_json_with_bom_and_utf16_is_read() -> None:
    doc = '{"openapi": "3.0.0", "info": {"title": "caf\u00e9"}, "paths": {}}'

    assert parse_spec(b"\xef\xbb\xbf" + doc.encode(), source="bom.json").title == "café"
    assert parse_spec(doc.encode("utf-16"), source="utf16.json").title == "café"
