"""Injection probes in the JSON bodies of real creations (active mode), each object deleted.

The fake API keeps reviews in an in-memory SQLite table whose titles are unique: the vulnerable
handler formats the title into its INSERT (or into a shell command line), the fixed one binds it.
Every write goes through the scan's journal, as with the real client: each object a probe
creates is deleted before the next probe, and the review that existed before the scan is never
written.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from middlebrick.config import ScanRequest
from middlebrick.findings import Finding
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

LIST = Operation("GET", "/reviews")
CREATE = Operation(
    "POST",
    "/reviews",
    request_body=RequestBody("application/json", examples=({"title": "sturdy"},)),
    responses={"201": {}},
)
ITEM = (Parameter("review_id", "path", required=True, schema={"type": "integer"}),)
READ = Operation("GET", "/reviews/{review_id}", parameters=ITEM)
DELETE = Operation("DELETE", "/reviews/{review_id}", parameters=ITEM)
CREATE_ONLY = Operation(
    "POST",
    "/notes",
    request_body=RequestBody("application/json", examples=({"title": "sturdy"},)),
    responses={"201": {}},
)
Handler = Callable[[sqlite3.Connection, Request], Response]
Updater = Callable[[sqlite3.Connection, Request, int], Response]
PATCH = Operation(
    "PATCH",
    "/reviews/{review_id}",
    parameters=ITEM,
    request_body=RequestBody("application/json", examples=({"title": "clearer"},)),
)


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    """One review that existed before the scan."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE reviews (id INTEGER PRIMARY KEY, title TEXT UNIQUE)")
    connection.execute("INSERT INTO reviews VALUES (1, 'existing')")
    yield connection
    connection.close()


class Reviews(FakeSender):
    """``/reviews``: list, create (201 with ``Location``), read and delete by id."""

    def __init__(
        self, db: sqlite3.Connection, insert: Handler, update: Updater | None = None
    ) -> None:
        super().__init__()
        self.db = db
        self.insert = insert
        self.update = update

    async def _answer(self, request: Request) -> Exchange:
        self.sent.append(request)
        path = request.url.removeprefix(BASE).split("?", 1)[0]
        if path == "/reviews" and request.method == "POST":
            return Exchange(request, self.insert(self.db, request))
        if path == "/reviews":
            rows = self.db.execute("SELECT id, title FROM reviews").fetchall()
            return Exchange(request, response(200, {"data": [_row(r) for r in rows]}))
        found = self.db.execute(
            "SELECT id, title FROM reviews WHERE id = ?", (path.rsplit("/", 1)[-1],)
        ).fetchone()
        if found is None or not path.startswith("/reviews/"):
            return Exchange(request, response(404, {"detail": "Not Found"}))
        if request.method == "DELETE":
            self.db.execute("DELETE FROM reviews WHERE id = ?", (found[0],))
            return Exchange(request, response(204, None))
        if request.method == "PATCH" and self.update is not None:
            return Exchange(request, self.update(self.db, request, found[0]))
        return Exchange(request, response(200, _row(found)))


def _row(row: tuple[int, str]) -> dict[str, object]:
    return {"id": row[0], "title": row[1]}


def _created(db: sqlite3.Connection, cursor: sqlite3.Cursor) -> Response:
    row = db.execute("SELECT id, title FROM reviews WHERE id = ?", (cursor.lastrowid,)).fetchone()
    answer = response(201, _row(row))
    return replace(answer, headers=answer.headers.set("Location", f"/reviews/{row[0]}"))


def sql_insert(*, formatted: bool) -> Handler:
    """The title formatted into the INSERT (SQLite's message returned), or bound."""

    def insert(db: sqlite3.Connection, request: Request) -> Response:
        title = str(json.loads(request.body or b"{}").get("title", ""))
        try:
            if formatted:
                cursor = db.execute(f"INSERT INTO reviews (title) VALUES ('{title}')")
            else:
                cursor = db.execute("INSERT INTO reviews (title) VALUES (?)", (title,))
        except sqlite3.IntegrityError:
            return response(409, {"detail": "a review with this title exists"})
        except sqlite3.Error as exc:
            return response(500, {"detail": f"(sqlite3.OperationalError) {exc}"})
        return _created(db, cursor)

    return insert


