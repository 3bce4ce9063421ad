"""SSRF through URL fields of JSON bodies (active mode): creations the scan deletes, reads.

The fake API creates reviews whose ``image_url`` it fetches (really, over loopback only) when
``fetches``, else refuses any host but its own image host. Every write goes through the scan's
journal, as with the real client: each review a probe creates is deleted at once.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import replace
from urllib.parse import urlsplit

import aiohttp
import pytest

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

BODY = RequestBody(
    "application/json",
    {
        "type": "object",
        "properties": {"title": {"type": "string"}, "image_url": {"type": "string"}},
    },
    examples=({"title": "sturdy"},),
)
LIST = Operation("GET", "/reviews")
CREATE = Operation("POST", "/reviews", request_body=BODY, responses={"201": {}})
ITEM = (Parameter("review_id", "path", required=True),)
READ = Operation("GET", "/reviews/{review_id}", parameters=ITEM)
DELETE = Operation("DELETE", "/reviews/{review_id}", parameters=ITEM)
UNDELETABLE = Operation("POST", "/notes", request_body=BODY, responses={"201": {}})
TITLE_ONLY = RequestBody(
    "application/json",
    {"type": "object", "properties": {"title": {"type": "string"}}},
    examples=({"title": "sturdy"},),
)
CREATE_TITLE = Operation("POST", "/reviews", request_body=TITLE_ONLY, responses={"201": {}})
PATCH = Operation("PATCH", "/reviews/{review_id}", parameters=ITEM, request_body=BODY)


class Reviews(FakeSender):
    """``/reviews`` (and ``/notes``): created with 201 and ``Location``, read and deleted."""

    def __init__(self, *, fetches: bool) -> None:
        super().__init__()
        self.fetches = fetches
        self.rows: dict[int, dict[str, object]] = {}
        self.next = 1

    async def _answer(self, request: Request) -> Exchange:
        self.sent.append(request)
        path = urlsplit(request.url).path
        if request.method == "POST" or (request.method == "PUT" and path == "/reviews"):
            document = json.loads(request.body or b"{}")
            url = str(document.get("image_url") or "")
            host = urlsplit(url).hostname or ""
            if url and not self.fetches and host != "images.shop.example":
                return Exchange(request, response(422, {"detail": "image host not allowed"}))
            if url and self.fetches and ipaddress.ip_address(host).is_loopback:
                async with aiohttp.ClientSession() as session, session.get(url) as fetched:
                    document["image_bytes"] = len(await fetched.read())
            row = {"id": self.next, **document}
            self.rows[self.next] = row
            self.next += 1
            answer = response(201, row)
            location = f"{path}/{row['id']}"
            return Exchange(
                request, replace(answer, headers=answer.headers.set("Location", location))
            )
        if path == "/reviews":
            return Exchange(request, response(200, {"data": list(self.rows.values())}))
        number = int(path.rsplit("/", 1)[-1]) if path.rsplit("/", 1)[-1].isdigit() else 0
        if number not in self.rows:
            return Exchange(request, response(404, {"detail": "Not Found"}))
        if request.method == "DELETE":
            del self.rows[number]
            return Exchange(request, response(204, None))
        if request.method == "PATCH":
            url = str(json.loads(request.body or b"{}").get("image_url") or "")
            if url and self.fetches and ipaddress.ip_address(urlsplit(url).hostname).is_loopback:
                async with aiohttp.ClientSession() as session, session.get(url) as fetched:
                    self.rows[number]["image_bytes"] = len(await fetched.read())
            return Exchange(request, response(200, self.rows[number]))
        return Exchange(request, response(200, self.rows[number]))


async def _scan(
    sender: Reviews, *, mode: str = "active", operations: tuple[Operation, ...] = ()
) -> list[Finding]:
    listing = exchange("GET", "/reviews", response(200, {"data": []}))
    return await run_check(
        "ssrf.url_parameters",
        baseline=make_baseline([(LIST, listing)]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode=mode),  # type: ignore[arg-type]
        surface=Surface(base_url=BASE, operations=operations or (LIST, CREATE, READ, DELETE)),
    )


def _summary(found: list[Finding]) -> list[tuple[str, str | None, Severity, Confidence]]:
    return [(f.type_id, f.parameter, f.severity, f.confidence) for f in found]


async def test_ssrf_confirms_a_fetch_through_a_body_field_of_a_creation_and_deletes_it() -> None:
    sender = Reviews(fetches=True)

    found = await _scan(sender)

    assert [(t, p, c) for t, p, _, c in _summary(found)] == [
        ("ssrf.confirmed-fetch", "image_url", Confidence.confirmed),
        ("ssrf.url-parameter", "image_url", Confidence.confirmed),
    ]
    assert sender.rows == {}
    assert {r.state for r in sender.journal.results} == {"deleted"}


async def test_ssrf_confirms_a_fetch_through_a_creation_by_put_and_deletes_it() -> None:
    # FastAPI's PUT /menu shape: the collection's PUT creates (201), DELETE /x/{id} removes
    sender = Reviews(fetches=True)
    put = Operation("PUT", "/reviews", request_body=BODY, responses={"201": {}})
    sender.journal.learn((LIST, put, READ, DELETE))  # as the engine has the client's journal

    found = await _scan(sender, operations=(LIST, put, READ, DELETE))

    assert [(t, p, c) for t, p, _, c in _summary(found)] == [
        ("ssrf.confirmed-fetch", "image_url", Confidence.confirmed),
        ("ssrf.url-parameter", "image_url", Confidence.confirmed),
    ]
    assert {r.method for r in sender.sent if r.method != "GET"} == {"PUT", "DELETE"}
    assert sender.rows == {}


async def test_ssrf_stays_at_info_when_the_creation_refuses_the_canarys_host() -> None:
    sender = Reviews(fetches=False)

    found = await _scan(sender)

    assert _summary(found) == [
        ("ssrf.url-parameter", "image_url", Severity.info, Confidence.tentative)
    ]
    assert "refused it" in found[0].detail
    assert sender.rows == {}


@pytest.mark.parametrize("mode", ["safe", "active"])
async def test_ssrf_never_posts_where_it_could_not_delete_or_in_safe_mode(mode: str) -> None:
    sender = Reviews(fetches=True)
    operations = (LIST, UNDELETABLE) if mode == "active" else (LIST, CREATE, READ, DELETE)

    found = await _scan(sender, mode=mode, operations=operations)

    assert _summary(found) == [
        ("ssrf.url-parameter", "image_url", Severity.info, Confidence.tentative)
    ]
    assert "not probed" in found[0].detail
    assert [r for r in sender.sent if r.method != "GET"] == []


@pytest.mark.parametrize("fetches", [True, False])
async def test_ssrf_probes_an_update_only_on_an_object_it_created(fetches: bool) -> None:
    sender = Reviews(fetches=fetches)
    sender.rows[1] = {"id": 1, "title": "existing"}
    sender.next = 2

    found = await _scan(sender, operations=(LIST, CREATE_TITLE, READ, PATCH, DELETE))

    confirmed = [(f.type_id, f.operation) for f in found if f.confidence == Confidence.confirmed]
    assert confirmed == (
        [
            ("ssrf.confirmed-fetch", "PATCH /reviews/{review_id}"),
            ("ssrf.url-parameter", "PATCH /reviews/{review_id}"),
        ]
        if fetches
        else []
    )
    assert BASE + "/reviews/1" not in {r.url for r in sender.sent if r.method == "PATCH"}
    assert sender.rows == {1: {"id": 1, "title": "existing"}}
