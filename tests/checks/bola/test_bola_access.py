"""Cross-identity reads and writes, and lists holding other owners' records."""

from __future__ import annotations

from dataclasses import replace

import pytest

from middlebrick.baseline import Baseline
from middlebrick.findings import Confidence, Severity
from middlebrick.http.exchange import ANONYMOUS, Request, Response
from middlebrick.identities import Identities
from middlebrick.spec.model import Operation, RequestBody, Surface
from middlebrick.spec.pool import ValuePool
from middlebrick.testing import BASE, response, run_check, two_users

ALICE, BOB = "u-alice-1", "u-bob-2"
NOTE = {"note_id": "n-1", "owner_id": ALICE, "title": "alice's note", "text": "secret plans"}
BOBS_NOTE = {"note_id": "n-2", "owner_id": BOB, "title": "bob's note", "text": "groceries"}
GET_NOTE = Operation("GET", "/notes/{note_id}")
PATCH_NOTE = Operation(
    "PATCH",
    "/notes/{note_id}",
    request_body=RequestBody(
        "application/json",
        {"type": "object", "properties": {"title": {"type": "string"}, "text": {"type": "string"}}},
    ),
)
DENIED = response(401, {"detail": "authentication required"})
NOT_FOUND = response(404, {"detail": "not found"})


def _own_list(request: Request) -> Response:
    """``GET /notes``: each caller's own notes."""
    return response(200, {"notes": [BOBS_NOTE] if request.identity == "bob" else [NOTE]})


def _anyone_reads(request: Request) -> Response:
    """The flaw: the note is read by id alone, by anyone with a token."""
    if request.identity == ANONYMOUS:
        return DENIED
    if request.url.endswith("/notes"):
        return _own_list(request)
    return response(200, NOTE)


def _owner_only(request: Request) -> Response:
    if request.identity == ANONYMOUS:
        return DENIED
    return response(200, NOTE) if request.identity is None else NOT_FOUND


# --- cross_identity_access ------------------------------------------------------------------


async def test_cross_identity_access_reports_another_user_reading_the_primary_s_object(
    api, scan, users
):
    fake = api(_anyone_reads)
    baseline = fake.baseline((GET_NOTE, "/notes/n-1"))

    found = await run_check(
        "bola.cross_identity_access",
        baseline=baseline,
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert [(f.type_id, f.operation) for f in found] == [
        ("bola.cross-identity-access", "GET /notes/{note_id}")
    ]
    finding = found[0]
    assert finding.confidence is Confidence.confirmed
    assert finding.severity is Severity.critical
    assert [e.label for e in finding.evidence] == ["as alice", "as bob", "anonymous"]
    assert "'bob' read the object of 'alice'" in finding.detail
    assert [(r.identity, r.url) for r in fake.sent] == [
        ("bob", BASE + "/notes/n-1"),
        (ANONYMOUS, BASE + "/notes/n-1"),
        ("bob", BASE + "/notes"),
    ]


async def test_cross_identity_access_is_info_when_the_other_user_lists_the_object_as_shared(
    api, scan, users
):
    # Given a team workspace: every member's listing shows alice's note, by design
    def shared(request: Request) -> Response:
        if request.identity == ANONYMOUS:
            return DENIED
        if request.url.endswith("/notes"):
            return response(200, {"notes": [NOTE, BOBS_NOTE]})
        return response(200, NOTE)

    fake = api(shared)

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_NOTE, "/notes/n-1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert [(f.severity, f.confidence) for f in found] == [(Severity.info, Confidence.tentative)]
    assert "'bob''s own listing `GET /notes` shows it" in found[0].detail
    assert found[0].evidence[-1].label == "listing as bob"


SECRET_NOTE = {**NOTE, "secret": "the vault code is 4711-0815"}


def _titles(detail: dict[str, str]):
    """Every member's listing names alice's note (id, owner, title), not its other fields."""

    def answer(request: Request) -> Response:
        if request.identity == ANONYMOUS:
            return DENIED
        if request.url.endswith("/notes"):
            keep = ("note_id", "owner_id", "title")
            return response(200, {"notes": [{k: n[k] for k in keep} for n in (detail, BOBS_NOTE)]})
        return response(200, detail)

    return answer


async def test_cross_identity_access_reports_a_secret_a_listing_of_titles_does_not_show(
    api, scan, users
):
    fake = api(_titles(SECRET_NOTE))

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_NOTE, "/notes/n-1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    # Then bob reading the note's secret is not covered by the listing: a confirmed BOLA
    assert [(f.severity, f.confidence) for f in found] == [
        (Severity.critical, Confidence.confirmed)
    ]


async def test_cross_identity_access_is_info_when_the_listing_leaves_out_only_plain_fields(
    api, scan, users
):
    fake = api(_titles(NOTE))  # the listing leaves out `text` alone, which names nothing private

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_NOTE, "/notes/n-1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert [(f.severity, f.confidence) for f in found] == [(Severity.info, Confidence.tentative)]


async def test_cross_identity_access_never_takes_a_bare_integer_id_for_ownership(api, scan, users):
    # Given alice's user id is 2, and project 2 (bob's, by its nested owner) is read by both
    project = {"id": 2, "title": "Bob's project", "created_by": {"id": 3, "email": "bob@x"}}

    def projects(request: Request) -> Response:
        if request.identity == ANONYMOUS:
            return DENIED
        return response(200, project if not request.url.endswith("/projects") else [])

    fake = api(projects)

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((Operation("GET", "/projects/{id}"), "/projects/2")),
        sender=fake,
        scan=scan(),
        identities=users(alice=("2", "alice@x"), bob=("3", "bob@x")),
    )

    # Then the object is bob's own (created_by.email): bob reading it is no finding
    assert found == []


