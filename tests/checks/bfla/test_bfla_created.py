"""BFLA from behaviour (active): who may create decides who may change or delete shared objects."""

from __future__ import annotations

import json
from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import ANONYMOUS, Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, make_baseline, response, run_check, two_users

CHECK = "bfla.privileged_functions"
BODY = RequestBody(
    "application/json",
    {
        "type": "object",
        "required": ["title", "summary"],
        "properties": {
            "title": {"type": "string", "example": "A new book"},
            "summary": {"type": "string", "example": "about nothing"},
        },
    },
)
ID = (Parameter("book_id", "path", required=True),)
LIST = Operation("GET", "/books")
CREATE = Operation("POST", "/books", request_body=BODY)
READ = Operation("GET", "/books/{book_id}", parameters=ID)
PATCH = Operation("PATCH", "/books/{book_id}", parameters=ID, request_body=BODY)
PUT = Operation("PUT", "/books/{book_id}", parameters=ID, request_body=BODY)
DELETE = Operation("DELETE", "/books/{book_id}", parameters=ID)
SURFACE = Surface(BASE, (LIST, CREATE, READ, PATCH, PUT, DELETE))
SEED = {1: {"id": 1, "by": "dave", "title": "Seed", "summary": "kept"}}


class _Books:
    """A catalogue that ``editors`` keep; ``checked`` puts the role check on writes too.

    ``public``: anyone reads a book; ``listed``: every user's listing shows every book;
    otherwise a book is private to whoever added it."""

    def __init__(
        self,
        editors: set[str],
        *,
        checked: bool = False,
        public: bool = True,
        listed: bool = False,
    ) -> None:
        self.editors = editors
        self.checked = checked
        self.public = public
        self.listed = listed
        self.rows: dict[int, dict[str, Any]] = {k: dict(v) for k, v in SEED.items()}

    def __call__(self, request: Request) -> Response:
        who = "alice" if request.identity is None else request.identity
        if who == ANONYMOUS and not (self.public and request.method == "GET"):
            return response(401, {"detail": "authentication required"})
        path = request.url.removeprefix(BASE)
        if path == "/books":
            if request.method == "POST":
                if who not in self.editors:
                    return response(403, {"detail": "editors only"})
                number = max(self.rows) + 1
                self.rows[number] = {"id": number, "by": who, **json.loads(request.body or b"{}")}
                return response(201, self.rows[number])
            rows = [r for r in self.rows.values() if self._sees(who, r)]
            return response(200, {"data": rows})
        row = self.rows.get(int(path.rsplit("/", 1)[-1]))
        if row is None or not self._sees(who, row):
            return response(404, {"detail": "not found"})
        if request.method != "GET" and self.checked and who not in self.editors:
            return response(403, {"detail": "editors only"})
        if request.method in ("PATCH", "PUT"):
            row.update(json.loads(request.body or b"{}"))
        if request.method == "DELETE":
            del self.rows[row["id"]]
            return response(204)
        return response(200, row)

    def _sees(self, who: str, row: dict[str, Any]) -> bool:
        return self.public or self.listed or row["by"] == who


async def _run(api: _Books, identities: Identities) -> tuple[list[Finding], FakeSender]:
    sender = FakeSender(api)
    sender.journal.learn(SURFACE.operations)
    found = await run_check(
        CHECK,
        baseline=make_baseline([]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active"),
        identities=identities,
        surface=SURFACE,
    )
    await sender.journal.undo()
    return found, sender


def _untouched(api: _Books, sender: FakeSender) -> bool:
    """Nothing the scan made is left, and the seed book was never written."""
    seed_writes = [r for r in sender.sent if r.method != "GET" and r.url.endswith("/books/1")]
    return api.rows == SEED and not seed_writes


async def test_privileged_functions_fires_when_the_refused_creator_changes_and_deletes():
    api = _Books({"alice"})

    found, sender = await _run(api, two_users("alice", "bob"))

    assert [(f.operation, f.severity, f.confidence) for f in found] == [
        ("PATCH /books/{book_id}", Severity.high, Confidence.confirmed),
        ("PUT /books/{book_id}", Severity.high, Confidence.confirmed),
        ("DELETE /books/{book_id}", Severity.high, Confidence.confirmed),
    ]
    assert "'bob' may not create in `/books` (`POST` answered 403" in found[0].detail
    assert "anyone reads it without credentials" in found[0].detail
    assert "now holds the marker" in found[1].detail
    assert "answers 404" in found[2].detail
    put = next(r for r in sender.sent if r.method == "PUT")
    assert json.loads(put.body or b"{}")["summary"] == "about nothing"  # the other as it was
    assert _untouched(api, sender)


async def test_privileged_functions_learns_privilege_when_the_primary_is_the_refused_one():
    api = _Books({"dave"})

    found, sender = await _run(api, two_users("alice", "dave"))

    assert [f.operation for f in found] == [
        "PATCH /books/{book_id}",
        "PUT /books/{book_id}",
        "DELETE /books/{book_id}",
    ]
    assert "'alice' may not create" in found[0].detail
    posts = [r.identity for r in sender.sent if r.method == "POST"]
    assert posts == [None, "dave", "dave"]  # refused, allowed (deleted), the fresh control
    assert _untouched(api, sender)


async def test_privileged_functions_fires_on_objects_shared_through_the_listing():
    api = _Books({"alice"}, public=False, listed=True)

    found, sender = await _run(api, two_users("alice", "bob"))

    assert [f.operation for f in found][-1] == "DELETE /books/{book_id}"
    assert "the collection as listed to 'bob' shows it" in found[0].detail
    assert _untouched(api, sender)


async def test_privileged_functions_stays_quiet_when_writes_check_the_role():
    api = _Books({"alice"}, checked=True)

    found, sender = await _run(api, two_users("alice", "bob"))

    assert found == []
    assert _untouched(api, sender)


async def test_privileged_functions_stays_quiet_when_the_other_may_create_too():
    api = _Books({"alice", "bob"})

    found, sender = await _run(api, two_users("alice", "bob"))

    assert found == []
    assert [r.identity for r in sender.sent if r.method == "POST"] == [None, "bob"]
    assert _untouched(api, sender)  # each creation deleted by its creator


async def test_privileged_functions_leaves_private_objects_to_bola():
    api = _Books({"alice"}, public=False)

    found, sender = await _run(api, two_users("alice", "bob"))

    assert found == []
    assert not any(r.method in ("PUT", "PATCH") for r in sender.sent)
    assert _untouched(api, sender)


async def test_privileged_functions_sends_nothing_with_one_identity():
    api = _Books({"alice"})
    sender = FakeSender(api)

    found = await run_check(
        CHECK,
        baseline=make_baseline([]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active"),
        surface=SURFACE,
    )

    assert found == [] and sender.sent == []


async def test_privileged_functions_tries_identities_until_one_may_create():
    api = _Books({"dave"})
    three = Identities(
        primary=Identity("alice", True),
        others=(Identity("bob", True), Identity("dave", True)),
    )

    found, sender = await _run(api, three)

    assert [f.operation for f in found][-1] == "DELETE /books/{book_id}"
    assert "'alice' may not create" in found[0].detail and "as 'dave'" in found[0].detail
    posts = [r.identity for r in sender.sent if r.method == "POST"]
    assert posts == [None, "bob", "dave", "dave"]
    assert _untouched(api, sender)


async def test_privileged_functions_stays_quiet_when_nobody_may_create():
    api = _Books(set())

    found, sender = await _run(api, two_users("alice", "bob"))

    assert found == []
    assert [r.method for r in sender.sent] == ["POST", "POST"]
