"""A query parameter that names the owner: ``?user_id=`` replaces the caller."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from middlebrick.findings import Confidence
from middlebrick.http.exchange import ANONYMOUS, Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import response, run_check

ALICE, BOB = "u-alice-1", "u-bob-2"
NOTES = {
    "n-1": {"note_id": "n-1", "owner_id": ALICE, "title": "alice's note"},
    "n-2": {"note_id": "n-2", "owner_id": BOB, "title": "bob's note"},
}
LIST = Operation("GET", "/notes")
GET = Operation(
    "GET",
    "/notes/{note_id}",
    parameters=(
        Parameter("note_id", "path", required=True),
        Parameter("user_id", "query", description="owner of the note (support tools)"),
    ),
)
SEARCH = Operation("GET", "/search")


def _notes_api(*, override: bool):
    """Notes of their owners only; with ``override`` a note read takes the query's user_id."""

    def answer(request: Request) -> Response:
        caller = {None: ALICE, "bob": BOB}.get(request.identity)
        if caller is None:
            return response(401, {"detail": "authentication required"})
        parts = urlsplit(request.url)
        if parts.path == "/notes":
            return response(200, {"notes": [n for n in NOTES.values() if n["owner_id"] == caller]})
        owner = parse_qs(parts.query).get("user_id", [caller])[0] if override else caller
        note = NOTES.get(parts.path.rsplit("/", 1)[-1])
        if note is None or note["owner_id"] != owner:
            return response(404, {"detail": "not found"})
        return response(200, note)

    return answer


async def _run(fake, users, *pairs):
    return await run_check(
        "bola.owner_override",
        baseline=fake.baseline(*pairs),
        sender=fake,
        identities=users(),
    )


async def test_owner_override_reports_a_user_id_parameter_that_reads_another_user_s_object(
    api, users
):
    fake = api(_notes_api(override=True))

    found = await _run(fake, users, (LIST, "/notes"), (GET, "/notes/n-1"))

    assert [(f.type_id, f.operation, f.parameter) for f in found] == [
        ("bola.owner-override-parameter", "GET /notes/{note_id}", "user_id")
    ]
    assert found[0].confidence is Confidence.confirmed
    assert [e.label for e in found[0].evidence] == ["control: no override", "?user_id= override"]
    object_requests = [
        (r.url.split("8000", 1)[1], r.identity)
        for r in fake.sent
        if "/notes/" in r.url or r.identity == "bob"
    ]
    assert object_requests == [
        ("/notes", "bob"),  # the parent read as bob: his note
        ("/notes/n-2", None),  # the control: denied to alice
        ("/notes/n-2?user_id=u-bob-2", None),
    ]


async def test_owner_override_stays_quiet_when_the_parameter_is_ignored(api, users):
    fake = api(_notes_api(override=False))

    found = await _run(fake, users, (LIST, "/notes"), (GET, "/notes/n-1"))

    assert found == []


async def test_owner_override_stays_quiet_when_the_object_is_readable_without_it(api, users):
    def no_owner_check(request: Request) -> Response:
        path = urlsplit(request.url).path
        if path == "/notes":
            return response(200, {"notes": list(NOTES.values())})
        return response(200, NOTES[path.rsplit("/", 1)[-1]])

    fake = api(no_owner_check)

    found = await _run(fake, users, (LIST, "/notes"), (GET, "/notes/n-1"))

    assert found == []
    assert [urlsplit(r.url).path for r in fake.sent] == ["/notes/n-2"]  # the control only


async def test_owner_override_reports_a_collection_that_follows_a_guessed_owner_parameter(
    api, users
):
    def search(request: Request) -> Response:
        if request.identity == ANONYMOUS:
            return response(401, {})
        owner = parse_qs(urlsplit(request.url).query).get("owner_id", [ALICE])[0]
        return response(200, {"results": [n for n in NOTES.values() if n["owner_id"] == owner]})

    fake = api(search)

    found = await _run(fake, users, (SEARCH, "/search"))

    assert [(f.operation, f.parameter) for f in found] == [("GET /search", "owner_id")]
    assert [urlsplit(r.url).query for r in fake.sent] == [
        "user_id=u-bob-2",
        "owner_id=u-bob-2",
    ]
