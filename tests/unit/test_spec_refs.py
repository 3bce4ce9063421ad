"""``$ref`` resolution: one object graph, cycle-safe, confined to the document's folder."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

from middlebrick.spec._yaml import parse_document
from middlebrick.spec.load import load_spec, parse_spec
from middlebrick.spec.refs import resolve_refs


def _write(base: Path, name: str, text: str) -> Path:
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip(), encoding="utf-8")
    return path


def _resolve(doc: Any, **kwargs: Any) -> tuple[Any, tuple[str, ...]]:
    return resolve_refs(doc, location=None, parse=parse_document, **kwargs)


def test_recursive_schema_becomes_a_cycle_not_a_copy() -> None:
    doc = {
        "components": {
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Node"},
                        },
                        "parent": {"$ref": "#/components/schemas/Node"},
                    },
                }
            }
        }
    }

    resolved, warnings = _resolve(doc)

    node = resolved["components"]["schemas"]["Node"]
    assert node["properties"]["children"]["items"] is node
    assert node["properties"]["parent"] is node
    assert warnings == ()


def test_mutually_recursive_schemas_share_identity() -> None:
    doc = {
        "A": {"properties": {"b": {"$ref": "#/B"}}},
        "B": {"properties": {"a": {"$ref": "#/A"}}},
        "use": {"$ref": "#/A"},
    }

    resolved, _ = _resolve(doc)

    assert resolved["use"] is resolved["A"]
    assert resolved["A"]["properties"]["b"]["properties"]["a"] is resolved["A"]


def test_reference_loop_becomes_empty_schema_with_a_warning() -> None:
    doc = {"A": {"$ref": "#/B"}, "B": {"$ref": "#/A"}, "C": {"$ref": "#/C"}}

    resolved, warnings = _resolve(doc)

    assert resolved["A"] == {} and resolved["B"] == {} and resolved["C"] == {}
    assert warnings == ("could not resolve 2 $refs (it refers back to itself): '#/A', '#/C'",)


def test_shared_structures_are_walked_once() -> None:
    # ten levels of ten references to the level below: 10**10 paths, 100 containers
    level: Any = [{"$ref": "#/leaf"}]
    for _ in range(10):
        level = [level] * 10
    doc = {"leaf": {"type": "string"}, "tree": level}

    resolved, warnings = _resolve(doc)

    assert warnings == ()
    inner = resolved["tree"]
    for _ in range(10):
        inner = inner[0]
    assert inner[0] is resolved["leaf"]


def test_json_pointer_escapes_and_percent_encoding() -> None:
    doc = {
        "paths": {"/users/{id}": {"get": {"x": 1}}, "a~b": {"y": 2}},
        "list": [{"z": 3}],
        "r1": {"$ref": "#/paths/~1users~1%7Bid%7D/get"},
        "r2": {"$ref": "#/paths/a~0b"},
        "r3": {"$ref": "#/list/0"},
        "r4": {"$ref": "#/list/7"},
        "r5": {"$ref": "#anchor"},
    }

    resolved, warnings = _resolve(doc)

    assert resolved["r1"] is resolved["paths"]["/users/{id}"]["get"]
    assert resolved["r2"] == {"y": 2}
    assert resolved["r3"] == {"z": 3}
    assert resolved["r4"] == {} and resolved["r5"] == {}
    assert warnings == (
        "could not resolve $ref '#/list/7': '7' is not in the document",
        "could not resolve $ref '#anchor': only JSON pointers (#/...) are supported",
    )


def test_siblings_of_a_ref_are_merged_over_the_target_in_a_new_mapping() -> None:
    doc = {
        "Pet": {"type": "object", "description": "a pet"},
        "use": {"$ref": "#/Pet", "description": "the owner's pet", "readOnly": True},
    }

    resolved, _ = _resolve(doc)

    assert resolved["use"] == {"type": "object", "description": "the owner's pet", "readOnly": True}
    assert resolved["Pet"]["description"] == "a pet"


def test_relative_file_refs_resolve_and_files_are_cached_by_absolute_path(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "api/schemas/pet.yaml",
        """
        Pet:
          type: object
          properties:
            owner: {$ref: '../../common/owner.yaml'}
            friend: {$ref: '#/Pet'}
        """,
    )
    _write(tmp_path, "common/owner.yaml", "type: object\nproperties: {name: {type: string}}\n")
    _write(
        tmp_path,
        "api/paths/pets.yaml",
        """
        get:
          responses:
            '200':
              content:
                application/json:
                  schema: {$ref: '../schemas/pet.yaml#/Pet'}
        """,
    )
    root = _write(
        tmp_path,
        "api/openapi.yaml",
        """
        openapi: 3.0.0
        paths:
          /pets: {$ref: './paths/pets.yaml'}
        components:
          schemas:
            Pet: {$ref: 'schemas/pet.yaml#/Pet'}
        """,
    )

    spec = load_spec(root, root=tmp_path)

    schema = spec.operations[0].success_schema()
    assert schema is not None
    assert schema["properties"]["owner"]["properties"] == {"name": {"type": "string"}}
    assert schema["properties"]["friend"] is schema
    assert spec.warnings == ()
    # the same file reached by two relative paths is loaded once: one object
    doc = parse_document(root.read_bytes(), str(root))
    resolved, _ = resolve_refs(doc, location=root, parse=parse_document, allowed_root=tmp_path)
    media = resolved["paths"]["/pets"]["get"]["responses"]["200"]["content"]["application/json"]
    assert media["schema"] is resolved["components"]["schemas"]["Pet"]


def test_refs_outside_the_documents_folder_are_refused_with_a_warning(tmp_path: Path) -> None:
    _write(tmp_path, "secret.yaml", "type: string\n")
    root = _write(
        tmp_path,
        "api/openapi.yaml",
        f"""
        openapi: 3.0.0
        paths:
          /a:
            get:
              parameters:
                - {{name: a, in: query, schema: {{$ref: '../secret.yaml'}}}}
                - {{name: b, in: query, schema: {{$ref: 'file://{tmp_path}/secret.yaml'}}}}
                - {{name: c, in: query, schema: {{$ref: 'missing.yaml'}}}}
        """,
    )

    spec = load_spec(root)

    assert [p.schema for p in spec.operations[0].parameters] == [{}, {}, {}]
    assert spec.warnings == (
        "could not resolve $ref '../secret.yaml': outside the document's folder "
        "(--spec-root widens it)",
        f"could not resolve $ref 'file://{tmp_path}/secret.yaml': a file: URL; only files "
        "beside the document are read",
        "could not resolve $ref 'missing.yaml': no such file",
    )
    widened = load_spec(root, root=tmp_path)
    assert widened.operations[0].parameters[0].schema == {"type": "string"}


def test_non_yaml_files_are_refused_with_a_warning(tmp_path: Path) -> None:
    _write(tmp_path, "samples/C#/echo.cs", "var client = new Client();\n")
    root = _write(
        tmp_path,
        "openapi.yaml",
        """
        openapi: 3.1.0
        paths:
          /echo:
            post:
              x-codeSamples:
                - {lang: 'C#', source: {$ref: 'samples/C%23/echo.cs'}}
        """,
    )
    doc = parse_document(root.read_bytes(), str(root))

    resolved, warnings = resolve_refs(
        doc, location=root, parse=parse_document, allowed_root=tmp_path
    )

    sample = resolved["paths"]["/echo"]["post"]["x-codeSamples"][0]
    assert sample["source"] == {}
    assert warnings == (
        "could not resolve $ref 'samples/C%23/echo.cs': not a .json, .yaml or .yml file",
    )
    assert load_spec(root).operations[0].key == "POST /echo"


def test_remote_refs_are_unresolved_without_fetch_and_fetched_with_it() -> None:
    doc = {
        "openapi": "3.0.0",
        "paths": {
            "/a": {
                "get": {
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"$ref": "https://x.test/s.json"}}
                    ]
                }
            }
        },
    }
    text = json.dumps(doc)

    spec = parse_spec(text, source="a.json")
    assert spec.operations[0].parameters[0].schema == {}
    assert spec.warnings == (
        "could not resolve $ref 'https://x.test/s.json': remote references are not followed",
    )

    def fetch(url: str) -> bytes:
        assert url == "https://x.test/s.json"
        return b'{"type": "integer"}'

    spec = parse_spec(text, source="a.json", fetch=fetch)
    assert spec.operations[0].parameters[0].schema == {"type": "integer"}

    refused: list[str] = []

    def refuse(url: str) -> bytes:
        refused.append(url)
        raise PermissionError("out of scope")

    twice = text.replace('"paths"', '"x-again": {"$ref": "https://x.test/s.json"}, "paths"')
    spec = parse_spec(twice, source="a.json", fetch=refuse)
    assert spec.warnings == (
        "could not resolve $ref 'https://x.test/s.json': it could not be fetched: out of scope",
    )
    assert refused == ["https://x.test/s.json"]  # a failed URL is not asked for again


def test_relative_refs_of_a_served_document_are_fetched_against_its_url() -> None:
    limit = b"{name: limit, in: query, schema: {type: integer}}"
    files = {"https://api.test/docs/common/limit.yaml": limit}
    doc = {
        "openapi": "3.0.0",
        "paths": {"/a": {"get": {"parameters": [{"$ref": "common/limit.yaml"}]}}},
    }

    spec = parse_spec(
        json.dumps(doc), source="https://api.test/docs/openapi.json", fetch=files.__getitem__
    )

    assert spec.operations[0].parameters[0].name == "limit"
    assert spec.warnings == ()


def test_relative_refs_without_a_known_location_are_unresolved() -> None:
    doc = {"openapi": "3.0.0", "x": {"$ref": "other.yaml#/y"}, "paths": {}}

    spec = parse_spec(json.dumps(doc), source="inline")

    assert spec.warnings == (
        "could not resolve $ref 'other.yaml#/y': the location of the document is unknown",
    )


def test_a_referenced_file_that_does_not_parse_is_a_warning(tmp_path: Path) -> None:
    _write(tmp_path, "bad.yaml", "key: [unclosed\n")
    root = _write(
        tmp_path,
        "openapi.yaml",
        "openapi: 3.0.0\npaths:\n  /a: {$ref: 'bad.yaml'}\n",
    )

    spec = load_spec(root)

    assert spec.operations == ()
    assert len(spec.warnings) == 1
    assert spec.warnings[0].startswith("could not resolve $ref 'bad.yaml': it cannot be loaded (")
    assert "is neither JSON nor YAML" in spec.warnings[0]
