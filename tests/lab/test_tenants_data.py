"""The tenants service's data flaws (tenant switching, keys, expressions) and the twin's fixes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lab.identities import USERS
from lab.runner import Target
from lab.tenants.seed import ticket_number, ticket_uuid

pytestmark = pytest.mark.lab

ALICE, BOB, CAROL = USERS["alice"], USERS["bob"], USERS["carol"]
ALICE_TICKET = ticket_number(ALICE, 1)  # 1001
BOB_TICKET = ticket_number(BOB, 1)  # 1002, next to alice's
CAROL_TICKET = ticket_number(CAROL, 1)  # 1003, tenant globex
DEBUG_MARKER = "DEBUG = True"


@pytest.fixture(scope="module")
def vulnerable(lab: Any) -> Target:
    """The vulnerable tenants service."""
    target: Target = lab.target("tenants", "vulnerable")
    return target


@pytest.fixture(scope="module")
def secure(lab: Any) -> Target:
    """The secure tenants twin."""
    target: Target = lab.target("tenants", "secure")
    return target


def _names(rows: list[dict[str, Any]]) -> set[str]:
    return {row["name"] for row in rows}


# --- tenant switching -------------------------------------------------------------------


def test_vulnerable_member_list_follows_the_tenant_header_into_another_tenant(vulnerable, http):
    own = http("GET", f"{vulnerable.url}/api/members", token=vulnerable.tokens["alice"])
    switched = http(
        "GET",
        f"{vulnerable.url}/api/members",
        token=vulnerable.tokens["alice"],
        headers={"X-Tenant-ID": "globex"},
    )
    assert _names(own.json()["members"]) == {"Alice", "Bob"}
    assert switched.status == 200
    assert _names(switched.json()["members"]) == {"Carol", "Dave"}


def test_vulnerable_member_list_follows_a_subdomain_into_another_tenant(vulnerable, http):
    port = vulnerable.url.rsplit(":", 1)[1]
    reply = http(
        "GET",
        f"{vulnerable.url}/api/members",
        token=vulnerable.tokens["alice"],
        headers={"Host": f"globex.localhost:{port}"},
    )
    assert reply.status == 200
    assert _names(reply.json()["members"]) == {"Carol", "Dave"}


def test_vulnerable_ticket_read_crosses_into_another_tenant_with_the_header(vulnerable, http):
    url = f"{vulnerable.url}/api/tickets/{CAROL_TICKET}"
    plain = http("GET", url, token=vulnerable.tokens["alice"])
    switched = http("GET", url, token=vulnerable.tokens["alice"], headers={"X-Tenant-ID": "globex"})
    assert plain.status == 404
    assert switched.status == 200
    assert switched.json()["owner_id"] == CAROL.user_id


@pytest.mark.parametrize("path", ["/api/members", "/api/tickets"])
def test_secure_twin_refuses_another_tenant_by_header_or_subdomain(secure, http, path):
    port = secure.url.rsplit(":", 1)[1]
    token = secure.tokens["alice"]
    by_header = http("GET", secure.url + path, token=token, headers={"X-Tenant-ID": "globex"})
    by_host = http(
        "GET", secure.url + path, token=token, headers={"Host": f"globex.localhost:{port}"}
    )
    own = http("GET", secure.url + path, token=token, headers={"X-Tenant-ID": "acme"})
    assert (by_header.status, by_host.status, own.status) == (403, 403, 200)
    assert "globex" not in by_header.text + by_host.text


# --- sequential keys and whole records --------------------------------------------------


def test_vulnerable_member_read_by_number_returns_a_teammates_whole_record(vulnerable, http):
    reply = http(
        "GET", f"{vulnerable.url}/api/members/{BOB.number}", token=vulnerable.tokens["alice"]
    )
    member = reply.json()
    assert reply.status == 200
    assert (member["member_id"], member["user_id"]) == (BOB.number, BOB.user_id)
    assert {"password_hash", "internal_notes", "is_admin", "role", "email", "phone"} <= set(member)


def test_vulnerable_ticket_read_walks_to_the_adjacent_number_of_another_owner(vulnerable, http):
    token = vulnerable.tokens["alice"]
    mine = http("GET", f"{vulnerable.url}/api/tickets/{ALICE_TICKET}", token=token)
    next_one = http("GET", f"{vulnerable.url}/api/tickets/{ALICE_TICKET + 1}", token=token)
    assert mine.json()["owner_id"] == ALICE.user_id
    assert ALICE_TICKET + 1 == BOB_TICKET
    assert next_one.status == 200
    assert next_one.json()["owner_id"] == BOB.user_id
    assert "internal_notes" in next_one.json()


def test_vulnerable_ticket_list_holds_teammates_tickets_whole(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/api/tickets", token=vulnerable.tokens["alice"])
    tickets = reply.json()["tickets"]
    assert {t["owner_id"] for t in tickets} == {ALICE.user_id, BOB.user_id}
    assert all("internal_notes" in t for t in tickets)


def test_secure_member_read_answers_only_for_the_caller_with_public_fields(secure, http):
    token = secure.tokens["alice"]
    own = http("GET", f"{secure.url}/api/members/{ALICE.user_id}", token=token)
    other = http("GET", f"{secure.url}/api/members/{BOB.user_id}", token=token)
    numbered = http("GET", f"{secure.url}/api/members/{BOB.number}", token=token)
    assert own.status == 200
    assert set(own.json()) == {"member_id", "name", "status", "priority"}
    assert (other.status, numbered.status) == (404, 404)


def test_secure_ticket_read_refuses_numbers_and_other_owners_tickets(secure, http):
    token = secure.tokens["alice"]
    own = http("GET", f"{secure.url}/api/tickets/{ticket_uuid(ALICE_TICKET)}", token=token)
    bobs = http("GET", f"{secure.url}/api/tickets/{ticket_uuid(BOB_TICKET)}", token=token)
    numbered = http("GET", f"{secure.url}/api/tickets/{ALICE_TICKET}", token=token)
    assert own.status == 200
    assert set(own.json()) == {"ticket_id", "title", "status", "priority", "created_at"}
    assert (bobs.status, numbered.status) == (404, 404)
    assert bobs.json() == {"error": "not found"}


def test_secure_ticket_list_holds_only_the_callers_tickets_without_owner_ids(secure, http):
    reply = http("GET", f"{secure.url}/api/tickets", token=secure.tokens["alice"])
    tickets = reply.json()["tickets"]
    assert {t["ticket_id"] for t in tickets} == {
        ticket_uuid(ticket_number(ALICE, k)) for k in (1, 2, 3)
    }
    assert BOB.user_id not in reply.text and ALICE.user_id not in reply.text


# --- projections and expressions --------------------------------------------------------


def test_vulnerable_member_list_projects_a_client_chosen_sort_key(vulnerable, http):
    reply = http(
        "GET",
        f"{vulnerable.url}/api/members",
        token=vulnerable.tokens["alice"],
        params={"sort_key": "password_hash"},
    )
    rows = reply.json()["members"]
    assert reply.status == 200
    assert all(row["password_hash"].startswith("pbkdf2_sha256$") for row in rows)
    assert all({"role", "is_admin", "email", "phone"} <= set(row) for row in rows)


def test_secure_member_list_refuses_a_sort_key_outside_the_allow_list(secure, http):
    token = secure.tokens["alice"]
    refused = http("GET", f"{secure.url}/api/members", token=token, params={"sort_key": "ssn"})
    listed = http("GET", f"{secure.url}/api/members", token=token, params={"sort_key": "status"})
    assert refused.status == 400
    assert refused.json() == {"error": "bad request"}
    assert all(set(row) == {"name", "status", "priority"} for row in listed.json()["members"])


def test_vulnerable_ticket_filter_field_is_pasted_into_the_filter_expression(vulnerable, http):
    url, token = f"{vulnerable.url}/api/tickets", vulnerable.tokens["alice"]
    broken = http("GET", url, token=token, params={"field": "priority)", "value": "x"})
    none = http("GET", url, token=token, params={"field": "priority", "value": "nope"})
    widened = http(
        "GET",
        url,
        token=token,
        params={"field": "attribute_exists(title) OR priority", "value": "nope"},
    )
    assert broken.status == 500
    assert "Invalid FilterExpression" in broken.text
    assert DEBUG_MARKER in broken.text
    assert none.json()["count"] == 0
    assert widened.json()["count"] == 6  # every ticket of the tenant


def test_secure_ticket_filter_refuses_fields_outside_the_allow_list(secure, http):
    url, token = f"{secure.url}/api/tickets", secure.tokens["alice"]
    refused = http("GET", url, token=token, params={"field": "priority)", "value": "x"})
    filtered = http("GET", url, token=token, params={"field": "status", "value": "open"})
    assert refused.status == 400
    assert "Filter" not in refused.text
    assert [t["status"] for t in filtered.json()["tickets"]] == ["open"]


# --- errors and debug pages -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/members/abc", "/api/tickets/abc"])
def test_vulnerable_non_number_key_ends_in_djangos_technical_500_page(vulnerable, http, path):
    reply = http("GET", vulnerable.url + path, token=vulnerable.tokens["alice"])
    assert reply.status == 500
    assert "ValueError" in reply.text
    assert "Traceback" in reply.text
    assert DEBUG_MARKER in reply.text


def test_vulnerable_unknown_path_shows_djangos_technical_404_with_url_patterns(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/no-such-page")
    assert reply.status == 404
    assert "Using the URLconf defined in" in reply.text
    assert "api/members" in reply.text


@pytest.mark.parametrize("path", ["/api/members/abc", "/api/tickets/abc", "/no-such-page"])
def test_secure_errors_are_generic_json(secure, http, path):
    reply = http("GET", secure.url + path, token=secure.tokens["alice"])
    assert reply.status == 404
    assert reply.json() == {"error": "not found"}
    assert reply.header("Content-Type") == "application/json"


def test_vulnerable_401_has_no_www_authenticate(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/api/members")
    assert reply.status == 401
    assert reply.header("WWW-Authenticate") is None


def test_secure_401_names_the_bearer_scheme(secure, http):
    reply = http("GET", f"{secure.url}/api/members", token="not-a-jwt")
    assert reply.status == 401
    assert reply.header("WWW-Authenticate") == 'Bearer realm="tenants"'


# --- writes (what an active scan does) --------------------------------------------------


@pytest.fixture()
def restore_bob(vulnerable: Target, http: Any) -> Iterator[None]:
    """Put bob's member record back the way the seed wrote it."""
    yield
    http(
        "PATCH",
        f"{vulnerable.url}/api/members/{BOB.number}",
        token=vulnerable.tokens["bob"],
        json_body={"is_admin": False, "role": "user", "status": "active"},
    )