def shell_insert(*, shell: bool) -> Handler:
    """The title echoed through ``sh -c`` (the product computed), or stored as given."""

    def insert(db: sqlite3.Connection, request: Request) -> Response:
        title = str(json.loads(request.body or b"{}").get("title", ""))
        if shell:
            done = subprocess.run(
                ["sh", "-c", f"echo {title}"], capture_output=True, text=True, timeout=5
            )
            title = done.stdout.strip()
        try:
            cursor = db.execute("INSERT INTO reviews (title) VALUES (?)", (title,))
        except sqlite3.IntegrityError:
            return response(409, {"detail": "a review with this title exists"})
        return _created(db, cursor)

    return insert


async def _scan(
    sender: Reviews, check: str, *, mode: str = "active", operations: tuple[Operation, ...] = ()
) -> list[Finding]:
    answered = await sender._answer(Request("GET", BASE + "/reviews"))
    assert answered.response is not None
    listing = exchange("GET", "/reviews", answered.response)
    sender.sent.clear()
    return await run_check(
        check,
        baseline=make_baseline([(LIST, listing)]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode=mode),  # type: ignore[arg-type]
        surface=Surface(base_url=BASE, operations=operations or (LIST, CREATE, READ, DELETE)),
    )


def _left(db: sqlite3.Connection) -> list[tuple[int, str]]:
    return db.execute("SELECT id, title FROM reviews").fetchall()


@pytest.mark.parametrize("formatted", [True, False])
async def test_sql_injection_probes_the_body_of_a_removable_creation_and_deletes_each_object(
    db: sqlite3.Connection, formatted: bool
) -> None:
    sender = Reviews(db, sql_insert(formatted=formatted))

    found = await _scan(sender, "input_validation.sql_injection")

    assert [(f.operation, f.parameter) for f in found] == (
        [("POST /reviews", "body.title")] if formatted else []
    )
    if formatted:
        assert "SQLite" in found[0].detail
    assert _left(db) == [(1, "existing")]
    assert {r.state for r in sender.journal.results} == {"deleted"}
    posts = [r for r in sender.sent if r.method == "POST"]
    deletes = [r for r in sender.sent if r.method == "DELETE"]
    created = [r for r in sender.journal.results if r.state == "deleted"]
    assert len(posts) >= 2 and len(deletes) == len(created)
    assert all(r.url != BASE + "/reviews/1" for r in deletes)


@pytest.mark.parametrize("shell", [True, False])
async def test_command_injection_probes_the_body_of_a_removable_creation_and_deletes_each_object(
    db: sqlite3.Connection, shell: bool
) -> None:
    sender = Reviews(db, shell_insert(shell=shell))

    found = await _scan(sender, "input_validation.command_injection")

    assert [(f.operation, f.parameter) for f in found] == (
        [("POST /reviews", "body.title")] if shell else []
    )
    assert _left(db) == [(1, "existing")]
    assert {r.state for r in sender.journal.results} == {"deleted"}


async def test_sql_injection_never_posts_to_a_creation_whose_objects_it_could_not_delete(
    db: sqlite3.Connection,
) -> None:
    sender = Reviews(db, sql_insert(formatted=True))

    found = await _scan(sender, "input_validation.sql_injection", operations=(LIST, CREATE_ONLY))

    assert found == []
    assert {r.method for r in sender.sent} == {"GET"}


async def test_sql_injection_never_posts_a_creation_in_safe_mode(db: sqlite3.Connection) -> None:
    sender = Reviews(db, sql_insert(formatted=True))

    await _scan(sender, "input_validation.sql_injection", mode="safe")

    assert {r.method for r in sender.sent} == {"GET"}
    assert _left(db) == [(1, "existing")]


