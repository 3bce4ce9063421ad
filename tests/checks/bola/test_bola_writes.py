"""Write-side BOLA on objects that existed before the scan: another user's no-op PUT or PATCH.

The fake API goes through the write journal, as the real client does: the journal reads each
object before a write, refuses a no-op write whose fields do not hold the object's values, and
restores what changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from middlebrick.baseline import Baseline
from middlebrick.findings import Confidence, Severity
from middlebrick.http.exchange import ANONYMOUS, Exchange, Request, Response
from middlebrick.http.journal import Journal
from middlebrick.http.policy import Policy
from middlebrick.spec.model import Operation, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, make_baseline, response, run_check

ALICE, BOB = "u-alice-1", "u-bob-2"
WISH = {"title": "alice-ideas", "owner": ALICE, "note": "for alice", "products": [1, 5]}
GET = Operation("GET", "/wishlists/{title}")
PUT = Operation(
    "PUT",
    "/wishlists/{title}",
    request_body=RequestBody(
        "application/json",
        {
            "type": "object",
            "properties": {
                "note": {"type": "string"},
                "products": {"type": "array", "items": {"type": "integer"}},
            },
        },
    ),
)
PATCH = Operation(
    "PATCH",
    "/wishlists/{title}",
    request_body=RequestBody(
        "application/json", {"type": "object", "properties": {"note": {"type": "string"}}}
    ),
)
DENIED = response(401, {"detail": "authentication required"})
NOT_FOUND = response(404, {"detail": "not found"})


class _Api(FakeSender):
    """A fake API whose answers all come from one handler; writes go through the journal."""

    def __init__(self, answer: Callable[[Request], Response]) -> None:
        super().__init__()
        self.answer = answer

    async def _answer(self, request: Request) -> Exchange:
        self.sent.append(request)
        return Exchange(request, self.answer(request))

    def baseline(self, op: Operation, path: str) -> Baseline:
        request = Request("GET", BASE + path)
        return make_baseline([(op, Exchange(request, self.answer(request), operation=op.key))])


def _wishlists(
    *,
    owner_check: bool = False,
    others_read: bool = True,
    anonymous_writes: bool = False,
    listed_to_bob: bool = False,
    record: dict[str, Any] | None = None,
) -> Callable[[Request], Response]:
    """A wishlist API: alice's wishlist, read and written by its title."""
    state = dict(record or WISH)

    def answer(request: Request) -> Response:
        who = request.identity
        if request.url.endswith("/wishlists"):
            mine = [state] if who is None or listed_to_bob else []
            return response(200, {"data": [{"title": w["title"]} for w in mine]})
        if request.method in ("PUT", "PATCH"):
            if who == ANONYMOUS and not anonymous_writes:
                return DENIED
            if owner_check and who is not None:
                return NOT_FOUND
            state.update(json.loads(request.body or b"{}"))
            return response(200, {"data": state})
        if who == ANONYMOUS:
            return DENIED
        if who is not None and not others_read:
            return NOT_FOUND
        return response(200, {"data": dict(state)})

    return answer


async def _run(fake: _Api, scan, users, *operations: Operation) -> list:
    return await run_check(
        "bola.cross_identity_writes",
        baseline=fake.baseline(GET, "/wishlists/alice-ideas"),
        sender=fake,
        scan=scan(mode="active"),
        identities=users(),
        surface=Surface(BASE, (GET, *operations)),
    )


def _writes(fake: _Api) -> list[tuple[str, str | None, Any]]:
    return [
        (r.method, r.identity, json.loads(r.body or b"null"))
        for r in fake.sent
        if r.method not in ("GET", "HEAD")
    ]


async def test_cross_identity_writes_reports_a_no_op_put_of_another_user_s_object(scan, users):
    # Given a wishlist any signed-in user may replace by its title
    fake = _Api(_wishlists())

    # When the check runs in active mode
    found = await _run(fake, scan, users, PUT)

    # Then bob's PUT of alice's wishlist, re-sending what she read, is write-side BOLA
    assert [(f.type_id, f.operation) for f in found] == [
        ("bola.cross-identity-access", "PUT /wishlists/{title}")
    ]
    finding = found[0]
    assert finding.severity is Severity.critical
    assert finding.confidence is Confidence.firm
    assert "cannot be told from an ignored one" in finding.detail
    assert "owner (or own id) field names 'alice'" in finding.detail
    body = {"note": "for alice", "products": [1, 5]}
    assert _writes(fake) == [("PUT", "bob", body), ("PUT", ANONYMOUS, body)]
    assert [r.state for r in fake.journal.results] == ["unchanged"]
    assert [e.label for e in finding.evidence] == [
        "as alice",
        "read as bob",
        "PUT as bob",
        "anonymous",
        "read back as alice",
    ]


async def test_cross_identity_writes_stays_quiet_when_the_owner_is_checked(scan, users):
    fake = _Api(_wishlists(owner_check=True, others_read=False))

    found = await _run(fake, scan, users, PUT, PATCH)

    assert found == []
    assert [(m, who) for m, who, _ in _writes(fake)] == [("PUT", "bob"), ("PATCH", "bob")]


async def test_cross_identity_writes_reports_a_write_to_an_object_the_other_may_not_read(
    scan, users
):
    # Given an object naming nobody, which bob may not read, yet may write
    record = {"title": "alice-ideas", "note": "for alice", "products": [1, 5]}
    fake = _Api(_wishlists(others_read=False, record=record))

    found = await _run(fake, scan, users, PATCH)

    assert [f.operation for f in found] == ["PATCH /wishlists/{title}"]
    assert "'bob' is refused its read (`GET` answered 404)" in found[0].detail
    assert _writes(fake)[0] == ("PATCH", "bob", {"note": "for alice"})


