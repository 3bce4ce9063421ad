"""Mass assignment on recordings: the surface from request schemas, confirmed writes (active)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from middlebrick.checks.registry import load_all
from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

SURFACE = "property_authorization.mass_assignment_surface"
CONFIRMED = "property_authorization.mass_assignment"
ITEM_ID = (Parameter("item_id", "path", required=True),)
READ = Operation(method="GET", path="/items/{item_id}", parameters=ITEM_ID)
ALICE = Identities(primary=Identity("alice", True, frozenset({"u-alice"})))
ITEM = {"item_id": "i-1", "owner_id": "u-alice", "name": "kit", "is_admin": False}


def _write(schema: dict[str, Any], method: str = "PATCH") -> Operation:
    return Operation(
        method=method,
        path="/items/{item_id}",
        parameters=ITEM_ID,
        request_body=RequestBody("application/json", schema),
    )


async def _surface(write: Operation, read_body: Any = ITEM) -> list[Finding]:
    pair = (READ, exchange("GET", "/items/i-1", response(200, read_body), operation=READ.key))
    surface = Surface(base_url=BASE, operations=(READ, write))
    return await run_check(SURFACE, baseline=make_baseline([pair]), surface=surface)


# --- mass_assignment_surface -----------------------------------------------------------------

CLOSED = {"type": "object", "additionalProperties": False, "properties": {"name": {}}}


async def test_mass_assignment_surface_reports_a_writable_role_in_the_request_schema_as_info():
    found = await _surface(_write({"type": "object", "properties": {"name": {}, "role": {}}}))

    assert [(f.type_id, f.operation) for f in found] == [
        ("property_authorization.mass-assignment-surface", "PATCH /items/{item_id}")
    ]
    assert found[0].confidence is Confidence.tentative and found[0].severity is Severity.info
    assert "declares `role` as writable" in found[0].detail


async def test_mass_assignment_surface_reports_one_schema_once():
    # Given one schema written by POST, PUT and PATCH
    schema = {"type": "object", "properties": {"name": {}, "permissions": {}}}
    writes = [_write(schema, "POST"), _write(schema, "PUT"), _write(schema, "PATCH")]
    pair = (READ, exchange("GET", "/items/i-1", response(200, ITEM), operation=READ.key))

    found = await run_check(
        SURFACE,
        baseline=make_baseline([pair]),
        surface=Surface(base_url=BASE, operations=(READ, *writes)),
    )

    # Then one finding, on the PATCH, naming the others
    assert [f.operation for f in found] == ["PATCH /items/{item_id}"]
    assert "written by `POST /items/{item_id}`, `PUT /items/{item_id}`" in found[0].detail


async def test_mass_assignment_surface_reports_an_open_body_over_privileged_records():
    found = await _surface(_write({"type": "object", "additionalProperties": True}))

    assert "open object" in found[0].detail
    assert "`owner_id`, `is_admin`" in found[0].detail


async def test_mass_assignment_surface_reports_a_closed_body_over_privileged_records_tentatively():
    found = await _surface(_write(CLOSED))

    assert found[0].confidence is Confidence.tentative and found[0].severity is Severity.info


@pytest.mark.parametrize(
    ("write", "read_body"),
    [
        (_write(CLOSED), {"item_id": "i-1", "name": "kit"}),
        (_write({"type": "object", "properties": {"role": {"readOnly": True}}}), {"name": "k"}),
        (_write({"type": "object", "additionalProperties": True}), {"name": "kit"}),
        (
            _write({"type": "object", "properties": {"messages": {"type": "array"}}}, "POST"),
            ITEM,
        ),
    ],
    ids=["closed-over-public", "read-only-role", "open-over-public", "post-without-privileges"],
)
async def test_mass_assignment_surface_stays_quiet_without_a_privileged_property(
    write: Operation, read_body: Any
):
    assert await _surface(write, read_body) == []


# --- mass_assignment (active) ----------------------------------------------------------------


class _Items:
    """One item; the PATCH copies every field (or only ``name``)."""

    def __init__(
        self, *, copies_everything: bool, owner: str = "u-alice", any_write_promotes: bool = False
    ) -> None:
        self.copies_everything = copies_everything
        self.any_write_promotes = any_write_promotes
        self.row = {**ITEM, "owner_id": owner}
        self.writes: list[dict[str, Any]] = []

    def answer(self, request: Request) -> Response:
        if request.method == "PATCH":
            body = json.loads(request.body or b"{}")
            self.writes.append(body)
            if not self.copies_everything and set(body) - {"name"}:
                return response(422, {"detail": "extra fields not permitted"})
            self.row.update(body)
            if self.any_write_promotes:
                self.row["is_admin"] = True
        return response(200, self.row)


async def _confirm(store: _Items, write: Operation | None = None) -> list[Finding]:
    write = write or _write({"type": "object", "additionalProperties": True})
    sender = FakeSender({(m, "/items/i-1"): store.answer for m in ("GET", "PATCH")})
    pair = (READ, exchange("GET", "/items/i-1", response(200, dict(store.row)), operation=READ.key))
    return await run_check(
        CONFIRMED,
        baseline=make_baseline([pair]),
        sender=sender,
        surface=Surface(base_url=BASE, operations=(READ, write)),
        scan=ScanRequest(target=BASE, mode="active"),
        identities=ALICE,
    )


async def test_mass_assignment_reports_a_flag_written_read_back_and_restored():
    store = _Items(copies_everything=True)

    found = await _confirm(store)

    assert [(f.type_id, f.confidence) for f in found] == [
        ("property_authorization.mass-assignment-confirmed", Confidence.confirmed)
    ]
    assert store.writes == [{"name": "kit"}, {"is_admin": True}, {"is_admin": False}]
    assert store.row["is_admin"] is False
    assert "written back and read again" in found[0].detail
    assert "a control PATCH of `name` alone left them unchanged" in found[0].detail
    labels = [e.label for e in found[0].evidence]
    assert labels == [
        "control write",
        "control read back",
        "write",
        "read back",
        "read before restore",
        "restore",
        "read after restore",
    ]


async def test_mass_assignment_stays_quiet_when_any_write_changes_the_field():
    # Given a server that sets is_admin on every write, whatever the body says
    store = _Items(copies_everything=True, any_write_promotes=True)

    found = await _confirm(store)

    # Then the control write already changed it: the field was not mass-assigned
    assert found == []
    assert store.writes[0] == {"name": "kit"}
    assert {"is_admin": True} not in store.writes


async def test_mass_assignment_stays_quiet_when_the_write_is_refused():
    store = _Items(copies_everything=False)

    assert await _confirm(store) == []
    assert store.writes == [{"name": "kit"}, {"is_admin": True}]  # refused: nothing to restore


async def test_mass_assignment_never_writes_an_object_the_identity_does_not_own():
    store = _Items(copies_everything=True, owner="u-bob")

    assert await _confirm(store) == []
    assert store.writes == []


def test_mass_assignment_is_an_active_check():
    assert load_all()[CONFIRMED].mode == "active"


async def test_mass_assignment_never_raises_the_role_on_the_callers_own_account():
    me = {"user_id": "u-alice", "name": "Alice", "role": "member"}

    def answer(request: Request) -> Response:
        if request.method == "PATCH":
            me.update(json.loads(request.body or b"{}"))
        return response(200, me)

    read = Operation(method="GET", path="/users/me")
    write = Operation(
        method="PATCH", path="/users/me", request_body=RequestBody("application/json", {})
    )
    sender = FakeSender({(m, "/users/me"): answer for m in ("GET", "PATCH")})
    pair = (read, exchange("GET", "/users/me", response(200, dict(me)), operation=read.key))

    found = await run_check(
        CONFIRMED,
        baseline=make_baseline([pair]),
        sender=sender,
        surface=Surface(base_url=BASE, operations=(read, write)),
        scan=ScanRequest(target=BASE, mode="active"),
        identities=ALICE,
    )

    assert found == []
    assert [r.method for r in sender.sent if r.method != "GET"] == []
    assert me["role"] == "member"


async def test_mass_assignment_surface_stays_quiet_when_the_record_only_carries_its_own_key():
    read = Operation(method="GET", path="/users/me")
    write = Operation(
        method="PATCH", path="/users/me", request_body=RequestBody("application/json", CLOSED)
    )
    me = {"user_id": "u-alice", "name": "Alice"}
    pair = (read, exchange("GET", "/users/me", response(200, me), operation=read.key))

    found = await run_check(
        SURFACE,
        baseline=make_baseline([pair]),
        surface=Surface(base_url=BASE, operations=(read, write)),
    )

    assert found == []