async def test_cross_identity_access_reads_an_owner_object_s_e_mail(api, scan, users):
    project = {"id": 7, "title": "Alice's project", "created_by": {"id": 2, "email": "alice@x"}}

    def projects(request: Request) -> Response:
        if request.identity == ANONYMOUS:
            return DENIED
        return response(200, [] if request.url.endswith("/projects") else project)

    fake = api(projects)

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((Operation("GET", "/projects/{id}"), "/projects/7")),
        sender=fake,
        scan=scan(),
        identities=users(alice=("2", "alice@x"), bob=("3", "bob@x")),
    )

    assert [(f.severity, f.confidence) for f in found] == [
        (Severity.critical, Confidence.confirmed)
    ]


async def test_cross_identity_access_stays_quiet_on_an_empty_answer(api, scan, users):
    fake = api(
        lambda request: (
            DENIED if request.identity == ANONYMOUS else response(200, {"count": 0, "results": []})
        )
    )

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline(
            (Operation("GET", "/notes/{note_id}/exports"), "/notes/n-1/exports")
        ),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert found == []
    assert fake.sent == []


async def test_cross_identity_access_stays_quiet_when_the_other_user_is_refused(api, scan, users):
    fake = api(_owner_only)

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_NOTE, "/notes/n-1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert found == []


