"""Which inputs take a URL, and what the server is likely to do with it."""

from __future__ import annotations

from typing import Any

import pytest

from middlebrick.checks._urlinputs import body_request, classify, url_inputs
from middlebrick.spec.model import Operation, Parameter, RequestBody
from middlebrick.testing import BASE

NAMED, FORMAT, REDIRECT = (
    "named like a URL",
    "declared with format uri",
    "named like a redirect target",
)
NULLABLE_URL = {"anyOf": [{"type": "string", "format": "url"}, {"type": "null"}]}
A_URL = "https://example.test/a.png"


@pytest.mark.parametrize(
    ("name", "schema", "value", "expected"),
    [
        ("url", {"type": "string"}, None, ("fetch", NAMED)),
        ("imageUrl", {}, None, ("fetch", NAMED)),
        ("feed_link", {}, None, ("fetch", NAMED)),
        ("source", {"type": "string", "format": "uri"}, None, ("fetch", FORMAT)),
        ("avatar", NULLABLE_URL, None, ("fetch", FORMAT)),
        ("target", {}, A_URL, ("fetch", f"its value is a URL ({A_URL})")),
        ("next", {"type": "string"}, "/home", ("redirect", REDIRECT)),
        ("return_to", {}, None, ("redirect", REDIRECT)),
        ("redirect_uri", {}, None, ("redirect", REDIRECT)),
        ("returnUrl", {}, None, ("redirect", REDIRECT)),
        ("callback_url", {}, None, ("callback", NAMED)),
        ("webhook", {}, None, ("callback", "named like a webhook")),
        ("notify", {}, A_URL, ("callback", f"its value is a URL ({A_URL})")),
    ],
)
def test_classify_recognises_url_inputs(
    name: str, schema: dict[str, Any], value: Any, expected: tuple[str, str]
) -> None:
    assert classify(name, schema, value) == expected


@pytest.mark.parametrize(
    ("name", "schema", "value"),
    [
        ("callback", {"type": "string"}, "jsonp_cb_17"),  # JSONP, not a URL
        ("return_fields", {"type": "string"}, "name,id"),
        ("next_page", {"type": "integer"}, 2),
        ("link", {"type": "boolean"}, True),
        ("url", {"type": "string", "enum": ["a", "b"]}, None),
        ("urls", {"type": "array", "items": {"type": "string"}}, None),
        ("q", {"type": "string"}, "hello"),
        ("format", {"type": ["string", "null"], "format": ["uri"]}, None),
    ],
)
def test_classify_ignores_look_alikes(name: str, schema: dict[str, Any], value: Any) -> None:
    assert classify(name, schema, value) is None


def test_url_inputs_read_parameters_and_top_level_body_fields() -> None:
    operation = Operation(
        method="POST",
        path="/imports/{source_url}",
        parameters=(Parameter("source_url", "path", required=True), Parameter("q", "query")),
        request_body=RequestBody(
            "application/json",
            {"type": "object", "properties": {"hook_url": {"type": "string"}, "n": {}}},
        ),
    )

    found = [(i.name, i.where, i.kind, i.label) for i in url_inputs(operation)]

    assert found == [
        ("source_url", "path", "fetch", "path parameter `source_url`"),
        ("hook_url", "body", "callback", "body field `hook_url`"),
    ]


def test_body_request_builds_the_operation_with_the_field_replaced() -> None:
    operation = Operation(
        method="POST",
        path="/hooks",
        request_body=RequestBody(
            "application/json",
            {"type": "object", "properties": {"callback_url": {"type": "string"}}},
            examples=({"callback_url": "https://hooks.example.test/x", "event": "created"},),
        ),
    )
    (item,) = url_inputs(operation)

    request = body_request(item, BASE, "http://127.0.0.1:9/mb/t")

    assert request is not None
    assert (request.method, request.url) == ("POST", BASE + "/hooks")
    assert request.headers.get("Content-Type") == "application/json"
    assert request.body == b'{"callback_url": "http://127.0.0.1:9/mb/t", "event": "created"}'
