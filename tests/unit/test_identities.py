"""Identities are verified before the checks, rejected credentials stop the scan, expiry is seen."""

from __future__ import annotations

import json
import time

import pytest

from middlebrick.config import Credential, ScanRequest
from middlebrick.errors import CredentialsRejected
from middlebrick.http.exchange import Request, Response
from middlebrick.identities import (
    establish,
    own_ids,
    owned_by_resource,
    owned_id,
    primary_name,
    recheck,
)
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response
from middlebrick.tokens import b64url

ITEMS = Operation(method="GET", path="/items")
ME = Operation(method="GET", path="/users/me")


def _token(claims: dict) -> str:
    head = b64url(json.dumps({"alg": "HS256"}).encode())
    return f"{head}.{b64url(json.dumps(claims).encode())}.c2ln"


ALICE = _token({"sub": "u-alice"})
BOB = _token({"sub": "u-bob"})


def _scan(**identities: str) -> ScanRequest:
    return ScanRequest(
        target=BASE,
        identities={
            name: Credential(headers=(("Authorization", f"Bearer {token}"),))
            for name, token in identities.items()
        },
    )


def _api(valid: set[str | None]) -> FakeSender:
    """/items answers 200 to the identities in ``valid`` and 401 to everyone else."""

    def items(request: Request) -> Response:
        if request.identity in valid:
            return response(200, [{"id": "i-1", "owner": "u-alice"}])
        return response(401, {"detail": "no"})

    def me(request: Request) -> Response:
        users = {None: "u-alice", "alice": "u-alice", "bob": "u-bob", "anonymous": "u-anon"}
        who = (
            users.get(request.identity)
            if request.identity != "anonymous" or request.identity in valid
            else None
        )
        return response(200, {"user_id": who}) if who else response(401, {"detail": "no"})

    return FakeSender({("GET", "/items"): items, ("GET", "/users/me"): me})


def _baseline(sender_status: int = 200):
    body = [{"id": "i-1", "owner": "u-alice"}] if sender_status == 200 else {"detail": "no"}
    return make_baseline(
        [
            (ITEMS, exchange("GET", "/items", response(sender_status, body), operation=ITEMS.key)),
            (
                ME,
                exchange(
                    "GET", "/users/me", response(200, {"user_id": "u-alice"}), operation=ME.key
                ),
            ),
        ]
    )


async def test_establish_verifies_the_second_identity_on_an_operation_anonymous_is_denied() -> None:
    sender = _api({None, "bob"})
    found = await establish(sender, _scan(alice=ALICE, bob=BOB), _baseline())
    assert found.primary is not None and found.primary.name == "alice"
    assert found.primary.verified is True and "u-alice" in found.primary.self_ids
    assert [(o.name, o.verified) for o in found.others] == [("bob", True)]
    assert "u-bob" in found.others[0].self_ids  # from its token and from /users/me as bob
    assert found.verifier is not None and found.verifier.operation == "GET /items"
    assert found.owner_of("u-bob") is found.others[0]


def _envelope_api(valid: set[str | None]) -> FakeSender:
    """/items refuses with 200 ``{"success": false, "error": …}`` instead of 401 (REST API Goat's
    shape); the identities in ``valid`` get the list."""

    def items(request: Request) -> Response:
        if request.identity in valid:
            return response(200, {"success": True, "items": [{"id": "i-1"}]})
        return response(200, {"success": False, "error": "No API token given."})

    return FakeSender({("GET", "/items"): items})


def _envelope_baseline():
    body = {"success": True, "items": [{"id": "i-1"}]}
    return make_baseline(
        [(ITEMS, exchange("GET", "/items", response(200, body), operation=ITEMS.key))]
    )


async def test_establish_verifies_identities_where_anonymous_is_refused_in_a_200_envelope() -> None:
    found = await establish(
        _envelope_api({None, "bob"}), _scan(alice=ALICE, bob=BOB), _envelope_baseline()
    )
    assert found.verifier is not None and found.verifier.operation == "GET /items"
    assert [(o.name, o.verified) for o in found.others] == [("bob", True)]


