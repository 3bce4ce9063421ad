"""Pages of list answers: page-size parameters, page lengths, next-page tokens, DynamoDB keys."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from middlebrick.checks.rate_limiting._paging import (
    declared_maximum,
    is_dynamodb_key,
    is_page_size,
    page_of,
)
from middlebrick.spec.model import Parameter


def _b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "name", ["limit", "page_size", "pageSize", "per_page", "max_results", "$top"]
)
def test_is_page_size_recognises_page_size_parameters(name: str) -> None:
    assert is_page_size(Parameter(name, "query", schema={"type": "integer"}))


@pytest.mark.parametrize(
    "parameter",
    [
        Parameter("count", "query", schema={"type": "boolean"}),
        Parameter("size", "query", schema={"type": "string", "enum": ["S", "M", "L"]}),
        Parameter("limit", "path", schema={"type": "integer"}),
        Parameter("limitless", "query"),
    ],
)
def test_is_page_size_ignores_look_alikes(parameter: Parameter) -> None:
    assert not is_page_size(parameter)


def test_declared_maximum_reads_anyof_branches() -> None:
    schema = {"anyOf": [{"type": "integer", "maximum": 50}, {"type": "null"}]}

    assert declared_maximum(Parameter("limit", "query", schema=schema)) == 50
    assert declared_maximum(Parameter("limit", "query")) is None


def test_page_of_reads_the_longest_list_and_its_next_page_token() -> None:
    page = page_of({"tags": ["a"], "items": [1, 2, 3], "next_cursor": "abc", "total": 3})

    assert page is not None
    assert (page.field, page.count, page.continuation) == ("items", 3, ("next_cursor", "abc"))
    last = page_of({"items": [1], "next_cursor": None, "has_more": False})
    assert last is not None and last.continuation is None
    assert page_of([1, 2]) is not None and page_of({"ok": True}) is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LastEvaluatedKey", "opaque"),
        ("next_cursor", _b64({"item_id": "a1", "owner_id": "alice"})),
        ("next_cursor", _b64({"pk": {"S": "user#1"}, "sk": {"N": "3"}})),
        ("next", {"pk": "user#1"}),
    ],
)
def test_is_dynamodb_key_recognises_raw_keys(name: str, value: Any) -> None:
    assert is_dynamodb_key(name, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("next_cursor", "eyJrIjoxfQ.c2lnbmF0dXJl"),  # signed: body.signature
        ("next_cursor", "page-2"),
        ("next", "https://api.example.test/items?page=2"),
        ("next_cursor", _b64({"k": {"a": 1, "b": 2}, "u": "alice", "exp": 1, "v": 2, "x": 3})),
    ],
)
def test_is_dynamodb_key_ignores_opaque_cursors(name: str, value: Any) -> None:
    assert not is_dynamodb_key(name, value)