async def test_cross_identity_access_stays_quiet_when_the_object_is_public(api, scan, users):
    product = {"product_id": "p-1", "name": "lamp", "price": 12}
    fake = api(lambda request: response(200, product))

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((Operation("GET", "/products/{product_id}"), "/products/p-1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert found == []


async def test_cross_identity_access_stays_quiet_on_an_owned_object_anyone_reads_without_a_token(
    api, scan, users
):
    # Given alice's note, answered whole to anyone, without a token too: no BOLA (issue 21,
    # class 2: a BOLA needs the anonymous request refused or answered less); whether the content
    # is private by nature is the authentication checks' verdict (sensitive data without auth)
    fake = api(lambda request: response(200, NOTE))

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_NOTE, "/notes/n-1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert found == []


async def test_cross_identity_access_stays_quiet_when_the_server_ignores_the_id(api, scan, users):
    def own_note(request: Request) -> Response:
        if request.identity == ANONYMOUS:
            return DENIED
        return response(200, NOTE if request.identity is None else BOBS_NOTE)

    fake = api(own_note)

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_NOTE, "/notes/n-1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert found == []


async def test_cross_identity_access_is_info_when_nothing_proves_the_owner(api, scan, users):
    anonymous_note = {"note_id": "n-1", "title": "a note"}
    fake = api(
        lambda request: DENIED if request.identity == ANONYMOUS else response(200, anonymous_note)
    )

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_NOTE, "/notes/n-1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert [(f.confidence, f.severity) for f in found] == [(Confidence.tentative, Severity.info)]
    assert "nothing proves the object is 'alice''s" in found[0].detail


GET_ORDER = Operation("GET", "/orders/{order_id}")
# The owner field holds the shop's internal user number: no token claim or /me answer names it
ALICES_ORDER = {"id": 1, "user_id": 5, "status": "pending", "phone_number": "555-0101"}
BOBS_ORDER = {"id": 2, "user_id": 6, "status": "pending", "phone_number": "555-0102"}


def _orders(listed: dict[str | None, list[dict[str, object]]]):
    """``GET /orders`` lists ``listed[identity]``; an order is read by its id alone (the flaw)."""

    def answer(request: Request) -> Response:
        if request.identity == ANONYMOUS:
            return DENIED
        if request.url.endswith("/orders"):
            return response(200, listed[request.identity])
        wanted = int(request.url.rsplit("/", 1)[1])
        order = next((o for o in (ALICES_ORDER, BOBS_ORDER) if o["id"] == wanted), None)
        return response(200, order) if order else NOT_FOUND

    return answer


async def test_cross_identity_access_proves_ownership_by_listings_scoped_to_each_caller(
    api, scan, users
):
    # Given GET /orders lists each caller its own orders, and any caller reads any order by id
    fake = api(_orders({None: [ALICES_ORDER], "bob": [BOBS_ORDER]}))

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_ORDER, "/orders/1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    # Then bob reading alice's order is a confirmed BOLA, its proof the two listings
    assert [(f.confidence, f.severity) for f in found] == [
        (Confidence.confirmed, Severity.critical)
    ]
    assert "'alice''s own listing `GET /orders` shows it" in found[0].detail
    assert [e.label for e in found[0].evidence] == [
        "as alice",
        "as bob",
        "anonymous",
        "listing as alice",
        "listing as bob",
    ]


@pytest.mark.parametrize(
    "listed",
    [
        {None: [ALICES_ORDER, BOBS_ORDER], "bob": [ALICES_ORDER, BOBS_ORDER]},  # one list for all
        {None: [ALICES_ORDER], "bob": []},  # bob has nothing: scoping is not shown
        {None: [BOBS_ORDER], "bob": [ALICES_ORDER]},  # alice's own listing does not show it
        {None: [ALICES_ORDER, BOBS_ORDER], "bob": [BOBS_ORDER]},  # a record in common
        # a feed: alice is shown orders of several users, bob others
        {None: [ALICES_ORDER, {**BOBS_ORDER, "id": 3}], "bob": [{**ALICES_ORDER, "id": 4}]},
    ],
)
async def test_cross_identity_access_stays_info_when_the_listings_do_not_prove_the_owner(
    api, scan, users, listed
):
    fake = api(_orders(listed))

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_ORDER, "/orders/1")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    assert [f.severity for f in found] in ([Severity.info], [])


async def test_cross_identity_access_stays_quiet_with_a_single_identity(api):
    fake = api(_anyone_reads)

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((GET_NOTE, "/notes/n-1")),
        sender=fake,
    )

    assert found == []
    assert fake.sent == []


# --- foreign_records ------------------------------------------------------------------------


LIST_NOTES = Operation("GET", "/notes")
NOTES = Surface(BASE, (LIST_NOTES, GET_NOTE))


def _unfiltered_list(*rows: dict[str, object], by_id: Response = NOT_FOUND):
    """The flaw: ``GET /notes`` lists every owner's notes; ``GET /notes/{id}`` answers ``by_id``
    for another owner's note."""

    def answer(request: Request) -> Response:
        if request.url.endswith("/notes"):
            return response(200, {"notes": list(rows)})
        return response(200, NOTE) if request.url.endswith("/n-1") else by_id

    return answer


