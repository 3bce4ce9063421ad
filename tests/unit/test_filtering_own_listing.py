"""Contact data in a record a per-caller listing proves the caller's own (``own_data``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from middlebrick.filtering import Answer, Caller, ScanFacts, filter_findings
from middlebrick.filtering.own_data import listed_owners
from middlebrick.findings import (
    Confidence,
    Evidence,
    Finding,
    RecordedRequest,
    Severity,
    fingerprint,
)
from middlebrick.http.exchange import Exchange, Request
from middlebrick.identities import Identities, Identity
from middlebrick.scan_facts import _listed_owners
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, exchange, make_baseline, response

PHONE = "data_exposure.phone-number"
MINE = [{"id": 1, "user_id": 5, "phone_number": "(505) 555-0199", "status": "Pending"}]
THEIRS = [{"id": 2, "user_id": 6, "phone_number": "(505) 555-0142", "status": "Pending"}]


def test_a_listing_that_shows_each_caller_its_own_records_names_the_callers_owner_value() -> None:
    assert listed_owners(MINE, THEIRS) == {("user_id", "5")}
    assert listed_owners({"orders": MINE}, {"orders": THEIRS}) == {("user_id", "5")}


def test_a_shared_listing_a_feed_or_records_without_an_owner_prove_nothing() -> None:
    assert listed_owners(MINE, MINE) == frozenset()  # both see the same records
    assert listed_owners(MINE, [*THEIRS, MINE[0]]) == frozenset()  # one record in common
    several = [MINE[0], {**THEIRS[0], "id": 3}]
    assert listed_owners(several, [{**THEIRS[0], "id": 4}]) == frozenset()  # several owners
    assert listed_owners(MINE, [{**MINE[0], "id": 9}]) == frozenset()  # the same owner in both
    assert listed_owners([{"id": 1, "phone": "x"}], [{"id": 2, "phone": "y"}]) == frozenset()
    assert listed_owners(MINE, []) == frozenset()


def _phone(operation: str, path: str, match: str) -> Finding:
    url = BASE + path
    return Finding(
        type_id=PHONE,
        category="data_exposure",
        title="Phone numbers in responses",
        severity=Severity.low,
        confidence=Confidence.firm,
        operation=operation,
        parameter="phone_number",
        detail="a phone number",
        evidence=(Evidence(request=RecordedRequest(method="GET", url=url), curl="c", match=match),),
        fingerprint=fingerprint(PHONE, operation, "phone_number"),
    )


def _facts(body: Any, owned: frozenset[tuple[str, str]]) -> ScanFacts:
    op = "GET /orders/{order_id}"
    return ScanFacts(
        authenticated={op: Answer(200, json.dumps(body).encode())},
        anonymous={op: Answer(401, b'{"detail": "Not authenticated"}')},
        callers=(Caller("alice", frozenset({"alice"}), owned=owned), Caller("bob")),
    )


def test_the_callers_own_phone_number_in_its_own_order_is_info() -> None:
    flaw = _phone("GET /orders/{order_id}", "/orders/1", "(505) 555-0199")

    [kept] = filter_findings([flaw], _facts(MINE[0], frozenset({("user_id", "5")}))).findings

    assert kept.severity is Severity.info
    assert "the record is its own (`user_id` = 5" in kept.detail


def test_a_phone_number_in_an_order_not_proven_the_callers_stays_low() -> None:
    flaw = _phone("GET /orders/{order_id}", "/orders/2", "(505) 555-0142")

    for owned in (frozenset(), frozenset({("user_id", "5")})):
        [kept] = filter_findings([flaw], _facts(THEIRS[0], owned)).findings
        assert kept.severity is Severity.low


def test_an_owned_record_makes_only_contact_data_the_callers_own() -> None:
    order = {**MINE[0], "internal_notes": "refund fraud suspected, do not tell the customer"}
    op = "GET /orders/{order_id}"
    flaw = Finding(
        type_id="property_authorization.sensitive-property",
        category="property_authorization",
        title="t",
        severity=Severity.medium,
        confidence=Confidence.firm,
        operation=op,
        parameter="internal_notes",
        detail="d",
        fingerprint=fingerprint("property_authorization.sensitive-property", op, "internal_notes"),
    )

    [kept] = filter_findings([flaw], _facts(order, frozenset({("user_id", "5")}))).findings

    assert kept.severity is Severity.medium


@dataclass
class _Cache:
    """The scan client's cache: the listing as another identity, as the BOLA checks sent it."""

    answers: dict[tuple[str, str | None], Exchange]

    def cached(self, request: Request) -> Exchange | None:
        return self.answers.get((request.url, request.identity))


def test_the_scan_facts_read_the_listing_sent_as_another_identity_from_the_cache() -> None:
    listing = Operation("GET", "/orders")
    mine = exchange("GET", "/orders", response(200, MINE))
    theirs = Exchange(mine.request.as_identity("bob"), response(200, THEIRS))
    baseline = make_baseline([(listing, mine)])
    identities = Identities(
        primary=Identity("alice", True, frozenset({"alice"})), others=(Identity("bob", True),)
    )

    found = _listed_owners(
        _Cache({(mine.request.url, "bob"): theirs}),  # type: ignore[arg-type]
        baseline,
        identities,
    )

    assert found == {("user_id", "5")}
    assert _listed_owners(_Cache({}), baseline, identities) == frozenset()  # type: ignore[arg-type]
