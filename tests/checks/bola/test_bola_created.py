"""BOLA on objects the scan creates: alice creates, bob reads, changes and deletes (active)."""

from __future__ import annotations

import json
from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Severity
from middlebrick.http.exchange import ANONYMOUS, Request, Response
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, make_baseline, response, run_check

BODY = RequestBody(
    "application/json",
    {
        "type": "object",
        "properties": {
            "label": {"type": "string", "example": "office"},
            "city": {"type": "string"},
        },
    },
)
ID = (Parameter("address_id", "path", required=True),)
CREATE = Operation("POST", "/addresses", request_body=BODY)
LIST = Operation("GET", "/addresses")
READ = Operation("GET", "/addresses/{address_id}", parameters=ID)
WRITE = Operation("PATCH", "/addresses/{address_id}", parameters=ID, request_body=BODY)
DELETE = Operation("DELETE", "/addresses/{address_id}", parameters=ID)
SURFACE = Surface(BASE, (LIST, CREATE, READ, WRITE, DELETE))


class _Addresses:
    """A small address book; ``owner_check`` is the fix, ``shared`` lists every address."""

    def __init__(self, *, owner_check: bool, shared: bool = False, public: bool = False) -> None:
        self.owner_check = owner_check
        self.shared = shared
        self.public = public
        self.rows: dict[int, dict[str, Any]] = {1: {"id": 1, "owner": "alice", "label": "home"}}

    def __call__(self, request: Request) -> Response:
        who = "alice" if request.identity is None else request.identity
        if who == ANONYMOUS and not (self.public and request.method == "GET"):
            return response(401, {"detail": "authentication required"})
        path = request.url.removeprefix(BASE)
        if path == "/addresses":
            if request.method == "POST":
                number = max(self.rows) + 1
                body = json.loads(request.body or b"{}")
                self.rows[number] = {"id": number, "owner": who, **body}
                return response(201, self.rows[number])
            rows = [r for r in self.rows.values() if self.shared or r["owner"] == who]
            return response(200, {"data": rows})
        row = self.rows.get(int(path.rsplit("/", 1)[-1]))
        if row is None or (self.owner_check and who != ANONYMOUS and row["owner"] != who):
            return response(404, {"detail": "not found"})
        if request.method == "PATCH":
            row.update(json.loads(request.body or b"{}"))
        if request.method == "DELETE":
            del self.rows[row["id"]]
            return response(204)
        return response(200, row)


async def _run(api: _Addresses, users):
    sender = FakeSender(api)
    sender.journal.learn(SURFACE.operations)
    found = await run_check(
        "bola.created_object_access",
        baseline=make_baseline([]),
        sender=sender,
        scan=_active(),
        identities=users(),
        surface=SURFACE,
    )
    await sender.journal.undo()
    return found, sender


def _active() -> ScanRequest:
    return ScanRequest(target=BASE, mode="active")


async def test_created_object_access_reports_reads_writes_and_deletes_by_another_user(users):
    api = _Addresses(owner_check=False)

    found, sender = await _run(api, users)

    assert [(f.operation, f.severity, f.confidence) for f in found] == [
        ("GET /addresses/{address_id}", Severity.critical, Confidence.confirmed),
        ("PATCH /addresses/{address_id}", Severity.critical, Confidence.confirmed),
        ("DELETE /addresses/{address_id}", Severity.critical, Confidence.confirmed),
    ]
    assert "had just created" in found[0].detail
    assert "now holds the marker" in found[1].detail
    assert api.rows == {1: {"id": 1, "owner": "alice", "label": "home"}}  # nothing left behind
    assert not any(r.method != "GET" and "/addresses/1" in r.url for r in sender.sent)


async def test_created_object_access_stays_quiet_when_the_owner_is_checked(users):
    api = _Addresses(owner_check=True)

    found, _ = await _run(api, users)

    assert found == []
    assert list(api.rows) == [1]  # the journal deleted what alice created


async def test_created_object_access_is_info_when_the_other_user_lists_it(users):
    api = _Addresses(owner_check=False, shared=True)

    found, _ = await _run(api, users)

    assert [(f.operation, f.severity) for f in found] == [
        ("GET /addresses/{address_id}", Severity.info),
        ("PATCH /addresses/{address_id}", Severity.info),
        ("DELETE /addresses/{address_id}", Severity.info),
    ]
    assert all("shared with 'bob' by design" in f.detail for f in found)


async def test_created_object_access_stays_quiet_on_public_objects(users):
    api = _Addresses(owner_check=False, public=True)

    found, _ = await _run(api, users)

    assert found == []


async def test_created_object_access_sends_nothing_with_one_identity():
    api = _Addresses(owner_check=False)
    sender = FakeSender(api)
    found = await run_check(
        "bola.created_object_access",
        baseline=make_baseline([]),
        sender=sender,
        scan=_active(),
        surface=SURFACE,
    )

    assert found == [] and sender.sent == []