async def test_foreign_records_reports_a_list_holding_records_refused_by_id(api, users):
    fake = api(_unfiltered_list(NOTE, BOBS_NOTE))

    found = await run_check(
        "bola.foreign_records",
        baseline=fake.baseline((LIST_NOTES, "/notes")),
        sender=fake,
        identities=users(),
        surface=NOTES,
    )

    assert [(f.type_id, f.operation, f.parameter) for f in found] == [
        ("bola.foreign-records-in-list", "GET /notes", "owner_id")
    ]
    assert (found[0].confidence, found[0].severity) == (Confidence.confirmed, Severity.critical)
    assert "names identity 'bob'" in found[0].detail
    assert "refused to 'alice' (404)" in found[0].detail
    assert [r.url for r in fake.sent] == [BASE + "/notes/n-2"]


async def test_foreign_records_is_info_when_the_record_is_also_read_by_id(api, users):
    # Given a shared workspace: the list and the read by id both show bob's note to alice
    fake = api(_unfiltered_list(NOTE, BOBS_NOTE, by_id=response(200, BOBS_NOTE)))

    found = await run_check(
        "bola.foreign_records",
        baseline=fake.baseline((LIST_NOTES, "/notes")),
        sender=fake,
        identities=users(),
        surface=NOTES,
    )

    assert [(f.confidence, f.severity) for f in found] == [(Confidence.tentative, Severity.info)]
    assert "shared with the caller" in found[0].detail


async def test_foreign_records_is_info_without_a_read_by_id(api, users):
    fake = api(_unfiltered_list(NOTE, BOBS_NOTE))

    found = await run_check(
        "bola.foreign_records",
        baseline=fake.baseline((LIST_NOTES, "/notes")),
        sender=fake,
        identities=users(),
    )

    assert [f.severity for f in found] == [Severity.info]
    assert fake.sent == []


async def test_foreign_records_is_firm_when_the_other_owners_are_unknown(api, users):
    stranger = {**BOBS_NOTE, "owner_id": "u-someone-9"}
    fake = api(_unfiltered_list(NOTE, stranger))

    found = await run_check(
        "bola.foreign_records",
        baseline=fake.baseline((LIST_NOTES, "/notes")),
        sender=fake,
        identities=users(),
        surface=NOTES,
    )

    assert [(f.confidence, f.severity) for f in found] == [(Confidence.firm, Severity.high)]


async def test_foreign_records_reads_raw_dynamodb_attribute_values(api, users):
    raw = [
        {"note_id": {"S": "n-1"}, "owner_id": {"S": ALICE}},
        {"note_id": {"S": "n-2"}, "owner_id": {"S": BOB}},
    ]
    fake = api(
        lambda request: (
            response(200, {"Items": raw, "Count": 2})
            if request.url.endswith("/notes")
            else NOT_FOUND
        )
    )

    found = await run_check(
        "bola.foreign_records",
        baseline=fake.baseline((LIST_NOTES, "/notes")),
        sender=fake,
        identities=users(),
        surface=NOTES,
    )

    assert [f.confidence for f in found] == [Confidence.confirmed]


async def test_foreign_records_stays_quiet_when_every_record_is_the_caller_s(api, users):
    fake = api(lambda request: response(200, [NOTE, {**NOTE, "note_id": "n-3"}]))

    found = await run_check(
        "bola.foreign_records",
        baseline=fake.baseline((LIST_NOTES, "/notes")),
        sender=fake,
        identities=users(),
    )

    assert found == []


async def test_foreign_records_stays_quiet_on_a_directory_whose_ids_are_the_records_own(api, users):
    people = [{"user_id": ALICE, "name": "Alice"}, {"user_id": BOB, "name": "Bob"}]
    fake = api(lambda request: response(200, {"users": people}))

    found = await run_check(
        "bola.foreign_records",
        baseline=fake.baseline((Operation("GET", "/users"), "/users")),
        sender=fake,
        identities=users(),
    )

    assert found == []


# --- per-user objects first -----------------------------------------------------------------

TEAM_NOTE = {"note_id": "n-0", "owner_id": ALICE, "title": "team agenda", "text": "shared"}


def _team_notes(*, owner_check: bool):
    """Alice's n-0 is shared with bob (his listing shows it); her n-1 is hers alone."""
    notes = {"n-0": TEAM_NOTE, "n-1": NOTE, "n-2": BOBS_NOTE}

    def answer(request: Request) -> Response:
        if request.identity == ANONYMOUS:
            return DENIED
        if request.url.endswith("/notes"):
            mine = ["n-0", "n-2"] if request.identity == "bob" else ["n-0", "n-1"]
            return response(200, {"notes": [notes[n] for n in mine]})
        wanted = notes.get(request.url.rsplit("/", 1)[1])
        refused = owner_check and request.identity == "bob" and wanted is not BOBS_NOTE
        if wanted is None or (refused and wanted is not TEAM_NOTE):
            return NOT_FOUND
        return response(200, wanted)

    return answer


