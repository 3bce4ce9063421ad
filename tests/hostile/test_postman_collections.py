"""Hostile Postman collections: deep folders, huge ones, broken URLs and bodies, variable loops.

Each is read within a bound and says what it left out; none crashes or hangs.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from middlebrick.spec.load import parse_spec
from middlebrick.spec.postman import MAX_DEPTH, MAX_REQUESTS

V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def _collection(items: list[Any], **extra: Any) -> str:
    return json.dumps({"info": {"name": "hostile", "schema": V21}, "item": items, **extra})


def test_folders_nested_past_the_limit_are_said_not_read():
    item: dict[str, Any] = {"name": "leaf", "request": "http://h/deep"}
    for level in range(MAX_DEPTH + 20):
        item = {"name": f"f{level}", "item": [item]}
    spec = parse_spec(
        _collection([item, {"name": "top", "request": "http://h/top"}]), source="p.json"
    )
    assert [op.path for op in spec.operations] == ["/top"]
    assert any(f"more than {MAX_DEPTH} folders deep" in w for w in spec.warnings)


def test_a_huge_collection_is_cut_with_a_note_and_read_fast():
    items = [{"name": str(i), "request": f"http://h/r/{i}/x"} for i in range(MAX_REQUESTS + 50)]
    started = time.perf_counter()
    spec = parse_spec(_collection(items), source="p.json")
    assert time.perf_counter() - started < 20
    assert [op.path for op in spec.operations] == ["/r/{id}/x"]  # differing only in the id
    assert any("50 were not read" in w for w in spec.warnings)


@pytest.mark.parametrize(
    "request_",
    [
        None,
        5,
        [],
        {"method": "GET"},
        {"method": "GET", "url": None},
        {"method": "GET", "url": 7},
        {"method": "GET", "url": {"raw": None, "host": 5, "path": {"x": 1}}},
        {"method": "GET", "url": ""},
        {"method": "NOT A METHOD!", "url": "http://h/x"},
        {"method": ["GET"], "url": "http://h/y", "header": 7, "body": "x", "auth": []},
        {"method": "GET", "url": "http://[::1/bad", "header": "X-A: b\nbroken"},
        {"method": "POST", "url": "http://h/z", "body": {"mode": "raw", "raw": "[" * 5000}},
        {"method": "POST", "url": "http://h/w", "body": {"mode": "raw", "raw": "{bad json"}},
        {"method": "POST", "url": "http://h/v", "body": {"mode": "urlencoded", "urlencoded": 3}},
        {"method": "GET", "url": {"path": [None, {"value": 3}, ["x"]], "query": [None, {}]}},
    ],
)
def test_broken_requests_never_crash(request_):
    spec = parse_spec(
        _collection(
            [
                {"name": "bad", "request": request_},
                {"name": "ok", "request": "http://h/ok"},
                {"name": "also ok", "request": "http://h/ok2"},
            ]
        ),
        source="p.json",
    )
    assert {"/ok", "/ok2"} <= {op.path for op in spec.operations}


def test_variable_loops_and_long_chains_stay_bounded():
    variables = [{"key": "a", "value": "{{b}}{{b}}"}, {"key": "b", "value": "{{a}}{{a}}"}]
    variables += [{"key": f"v{i}", "value": f"{{{{v{i + 1}}}}}" * 2} for i in range(200)]
    started = time.perf_counter()
    spec = parse_spec(
        _collection(
            [{"name": "x", "request": "http://h/{{a}}/{{v0}}?q={{v0}}"}], variable=variables
        ),
        source="p.json",
    )
    assert time.perf_counter() - started < 5
    assert len(spec.operations) == 1
    assert any("refer to themselves" in w for w in spec.warnings)
