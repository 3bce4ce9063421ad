"""Mass assignment on updates: a PUT or PATCH that stores server-owned properties (active)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Severity
from middlebrick.http.exchange import Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, make_baseline, response, run_check

CHECK = "property_authorization.mass_assignment_on_update"
CONFIRMED = "property_authorization.mass-assignment-confirmed"
ALICE = Identities(primary=Identity("alice", True, frozenset({"u-alice"})))
_FIELDS = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "example": "Board game"},
        "asking_cents": {"type": "integer", "example": 1500},
    },
}
ENVELOPE = RequestBody("application/json", {"type": "object", "properties": {"offer": _FIELDS}})
ID = (Parameter("offer_id", "path", required=True),)
SURFACE = Surface(
    BASE,
    (
        Operation("POST", "/offers", request_body=ENVELOPE),
        Operation("GET", "/offers/{offer_id}", parameters=ID),
        Operation("PATCH", "/offers/{offer_id}", parameters=ID, request_body=ENVELOPE),
        Operation("PUT", "/offers/{offer_id}", parameters=ID, request_body=ENVELOPE),
        Operation("DELETE", "/offers/{offer_id}", parameters=ID),
    ),
)


class _Offers:
    """A marketplace whose offers (in an ``{"offer": …}`` envelope) the server features,
    verifies and charges a fee on; ``stores`` says where an update's extra fields are taken
    from (``body``, ``query``, or nowhere), ``echoes`` whether its answer repeats them anyway,
    ``reprices`` whether every update resets the fee itself."""

    def __init__(self, stores: str = "", *, echoes: bool = False, reprices: bool = False) -> None:
        self.stores, self.echoes, self.reprices = stores, echoes, reprices
        self.rows: dict[int, dict[str, Any]] = {}

    def __call__(self, request: Request) -> Response:
        parts = urlsplit(request.url.removeprefix(BASE))
        body = json.loads(request.body or b"{}").get("offer", {})
        if parts.path == "/offers" and request.method == "POST":
            number = max(self.rows, default=0) + 1
            self.rows[number] = {
                "id": number, "user_id": "u-alice", "title": body.get("title"),
                "asking_cents": body.get("asking_cents"), "is_featured": False,
                "verified": False, "fee_cents": 250,
            }  # fmt: skip
            return response(201, {"offer": self.rows[number]})
        number = int(parts.path.rsplit("/", 1)[-1])
        row = self.rows.get(number)
        if row is None:
            return response(404, {"detail": "not found"})
        if request.method == "DELETE":
            del self.rows[number]
            return response(204)
        if request.method in ("PATCH", "PUT"):
            row.update({k: v for k, v in body.items() if k in ("title", "asking_cents")})
            extra = {k: v for k, v in body.items() if k not in ("title", "asking_cents")}
            if self.stores == "body":
                row.update(extra)
            if self.stores == "query":
                query = dict(parse_qsl(parts.query))
                row.update({k: v == "true" if k == "is_featured" else v for k, v in query.items()})
            if self.reprices:
                row["fee_cents"] = 1
            return response(200, {"offer": {**row, **(extra if self.echoes else {})}})
        return response(200, {"offer": row})


async def _run(api: _Offers) -> tuple[list, FakeSender]:
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
    return found, sender


async def test_mass_assignment_on_update_reports_fields_stored_from_the_envelope():
    api = _Offers("body")

    found, sender = await _run(api)

    assert [(f.type_id, f.operation, f.confidence) for f in found] == [
        (CONFIRMED, "PATCH /offers/{offer_id}", Confidence.confirmed),
        (CONFIRMED, "PUT /offers/{offer_id}", Confidence.confirmed),
    ]
    assert "added to the body" in found[0].detail
    assert found[0].severity == Severity.high  # fee_cents is an amount
    assert "`is_featured`, `verified`, `fee_cents`" in found[0].detail
    raised = [json.loads(r.body or b"{}") for r in sender.sent if r.method == "PATCH"]
    assert {"offer": {"title": "Board game", "asking_cents": 1500}} in raised  # the control
    assert any(body["offer"].get("is_featured") is True for body in raised)  # in the envelope
    assert api.rows == {}  # every object deleted by the journal


async def test_mass_assignment_on_update_reports_fields_stored_from_the_query_string():
    api = _Offers("query")

    found, _ = await _run(api)

    assert [f.operation for f in found] == ["PATCH /offers/{offer_id}", "PUT /offers/{offer_id}"]
    assert "added to the query string" in found[0].detail
    assert "a GET read `is_featured` back" in found[0].detail  # the others read back as text
    assert found[0].severity == Severity.medium  # a granted flag alone
    assert api.rows == {}


async def test_mass_assignment_on_update_stays_quiet_when_the_server_ignores_the_fields():
    api = _Offers()

    found, sender = await _run(api)

    assert found == []
    assert api.rows == {}
    writes = [r for r in sender.sent if r.method in ("PATCH", "PUT")]
    assert len(writes) == 6  # control, body and query string, per update operation
    assert len(sender.sent) <= 2 * 8 + 2 * 2  # eight per operation, and the two deletions


async def test_mass_assignment_on_update_stays_quiet_when_the_answer_echoes_what_was_not_stored():
    api = _Offers(echoes=True)

    found, _ = await _run(api)

    assert found == []


async def test_mass_assignment_on_update_leaves_out_a_field_any_update_moves():
    api = _Offers("body", reprices=True)

    found, _ = await _run(api)

    assert [f.operation for f in found] == ["PATCH /offers/{offer_id}", "PUT /offers/{offer_id}"]
    assert "a GET read `is_featured`, `verified` back" in found[0].detail  # not fee_cents


async def test_mass_assignment_on_update_never_writes_owner_or_listed_fields():
    api = _Offers("body")

    _, sender = await _run(api)

    for request in sender.sent:
        if request.method in ("PATCH", "PUT"):
            fields = json.loads(request.body or b"{}")["offer"]
            assert "user_id" not in fields and "id" not in fields
            assert "user_id" not in request.url
            assert fields.get("asking_cents") in (None, 1500)  # listed: never raised


FLAT = RequestBody("application/json", _FIELDS)
FLAT_SURFACE = Surface(
    BASE,
    (
        Operation("POST", "/offers", request_body=FLAT),
        Operation("GET", "/offers/{offer_id}", parameters=ID),
        Operation("PATCH", "/offers/{offer_id}", parameters=ID, request_body=FLAT),
        Operation("DELETE", "/offers/{offer_id}", parameters=ID),
    ),
)


class _Wrapped(_Offers):
    """Rails-style: the schema documents a flat body whose fields are allow-listed, but a body
    wrapped in the answer's envelope (``{"offer": {...}}``) is stored whole when ``takes``."""

    def __init__(self, *, takes: bool) -> None:
        super().__init__()
        self.takes = takes

    def __call__(self, request: Request) -> Response:
        sent = json.loads(request.body or b"{}")
        wrapped = isinstance(sent.get("offer"), dict)
        inner = sent["offer"] if wrapped else sent
        if request.method == "PATCH" and wrapped and self.takes:
            self.stores = "body"
        else:
            self.stores = ""
        body = json.dumps({"offer": inner}).encode()
        return super().__call__(replace(request, body=body))