def _pooled_baseline(fake) -> Baseline:
    """The primary's baseline: its listing in the pool, and the shared note read first."""
    baseline = fake.baseline((LIST_NOTES, "/notes"), (GET_NOTE, "/notes/n-0"))
    pool = ValuePool()
    listing = baseline.exchanges[LIST_NOTES.key].response
    pool.add(listing.json, operation=LIST_NOTES, identity="alice")
    return replace(baseline, pool=pool)


async def test_cross_identity_access_reads_a_per_user_object_rather_than_a_shared_one(
    api, scan, users
):
    # Given alice's first note is shared with bob, and her listing holds one he is not shown
    fake = api(_team_notes(owner_check=False))

    found = await run_check(
        "bola.cross_identity_access",
        baseline=_pooled_baseline(fake),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    # Then the per-user note is read, and bob reading it is a confirmed BOLA
    assert [(f.severity, f.confidence) for f in found] == [
        (Severity.critical, Confidence.confirmed)
    ]
    assert "note_id=n-1" in found[0].detail
    assert [(r.identity, r.url) for r in fake.sent][:3] == [
        ("bob", BASE + "/notes"),
        (None, BASE + "/notes/n-1"),
        ("bob", BASE + "/notes/n-1"),
    ]


async def test_cross_identity_access_stays_quiet_on_the_per_user_object_bob_is_refused(
    api, scan, users
):
    # Given the same notes, but only the shared note (listed to bob) is readable by him
    fake = api(_team_notes(owner_check=True))

    found = await run_check(
        "bola.cross_identity_access",
        baseline=_pooled_baseline(fake),
        sender=fake,
        scan=scan(),
        identities=users(),
    )

    # Then nothing is reported: alice's own note is refused to bob, the shared one is not tried
    assert found == []


# --- refusals inside a 200, records inside a wrapper list -----------------------------------

CUSTOMER = {"success": True, "customers": [{"id": 2, "company": 1, "name": "Acme", "iban": "X"}]}
REFUSED_200 = response(200, {"success": False, "error": "No API token given."})


def _goat_like(request: Request) -> Response:
    """Every refusal is a 200 envelope; any token reads customer 2 (the flaw)."""
    if request.identity == ANONYMOUS:
        return REFUSED_200
    if request.url.endswith("/customers"):
        return response(200, {"success": True, "customers": []})  # each bank's own
    return response(200, CUSTOMER)


def _goat_like_fixed(request: Request) -> Response:
    """The same API checking the tenant: bob is refused, in a 200 envelope too."""
    if request.identity in (None, "alice"):
        return response(200, CUSTOMER)
    return response(200, {"success": False, "error": "Not your customer."})


def _alice_owns(*ids: str) -> Identities:
    plain = two_users(primary_ids=(ALICE,), other_ids=(BOB,))
    assert plain.primary is not None
    return replace(plain, primary=replace(plain.primary, owns=ids))


async def test_cross_identity_access_reports_a_read_refused_to_anonymous_in_a_200_envelope(
    api, scan
):
    # Given --owns alice=2 and a record inside a wrapper list, anonymous refused with a 200
    fake = api(_goat_like)

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((Operation("GET", "/customers/{id}"), "/customers/2")),
        sender=fake,
        scan=scan(),
        identities=_alice_owns("2"),
    )

    assert [(f.type_id, f.severity) for f in found] == [
        ("bola.cross-identity-access", Severity.critical)
    ]


async def test_cross_identity_access_stays_quiet_when_the_other_is_refused_in_a_200_envelope(
    api, scan
):
    fake = api(_goat_like_fixed)

    found = await run_check(
        "bola.cross_identity_access",
        baseline=fake.baseline((Operation("GET", "/customers/{id}"), "/customers/2")),
        sender=fake,
        scan=scan(),
        identities=_alice_owns("2"),
    )

    assert found == []