def test_vulnerable_patch_lets_any_member_write_is_admin_on_another(vulnerable, http, restore_bob):
    url = f"{vulnerable.url}/api/members/{BOB.number}"
    changed = http(
        "PATCH",
        url,
        token=vulnerable.tokens["alice"],
        json_body={"is_admin": True, "role": "admin", "status": "suspended"},
    )
    read_back = http("GET", url, token=vulnerable.tokens["bob"]).json()
    assert changed.status == 200
    assert (read_back["is_admin"], read_back["role"], read_back["status"]) == (
        True,
        "admin",
        "suspended",
    )


def test_secure_patch_writes_only_allow_listed_fields_of_the_caller(secure, http):
    token = secure.tokens["alice"]
    own = f"{secure.url}/api/members/{ALICE.user_id}"
    escalation = http("PATCH", own, token=token, json_body={"is_admin": True})
    bad_value = http("PATCH", own, token=token, json_body={"status": "suspended"})
    others = http(
        "PATCH",
        f"{secure.url}/api/members/{BOB.user_id}",
        token=token,
        json_body={"priority": "low"},
    )
    try:
        allowed = http("PATCH", own, token=token, json_body={"priority": "high"})
        assert allowed.status == 200
        assert allowed.json()["priority"] == "high"
    finally:
        http("PATCH", own, token=token, json_body={"priority": "normal"})
    assert (escalation.status, bad_value.status, others.status) == (400, 400, 404)
    assert "is_admin" not in http("GET", own, token=token).text