async def test_cross_identity_writes_never_writes_an_object_shown_neither_owned_nor_private(
    scan, users
):
    # Given a catalogue entry naming nobody that every user reads: maybe shared, BFLA's ground
    record = {"title": "alice-ideas", "note": "for alice", "products": [1, 5]}
    fake = _Api(_wishlists(record=record))

    assert await _run(fake, scan, users, PUT, PATCH) == []
    assert _writes(fake) == []


async def test_cross_identity_writes_never_writes_an_object_the_other_s_listing_shows(scan, users):
    fake = _Api(_wishlists(listed_to_bob=True))

    assert await _run(fake, scan, users, PUT) == []
    assert _writes(fake) == []


async def test_cross_identity_writes_stays_quiet_when_anonymous_writes_are_accepted_too(
    scan, users
):
    # Given an API that answers 2xx to every write (or ignores them): nothing to tell apart
    fake = _Api(_wishlists(anonymous_writes=True))

    assert await _run(fake, scan, users, PUT) == []


async def test_cross_identity_writes_confirms_when_the_read_back_shows_the_write_stored(
    scan, users
):
    # Given an API that stamps every stored write
    inner = _wishlists()
    stamp = {"at": 1}

    def stamped(request: Request) -> Response:
        if request.method == "PUT" and request.identity != ANONYMOUS:
            stamp["at"] += 1
        answer = inner(request)
        if answer.status == 200 and "/wishlists/" in request.url:
            body = json.loads(answer.body)
            body["data"]["updated_at"] = stamp["at"]
            return response(200, body)
        return answer

    fake = _Api(stamped)

    found = await _run(fake, scan, users, PUT)

    assert [f.confidence for f in found] == [Confidence.confirmed]
    assert "`updated_at` 1 -> 2" in found[0].detail


_PROPS = PUT.request_body.schema["properties"] if PUT.request_body else {}
PUT_WITH_ROLE = Operation(
    "PUT",
    "/wishlists/{title}",
    request_body=RequestBody(
        "application/json",
        {"type": "object", "properties": {**_PROPS, "role": {"type": "string"}}},
    ),
)


@pytest.mark.parametrize(
    ("record", "put"),
    [
        ({"title": "alice-ideas", "owner": ALICE, "note": "for alice"}, PUT),  # products missing
        ({**WISH, "role": "admin"}, PUT_WITH_ROLE),
    ],
    ids=["a-declared-field-missing", "a-role-declared"],
)
async def test_cross_identity_writes_sends_no_put_that_could_reset_or_grant(
    scan, users, record, put
):
    fake = _Api(_wishlists(record=record))

    assert await _run(fake, scan, users, put) == []
    assert _writes(fake) == []


async def test_cross_identity_writes_reports_a_no_op_patch_of_a_member_s_record(scan, users):
    # Given a member directory everyone lists, where any member may PATCH any profile
    alice = {"id": 2, "email": "alice@x", "status": "away"}
    get = Operation("GET", "/users/{id}/")
    patch = Operation(
        "PATCH",
        "/users/{id}/",
        request_body=RequestBody(
            "application/json", {"type": "object", "properties": {"status": {"type": "string"}}}
        ),
    )

    def directory(request: Request) -> Response:
        if request.identity == ANONYMOUS:
            return DENIED
        if request.url.endswith("/users/"):
            return response(200, [alice, {"id": 3, "email": "bob@x", "status": "in"}])
        return response(200, alice)

    fake = _Api(directory)
    found = await run_check(
        "bola.cross_identity_writes",
        baseline=fake.baseline(get, "/users/2/"),
        sender=fake,
        scan=scan(mode="active"),
        identities=users(alice=("2", "alice@x"), bob=("3", "bob@x")),
        surface=Surface(BASE, (get, patch)),
    )

    # Then the directory listing does not make the profile writable by design: critical
    assert [(f.severity, f.operation) for f in found] == [(Severity.critical, "PATCH /users/{id}/")]
    assert _writes(fake)[0] == ("PATCH", "bob", {"status": "away"})


# --- the safety layer: the policy wants --include, the journal checks a no-op is one ---------


def test_policy_lets_a_write_to_an_object_the_scan_did_not_create_go_only_when_included():
    ops = (GET, PUT, Operation("PATCH", "/users/{id}"), Operation("GET", "/users/{id}"))
    url = BASE + "/wishlists/alice-ideas"
    unnamed = Policy.of("active", (), (), BASE)
    named = Policy.of("active", ("PUT /wishlists/{title}",), (), BASE)
    for policy in (unnamed, named):
        policy.learn(Surface(BASE, ops))

    assert unnamed.refusal("PUT", url) is not None
    assert named.refusal("PUT", url) is None


async def test_journal_refuses_a_no_op_write_whose_fields_differ_from_the_object():
    sent: list[Request] = []

    async def send(request: Request) -> Exchange:
        sent.append(request)
        return Exchange(request, response(200, {"data": WISH}))

    journal = Journal(send)
    url = BASE + "/wishlists/alice-ideas"

    def write(body: dict[str, Any]) -> Request:
        return Request("PUT", url, body=json.dumps(body).encode(), unchanged=True)

    refused = await journal.send(write({"note": "changed"}), "check", send)
    accepted = await journal.send(write({"note": "for alice"}), "check", send)

    assert refused.response is None
    assert refused.error is not None and "note differ" in refused.error
    assert accepted.ok
    assert [r.method for r in sent] == ["GET", "GET", "PUT"]