async def test_establish_does_not_verify_an_identity_refused_in_a_200_envelope() -> None:
    found = await establish(
        _envelope_api({None}), _scan(alice=ALICE, bob=BOB), _envelope_baseline()
    )
    assert [(o.name, o.verified) for o in found.others] == [("bob", False)]


async def test_establish_stops_the_scan_when_a_second_identity_is_rejected() -> None:
    with pytest.raises(CredentialsRejected) as raised:
        await establish(_api({None}), _scan(alice=ALICE, bob=BOB), _baseline())
    assert "identity 'bob'" in str(raised.value) and "GET /items answered 401" in str(raised.value)
    assert BOB not in str(raised.value)


async def test_establish_stops_the_scan_when_every_operation_rejects_the_primary() -> None:
    baseline = make_baseline(
        [(ITEMS, exchange("GET", "/items", response(401, {"detail": "expired"})))]
    )
    with pytest.raises(CredentialsRejected, match="refresh the token"):
        await establish(FakeSender(), _scan(alice=ALICE), baseline)


async def test_establish_notes_when_nothing_tells_authenticated_from_anonymous() -> None:
    sender = _api({None, "bob", "anonymous"})
    found = await establish(sender, _scan(alice=ALICE, bob=BOB), _baseline())
    assert found.verifier is None and found.others[0].verified is None
    assert any("could not be verified" in note for note in found.notes)


async def test_establish_warns_about_a_token_expiring_within_the_time_budget() -> None:
    soon = _token({"sub": "u-alice", "exp": int(time.time()) + 30})
    found = await establish(_api({None}), _scan(alice=soon), _baseline())
    assert any("expires at" in note for note in found.notes)


async def test_anonymous_scan_has_no_identities() -> None:
    scan = ScanRequest(target=BASE, headers=(("X-Trace", "1"),))
    assert primary_name(scan) is None
    found = await establish(FakeSender(), scan, _baseline())
    assert not found.authenticated


async def test_recheck_reports_credentials_that_stopped_working() -> None:
    found = await establish(_api({None, "bob"}), _scan(alice=ALICE, bob=BOB), _baseline())
    notes = await recheck(_api({"bob"}), found)
    assert len(notes) == 1 and "identity 'alice' stopped working" in notes[0]
    assert await recheck(_api({None, "bob"}), found) == []


def test_own_ids_come_from_the_token_and_the_owned_objects() -> None:
    scan = ScanRequest(
        target=BASE,
        identities={
            "alice": Credential(headers=(("Authorization", f"Bearer {ALICE}"),), owns=("i-9",))
        },
    )
    assert own_ids(scan) == {"u-alice", "i-9"}


async def test_establish_reads_the_identity_fields_of_a_me_envelope() -> None:
    def me(request: Request) -> Response:
        who = {"bob": 2}.get(str(request.identity), 1)
        return response(200, {"user": {"id": who, "username": f"user{who}"}})

    sender = FakeSender({("GET", "/items"): _api({None, "bob"}).routes[("GET", "/items")]})
    sender.routes[("GET", "/users/me")] = me
    baseline = make_baseline(
        [
            (ITEMS, exchange("GET", "/items", response(200, [{"id": "i-1"}]), operation=ITEMS.key)),
            (ME, exchange("GET", "/users/me", me(Request("GET", BASE)), operation=ME.key)),
        ]
    )

    found = await establish(sender, _scan(alice=ALICE, bob=BOB), baseline)

    assert found.primary is not None and {"1", "user1"} <= found.primary.self_ids
    assert {"2", "user2"} <= found.others[0].self_ids


def test_owns_entries_may_name_their_resource() -> None:
    scan = ScanRequest(
        target=BASE,
        identities={
            "alice": Credential(
                headers=(("Authorization", f"Bearer {ALICE}"),),
                owns=("books:12", "item-17", "Books:13"),
            )
        },
    )

    assert owned_id("books:12") == ("books", "12")
    assert owned_id("item-17") == (None, "item-17")
    assert owned_by_resource(scan) == {"books": ["12", "13"]}
    assert {"12", "13", "item-17"} <= own_ids(scan)
