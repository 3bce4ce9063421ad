"""Which properties the mass-assignment checks write, and where a write puts them."""

from __future__ import annotations

from middlebrick.checks._assignable import (
    candidates,
    envelope,
    into_body,
    into_query,
    severity,
    stuck,
)
from middlebrick.findings import Severity
from middlebrick.spec.model import Operation, RequestBody

_LISTED = {"title": {"type": "string"}, "price": {"type": "integer"}}
WRITE = Operation(
    "PATCH", "/offers/{id}", request_body=RequestBody("application/json", {"properties": _LISTED})
)
READ = Operation(
    "GET",
    "/offers/{id}",
    responses={
        "200": {
            "application/json": {
                "type": "object",
                "properties": {
                    "offer": {
                        "type": "object",
                        "properties": {
                            "status": {"type": "string", "enum": ["pending", "approved"]},
                            "id": {"type": "integer"},
                        },
                    }
                },
            }
        }
    },
)


def test_candidates_are_server_owned_properties_the_request_schema_does_not_list():
    record = {"id": 7, "title": "x", "price": 1500, "fee_cents": 250, "isFeatured": False}

    assert candidates(record, WRITE) == {"fee_cents": 1, "isFeatured": True}


def test_candidates_never_include_owner_id_or_already_granted_properties():
    record = {
        "id": 7, "user_id": 3, "owner": "alice", "created_by": 3, "verified": True,
        "product_id": 4, "title": "x", "published": False,
    }  # fmt: skip

    assert candidates(record, WRITE) == {}


def test_candidates_raise_privileges_first_and_stop_at_three():
    record = {"is_admin": False, "role": "member", "balance": 0, "verified": False, "paid": False}

    assert candidates(record, WRITE) == {"is_admin": True, "role": "admin", "balance": 1}


def test_a_state_is_written_only_with_another_value_of_its_documented_enum():
    record = {"status": "pending", "state": "open"}

    assert candidates(record, WRITE, READ) == {"status": "approved"}
    assert candidates(record, WRITE) == {}


def test_extra_fields_go_inside_an_envelope_and_into_the_query_string():
    schema = {"properties": {"user": {"properties": {"name": {"type": "string"}}}}}

    assert envelope(schema) == "user"
    assert envelope({"properties": _LISTED}) is None
    assert into_body({"user": {"name": "a"}}, schema, {"verified": True}) == {
        "user": {"name": "a", "verified": True}
    }
    assert into_query("http://127.0.0.1/u/1", {"verified": True, "fee": 1}) == (
        "http://127.0.0.1/u/1?verified=true&fee=1"
    )


def test_stuck_needs_the_written_value_read_back_and_absent_from_the_control():
    wanted = {"verified": True, "fee": 1}

    assert stuck(wanted, {"verified": False, "fee": 250}, {"verified": True, "fee": 250}) == [
        "verified"
    ]
    assert stuck(wanted, {"verified": True, "fee": 250}, {"verified": True, "fee": 1}) == ["fee"]
    assert stuck({"verified": True}, {"verified": 0}, {"verified": 1}) == []  # a flag is no 1
    assert stuck(wanted, {}, None) == []


def test_severity_follows_what_was_taken():
    record = {"is_admin": False, "price": 5, "verified": False, "status": "pending"}

    assert severity(["is_admin", "price"], record) is None  # the catalogue's: critical
    assert severity(["price", "verified"], record) == Severity.high
    assert severity(["verified"], record) == Severity.medium
    assert severity(["status"], record) == Severity.low