REGISTER = Operation(
    "POST",
    "/users/register",
    request_body=RequestBody("application/json", examples=({"username": "John.Doe"},)),
)


async def test_body_injection_never_posts_a_registration_it_could_not_undo(
    db: sqlite3.Connection,
) -> None:
    sender = Reviews(db, sql_insert(formatted=True))

    await _scan(sender, "input_validation.body_injection", operations=(LIST, REGISTER))

    assert [r.method for r in sender.sent if r.method != "GET"] == []


async def test_body_injection_deletes_each_object_it_creates_in_a_removable_collection(
    db: sqlite3.Connection,
) -> None:
    sender = Reviews(db, sql_insert(formatted=False))

    await _scan(sender, "input_validation.body_injection")

    assert sum(1 for r in sender.sent if r.method == "POST") >= 2
    assert _left(db) == [(1, "existing")]
    assert {r.state for r in sender.journal.results} == {"deleted"}


def sql_update(*, formatted: bool) -> Updater:
    """``PATCH /reviews/{id}``: the title formatted into the UPDATE, or bound."""

    def update(db: sqlite3.Connection, request: Request, number: int) -> Response:
        title = str(json.loads(request.body or b"{}").get("title", ""))
        try:
            if formatted:
                db.execute(f"UPDATE reviews SET title = '{title}' WHERE id = {number}")
            else:
                db.execute("UPDATE reviews SET title = ? WHERE id = ?", (title, number))
        except sqlite3.IntegrityError:
            return response(409, {"detail": "a review with this title exists"})
        except sqlite3.Error as exc:
            return response(500, {"detail": f"(sqlite3.OperationalError) {exc}"})
        row = db.execute("SELECT id, title FROM reviews WHERE id = ?", (number,)).fetchone()
        return response(200, _row(row))

    return update


@pytest.mark.parametrize("formatted", [True, False])
async def test_sql_injection_probes_updates_only_on_an_object_it_created(
    db: sqlite3.Connection, formatted: bool
) -> None:
    sender = Reviews(db, sql_insert(formatted=False), sql_update(formatted=formatted))

    found = await _scan(
        sender, "input_validation.sql_injection", operations=(LIST, CREATE, READ, PATCH, DELETE)
    )

    assert [(f.operation, f.parameter) for f in found] == (
        [("PATCH /reviews/{review_id}", "body.title")] if formatted else []
    )
    patched = {r.url for r in sender.sent if r.method == "PATCH"}
    assert patched and BASE + "/reviews/1" not in patched
    assert _left(db) == [(1, "existing")]


def shell_update(*, shell: bool) -> Updater:
    """``PATCH /reviews/{id}``: the new title echoed through ``sh -c``, or stored as given."""

    def update(db: sqlite3.Connection, request: Request, number: int) -> Response:
        title = str(json.loads(request.body or b"{}").get("title", ""))
        if shell:
            done = subprocess.run(
                ["sh", "-c", f"echo {title}"], capture_output=True, text=True, timeout=5
            )
            title = done.stdout.strip()
        db.execute("UPDATE reviews SET title = ? WHERE id = ?", (title, number))
        row = db.execute("SELECT id, title FROM reviews WHERE id = ?", (number,)).fetchone()
        return response(200, _row(row))

    return update


@pytest.mark.parametrize("shell", [True, False])
async def test_command_injection_probes_updates_only_on_an_object_it_created(
    db: sqlite3.Connection, shell: bool
) -> None:
    sender = Reviews(db, shell_insert(shell=False), shell_update(shell=shell))

    found = await _scan(
        sender,
        "input_validation.command_injection",
        operations=(LIST, CREATE, READ, PATCH, DELETE),
    )

    assert [(f.operation, f.parameter) for f in found] == (
        [("PATCH /reviews/{review_id}", "body.title")] if shell else []
    )
    assert BASE + "/reviews/1" not in {r.url for r in sender.sent if r.method == "PATCH"}
    assert _left(db) == [(1, "existing")]
