"""Guessable identifiers: sequential ids, timestamps, and the objects one step away."""

from __future__ import annotations

from urllib.parse import urlsplit

from middlebrick.findings import Confidence, Severity
from middlebrick.http.exchange import ANONYMOUS, Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import response, run_check

ALICE, BOB = "u-alice-1", "u-bob-2"
TICKET = Operation(
    "GET", "/tickets/{ticket_id}", parameters=(Parameter("ticket_id", "path", required=True),)
)
TICKETS = {
    1001: {"ticket_id": 1001, "owner_id": ALICE, "title": "login loop"},
    1002: {"ticket_id": 1002, "owner_id": BOB, "title": "invoice"},
    1003: {"ticket_id": 1003, "owner_id": "u-carol-3", "title": "quota"},
}


def _tickets_api(*, owner_check: bool, public: bool = False, tickets=TICKETS, shared=False):
    def answer(request: Request) -> Response:
        if request.identity == ANONYMOUS and not public:
            return response(401, {"detail": "authentication required"})
        last = urlsplit(request.url).path.rsplit("/", 1)[-1]
        if not last.isdigit():  # the collection: the caller's own, or everyone's when shared
            mine = [t for t in tickets.values() if shared or t.get("owner_id") == ALICE]
            return response(200, mine)
        number = int(last)
        ticket = tickets.get(number)
        if ticket is None or (owner_check and ticket.get("owner_id", ALICE) != ALICE):
            return response(404, {"detail": "not found"})
        return response(200, ticket)

    return answer


async def _run(fake, users, path="/tickets/1001", op=TICKET, **kwargs):
    return await run_check(
        "bola.predictable_ids",
        baseline=fake.baseline((op, path)),
        sender=fake,
        identities=users(**kwargs),
    )


async def test_predictable_ids_reports_a_neighbour_owned_by_another_identity(api, users):
    fake = api(_tickets_api(owner_check=False))

    found = await _run(fake, users)

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("bola.predictable-id", "ticket_id", Confidence.confirmed),
        ("bola.adjacent-id-access", "ticket_id", Confidence.confirmed),
    ]
    assert found[1].severity is Severity.critical
    assert "names identity 'bob'" in found[1].detail
    assert [e.label for e in found[1].evidence] == [
        "as alice, ticket_id=1001",
        "as alice, ticket_id=1002",
        "anonymous",
    ]
    assert [(urlsplit(r.url).path, r.identity) for r in fake.sent] == [
        ("/tickets/1002", None),
        ("/tickets/1002", ANONYMOUS),
        ("/tickets", None),
    ]
    assert found[0].severity is Severity.low


async def test_predictable_ids_is_info_when_the_caller_s_own_listing_shows_the_neighbour(
    api, users
):
    # Given a shared workspace: alice lists every ticket, so reading 1002 is by design
    fake = api(_tickets_api(owner_check=False, shared=True))

    found = await _run(fake, users)

    assert [(f.type_id, f.severity) for f in found] == [
        ("bola.predictable-id", Severity.info),
        ("bola.adjacent-id-access", Severity.info),
    ]
    assert "own listing `GET /tickets` shows it: shared" in found[1].detail


async def test_predictable_ids_is_firm_when_the_neighbour_s_owner_is_unknown(api, users):
    fake = api(_tickets_api(owner_check=False))

    found = await _run(fake, users, bob=("u-nobody",))

    assert [(f.type_id, f.confidence) for f in found][1] == (
        "bola.adjacent-id-access",
        Confidence.firm,
    )


async def test_predictable_ids_is_info_when_objects_carry_no_owner(api, users):
    bare = {n: {"ticket_id": n, "title": t["title"]} for n, t in TICKETS.items()}
    fake = api(_tickets_api(owner_check=False, tickets=bare))

    found = await _run(fake, users)

    assert [(f.type_id, f.confidence, f.severity) for f in found] == [
        ("bola.predictable-id", Confidence.confirmed, Severity.info),
        ("bola.adjacent-id-access", Confidence.tentative, Severity.info),
    ]


async def test_predictable_ids_reports_only_the_predictable_id_when_neighbours_are_refused(
    api, users
):
    fake = api(_tickets_api(owner_check=True))

    found = await _run(fake, users)

    assert [(f.type_id, f.confidence, f.severity) for f in found] == [
        ("bola.predictable-id", Confidence.firm, Severity.info)
    ]
    assert len(fake.sent) == 2  # 1002 and 1000, both refused


async def test_predictable_ids_stays_quiet_about_neighbours_that_are_public(api, users):
    products = {n: {"product_id": n, "name": f"lamp {n}"} for n in (7, 8, 6)}
    op = Operation("GET", "/products/{product_id}")
    fake = api(_tickets_api(owner_check=False, public=True, tickets=products))

    found = await _run(fake, users, path="/products/7", op=op)

    assert [f.type_id for f in found] == ["bola.predictable-id"]


async def test_predictable_ids_stays_quiet_on_random_ids(api, users):
    note = {"note_id": "3f1e2d4c-5b6a-4798-8a1b-2c3d4e5f6a7b", "owner_id": ALICE}
    fake = api(lambda request: response(200, note))
    op = Operation("GET", "/notes/{note_id}")

    found = await _run(fake, users, path=f"/notes/{note['note_id']}", op=op)

    assert found == []
    assert fake.sent == []


async def test_predictable_ids_names_a_timestamp_id(api, users):
    event = {"event_id": 1767225600, "owner_id": ALICE}
    fake = api(
        lambda request: (
            response(404, {}) if "1767225600" not in request.url else response(200, event)
        )
    )
    op = Operation("GET", "/events/{event_id}")

    found = await _run(fake, users, path="/events/1767225600", op=op)

    assert [(f.type_id, f.confidence) for f in found] == [("bola.predictable-id", Confidence.firm)]
    assert "is a timestamp (1767225600)" in found[0].detail