async def _run_flat(api: _Offers) -> tuple[list, FakeSender]:
    sender = FakeSender(api)
    sender.journal.learn(FLAT_SURFACE.operations)
    found = await run_check(
        CHECK,
        baseline=make_baseline([]),
        sender=sender,
        surface=FLAT_SURFACE,
        scan=ScanRequest(target=BASE, mode="active"),
        identities=ALICE,
    )
    await sender.journal.undo()
    return found, sender


async def test_mass_assignment_on_update_reports_fields_stored_from_the_answers_envelope():
    api = _Wrapped(takes=True)

    found, sender = await _run_flat(api)

    assert [f.operation for f in found] == ["PATCH /offers/{offer_id}"]
    assert "added to the answer's envelope" in found[0].detail
    patches = [json.loads(r.body or b"{}") for r in sender.sent if r.method == "PATCH"]
    assert patches[0] == {"title": "Board game", "asking_cents": 1500}  # the control, flat
    assert patches[2]["offer"]["is_featured"] is True
    assert api.rows == {}


async def test_mass_assignment_on_update_stays_quiet_when_the_envelope_is_allow_listed_too():
    api = _Wrapped(takes=False)

    found, sender = await _run_flat(api)

    assert found == []
    assert len([r for r in sender.sent if r.method == "PATCH"]) == 4  # control, body, both ways
    assert api.rows == {}
