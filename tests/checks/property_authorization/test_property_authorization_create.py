"""Mass assignment on creation: a POST that takes a privileged property from the body (active)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence
from middlebrick.http.exchange import Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, make_baseline, response, run_check

CHECK = "property_authorization.mass_assignment_on_create"
ALICE = Identities(primary=Identity("alice", True, frozenset({"u-alice"})))
BODY = RequestBody(
    "application/json",
    {"type": "object", "properties": {"name": {"type": "string", "example": "groceries"}}},
)
ID = (Parameter("list_id", "path", required=True),)
SURFACE = Surface(
    BASE,
    (
        Operation("POST", "/lists", request_body=BODY),
        Operation("GET", "/lists/{list_id}", parameters=ID),
        Operation("DELETE", "/lists/{list_id}", parameters=ID),
    ),
)


class _Lists:
    """Shared shopping lists; each shows the caller's ``role`` on it (``editor`` by default)."""

    def __init__(self, *, takes_role_from_body: bool) -> None:
        self.takes_role_from_body = takes_role_from_body
        self.rows: dict[int, dict[str, Any]] = {}

    def __call__(self, request: Request) -> Response:
        path = request.url.removeprefix(BASE).split("?", 1)[0]  # the query is ignored
        if path == "/lists" and request.method == "POST":
            body = json.loads(request.body or b"{}")
            number = max(self.rows, default=0) + 1
            role = body.get("role", "editor") if self.takes_role_from_body else "editor"
            self.rows[number] = {"id": number, "name": body.get("name"), "role": role}
            return response(201, self.rows[number])
        number = int(path.rsplit("/", 1)[-1])
        if number not in self.rows:
            return response(404, {"detail": "not found"})
        if request.method == "DELETE":
            del self.rows[number]
            return response(204)
        return response(200, self.rows[number])


async def _run(api: _Lists) -> list:
    sender = FakeSender(api)
    sender.journal.learn(SURFACE.operations)
    found = await run_check(
        CHECK,
        baseline=make_baseline([]),
        sender=sender,
        surface=SURFACE,
        scan=ScanRequest(target=BASE, mode="active"),
        identities=ALICE,
    )
    await sender.journal.undo()
    return found


async def test_mass_assignment_on_create_reports_a_role_taken_from_the_body():
    api = _Lists(takes_role_from_body=True)

    found = await _run(api)

    assert [(f.type_id, f.operation, f.confidence) for f in found] == [
        ("property_authorization.mass-assignment-confirmed", "POST /lists", Confidence.confirmed)
    ]
    assert (
        'the control object, created from the schema\'s values alone, has role="editor"'
        in found[0].detail
    )
    assert api.rows == {}  # both objects deleted by the journal


async def test_mass_assignment_on_create_stays_quiet_when_the_server_sets_the_role():
    api = _Lists(takes_role_from_body=False)

    assert await _run(api) == []
    assert api.rows == {}


class _Listings:
    """Classified listings in an ``{"listing": …}`` envelope; the server verifies them and sets
    their fee. ``takes`` says where a creation's extra fields are stored from, if anywhere."""

    def __init__(self, takes: str = "") -> None:
        self.takes = takes
        self.rows: dict[int, dict[str, Any]] = {}

    def __call__(self, request: Request) -> Response:
        path, _, query = request.url.removeprefix(BASE).partition("?")
        if path == "/lists" and request.method == "POST":
            sent = json.loads(request.body or b"{}").get("listing", {})
            number = max(self.rows, default=0) + 1
            row = {"id": number, "name": sent.get("name"), "verified": False, "fee": 250}
            extra = {k: v for k, v in sent.items() if k != "name"}
            if self.takes == "body":
                row.update(extra)
            if self.takes == "query":
                row.update({k: v == "true" for k, v in parse_qsl(query) if k == "verified"})
            self.rows[number] = row
            return response(201, {"listing": {**row, **extra}})  # echoed, stored or not
        number = int(path.rsplit("/", 1)[-1])
        if number not in self.rows:
            return response(404, {"detail": "not found"})
        if request.method == "DELETE":
            del self.rows[number]
            return response(204)
        return response(200, {"listing": self.rows[number]})


ENVELOPED = Surface(
    BASE,
    (
        Operation(
            "POST",
            "/lists",
            request_body=RequestBody(
                "application/json",
                {"type": "object", "properties": {"listing": BODY.schema}},
            ),
        ),
        *SURFACE.operations[1:],
    ),
)


async def _run_enveloped(api: _Listings) -> tuple[list, list[Request]]:
    sender = FakeSender(api)
    sender.journal.learn(ENVELOPED.operations)
    found = await run_check(
        CHECK,
        baseline=make_baseline([]),
        sender=sender,
        surface=ENVELOPED,
        scan=ScanRequest(target=BASE, mode="active"),
        identities=ALICE,
    )
    await sender.journal.undo()
    return found, sender.sent


async def test_mass_assignment_on_create_reports_server_owned_fields_inside_the_envelope():
    api = _Listings("body")

    found, sent = await _run_enveloped(api)

    assert [f.operation for f in found] == ["POST /lists"]
    assert "verified=true, fee=1 added to the body" in found[0].detail
    posts = [json.loads(r.body or b"{}") for r in sent if r.method == "POST"]
    assert posts[1] == {"listing": {"name": "groceries", "verified": True, "fee": 1}}
    assert api.rows == {}


async def test_mass_assignment_on_create_reports_a_flag_taken_from_the_query_string():
    api = _Listings("query")

    found, sent = await _run_enveloped(api)

    assert [f.operation for f in found] == ["POST /lists"]
    assert "added to the query string" in found[0].detail
    assert "reads back `verified` as written" in found[0].detail
    assert [r.url.partition("?")[2] for r in sent if r.method == "POST"][2] == (
        "verified=true&fee=1"
    )
    assert api.rows == {}


async def test_mass_assignment_on_create_stays_quiet_when_the_fields_are_only_echoed():
    api = _Listings()

    found, sent = await _run_enveloped(api)

    assert found == []
    assert len([r for r in sent if r.method == "POST"]) == 3  # control, body, query string
    assert api.rows == {}


class _WrappedLists(_Lists):
    """Lists answered in a ``{"list": …}`` envelope; a flat body goes through an allow-list,
    a body wrapped in that envelope is stored whole."""

    def __call__(self, request: Request) -> Response:
        path = request.url.removeprefix(BASE).split("?", 1)[0]
        if path == "/lists" and request.method == "POST":
            sent = json.loads(request.body or b"{}")
            self.takes_role_from_body = isinstance(sent.get("list"), dict)
            inner = sent["list"] if self.takes_role_from_body else sent
            request = replace(request, body=json.dumps(inner).encode())
        answer = super().__call__(request)
        if answer.status in (200, 201):
            return response(answer.status, {"list": json.loads(answer.body)})
        return answer


async def test_mass_assignment_on_create_reports_a_role_taken_inside_the_answers_envelope():
    api = _WrappedLists(takes_role_from_body=False)

    found = await _run(api)

    assert [f.operation for f in found] == ["POST /lists"]
    assert "added to the answer's envelope" in found[0].detail
    assert api.rows == {}
