"""Fetching an API description: credentials stay on the target's origin, and real sizes fit.

``--spec https://other-host/…`` once received the ``--header`` credentials (issue 12, item 6):
they go to the target's origin only; another host gets what ``--spec-header`` says. A served
document of 3 MiB was cut at the 1 MiB answer cap and the scan crawled three operations instead
(issue 21): documents are read up to ``--spec-limit`` (32 MiB), and past it the report says so.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from middlebrick.config import Credential, Limits, ScanRequest
from middlebrick.engine import scan
from middlebrick.errors import SpecError
from middlebrick.testing import LiveApp

LIMITS = Limits(time_budget=30.0, read_timeout=5.0)
API_KEY = "k-target-secret"
TOKEN = "t-target-token"
DOCS_TOKEN = "d-docs-token"


def _document(operations: int, pad: int = 0) -> dict[str, Any]:
    """An OpenAPI document of ``operations`` GETs, each described with ``pad`` bytes."""
    paths = {
        f"/items{i}": {"get": {"description": "x" * pad, "responses": {"200": {}}}}
        for i in range(operations)
    }
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths}


def _app(seen: list[dict[str, str]], document: dict[str, Any] | None) -> web.Application:
    """Answers ``{}`` everywhere and ``document`` at /openapi.json; records each request."""
    body = json.dumps(document).encode() if document is not None else None

    async def handle(request: web.Request) -> web.Response:
        seen.append({"path": request.path, **dict(request.headers)})
        if request.path == "/openapi.json" and body is not None:
            return web.Response(body=body, content_type="application/json")
        return web.json_response({})

    app = web.Application(client_max_size=1024)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _credentialed(target: str, spec: str, **extra: Any) -> ScanRequest:
    primary = Credential(headers=(("Authorization", f"Bearer {TOKEN}"),))
    return ScanRequest(
        target=target,
        spec=spec,
        headers=(("X-Api-Key", API_KEY),),
        identities={"primary": primary},
        limits=LIMITS,
        **extra,
    )


def _carries(request: dict[str, str], value: str) -> bool:
    return any(value in header for header in request.values())


async def test_a_spec_on_another_host_gets_none_of_the_targets_credentials() -> None:
    target_seen: list[dict[str, str]] = []
    docs_seen: list[dict[str, str]] = []
    async with (
        LiveApp(_app(target_seen, None)) as target,
        LiveApp(_app(docs_seen, _document(3))) as docs,
    ):
        report = await scan(_credentialed(target, f"{docs}/openapi.json"))

    assert report.operations == 3
    assert [r["path"] for r in docs_seen] == ["/openapi.json"]
    assert not any(_carries(r, API_KEY) or _carries(r, TOKEN) for r in docs_seen), docs_seen
    assert any(_carries(r, API_KEY) for r in target_seen)  # the target still gets them


async def test_spec_header_says_what_a_spec_on_another_host_receives() -> None:
    target_seen: list[dict[str, str]] = []
    docs_seen: list[dict[str, str]] = []
    spec_headers = (("Authorization", f"Bearer {DOCS_TOKEN}"),)
    async with (
        LiveApp(_app(target_seen, None)) as target,
        LiveApp(_app(docs_seen, _document(3))) as docs,
    ):
        report = await scan(
            _credentialed(target, f"{docs}/openapi.json", spec_headers=spec_headers)
        )

    assert report.operations == 3
    assert [r.get("Authorization") for r in docs_seen] == [f"Bearer {DOCS_TOKEN}"]
    assert not any(_carries(r, API_KEY) for r in docs_seen)
    assert not any(_carries(r, DOCS_TOKEN) for r in target_seen)
    assert DOCS_TOKEN not in report.model_dump_json()


@pytest.mark.parametrize("given", ["header", "auth"])
async def test_a_spec_on_the_targets_origin_is_fetched_with_its_credentials(given: str) -> None:
    seen: list[dict[str, str]] = []
    async with LiveApp(_app(seen, _document(3))) as target:
        request = _credentialed(target, f"{target}/openapi.json")
        if given == "auth":
            request = request.model_copy(update={"headers": ()})
        report = await scan(request)

    assert report.operations == 3
    fetch = next(r for r in seen if r["path"] == "/openapi.json")
    if given == "header":
        assert fetch.get("X-Api-Key") == API_KEY
    else:
        assert fetch.get("Authorization") == f"Bearer {TOKEN}"


BIG = _document(2000, pad=1600)  # about 3.3 MB: past the 1 MiB cap of ordinary answers


async def test_a_served_document_larger_than_an_answer_is_read_whole() -> None:
    assert len(json.dumps(BIG)) > 3 * 1024 * 1024
    seen: list[dict[str, str]] = []
    async with LiveApp(_app(seen, BIG)) as target:
        report = await scan(
            ScanRequest(target=target, limits=LIMITS.model_copy(update={"max_requests": 50}))
        )

    assert report.operations >= 2000
    assert report.surface_origin == f"spec served at {target}/openapi.json"


async def test_a_given_spec_url_larger_than_an_answer_is_read_whole() -> None:
    async with LiveApp(_app([], BIG)) as target:
        request = ScanRequest(
            target=target,
            spec=f"{target}/openapi.json",
            limits=LIMITS.model_copy(update={"max_requests": 50}),
        )
        report = await scan(request)

    assert report.operations >= 2000


async def test_a_served_document_past_the_spec_limit_is_said_not_silently_crawled() -> None:
    small = LIMITS.model_copy(update={"max_spec_bytes": 1024 * 1024})
    async with LiveApp(_app([], BIG)) as target:
        report = await scan(ScanRequest(target=target, limits=small))

    assert report.surface_origin == "crawl"
    assert (
        f"the API description served at {target}/openapi.json was not used: it is larger than "
        "the 1 MiB limit for an API description (--spec-limit raises it)"
    ) in report.notes


async def test_a_given_spec_url_past_the_spec_limit_is_a_clear_error() -> None:
    small = LIMITS.model_copy(update={"max_spec_bytes": 1024 * 1024})
    async with LiveApp(_app([], BIG)) as target:
        request = ScanRequest(target=target, spec=f"{target}/openapi.json", limits=small)
        with pytest.raises(SpecError, match=r"larger than the 1 MiB limit .*--spec-limit"):
            await scan(request)


async def test_a_served_spec_keeps_its_ref_warnings_in_the_report() -> None:
    document = _document(2)
    document["paths"]["/items0"]["get"]["parameters"] = [{"$ref": "common.json#/limit"}]
    async with LiveApp(_app([], document)) as target:
        report = await scan(ScanRequest(target=target, limits=LIMITS))

    assert report.surface_origin == f"spec served at {target}/openapi.json"
    missing = f"could not resolve $ref 'common.json#/limit': 'limit' is not in {target}/common.json"
    assert missing in report.notes, report.notes
