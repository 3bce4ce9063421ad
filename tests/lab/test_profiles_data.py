"""The profiles service's DynamoDB flaws (header identity, ScanFilter, PartiQL, table names)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lab.identities import USERS
from lab.profiles.seed import order_id
from lab.runner import Target

pytestmark = pytest.mark.lab

ALICE, BOB, CAROL = USERS["alice"], USERS["bob"], USERS["carol"]
SENSITIVE = {"password_hash", "ssn", "internal_notes", "is_admin", "api_key", "role"}
ALICE_ORDER, BOB_ORDER = order_id("alice", 1), order_id("bob", 1)


@pytest.fixture(scope="module")
def vulnerable(lab: Any) -> Target:
    """The vulnerable profiles service."""
    target: Target = lab.target("profiles", "vulnerable")
    return target


@pytest.fixture(scope="module")
def secure(lab: Any) -> Target:
    """The secure profiles twin."""
    target: Target = lab.target("profiles", "secure")
    return target


def _filter(operator: str, *values: str, attribute: str = "email") -> dict[str, str]:
    condition: dict[str, Any] = {"ComparisonOperator": operator}
    if values:
        condition["AttributeValueList"] = list(values)
    return {"filter": json.dumps({attribute: condition})}


def _luhn_valid(number: str) -> bool:
    digits = [int(c) for c in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return len(number) >= 13 and total % 10 == 0


# --- the wallet, reached through the profile's link ------------------------------------


def test_vulnerable_wallet_gives_any_holder_s_card_to_anyone(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/api/wallets/{BOB.user_id}")
    assert reply.status == 200
    assert _luhn_valid(reply.json()["card_number"])


def test_secure_wallet_is_the_caller_s_own_and_shows_four_digits(secure, http):
    token = secure.tokens["alice"]
    assert http("GET", f"{secure.url}/api/wallets/{ALICE.user_id}").status == 401
    assert http("GET", f"{secure.url}/api/wallets/{BOB.user_id}", token=token).status == 404
    own = http("GET", f"{secure.url}/api/wallets/{ALICE.user_id}", token=token)
    assert own.status == 200 and set(own.json()) == {"holder", "brand", "last4"}


def test_the_profile_links_its_id_to_the_wallet(vulnerable, http):
    spec = http("GET", vulnerable.spec_url).json()
    links = spec["paths"]["/api/profile"]["get"]["responses"]["200"]["links"]
    assert links["GetWallet"]["parameters"] == {"holder": "$response.body#/id"}


# --- identity from a header, whole items ------------------------------------------------


def test_vulnerable_profile_is_the_whole_item(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/api/profile", token=vulnerable.tokens["alice"])
    profile = reply.json()
    assert reply.status == 200
    assert profile["id"] == ALICE.user_id
    assert set(profile) >= SENSITIVE
    assert profile["api_key"].startswith("sk_live_")


def test_vulnerable_profile_belongs_to_whoever_the_user_header_names(vulnerable, http):
    header = {"X-User-ID": BOB.user_id}
    no_token = http("GET", f"{vulnerable.url}/api/profile", headers=header)
    over_token = http(
        "GET", f"{vulnerable.url}/api/profile", token=vulnerable.tokens["alice"], headers=header
    )
    assert no_token.status == over_token.status == 200
    assert no_token.json()["id"] == over_token.json()["id"] == BOB.user_id


def test_vulnerable_401_has_no_www_authenticate(vulnerable, http):
    reply = http("GET", f"{vulnerable.url}/api/profile")
    assert reply.status == 401
    assert reply.header("WWW-Authenticate") is None


def test_secure_profile_has_only_public_fields_and_ignores_the_user_header(secure, http):
    reply = http(
        "GET",
        f"{secure.url}/api/profile",
        token=secure.tokens["alice"],
        headers={"X-User-ID": BOB.user_id},
    )
    assert reply.json() == {"id": ALICE.user_id, "name": "Alice", "tenant": "acme"}


def test_secure_profile_needs_a_verified_token(secure, http):
    header_only = http("GET", f"{secure.url}/api/profile", headers={"X-User-ID": BOB.user_id})
    forged = http("GET", f"{secure.url}/api/profile", token=secure.tokens["alice"] + "x")
    for reply in (header_only, forged):
        assert reply.status == 401
        assert reply.header("WWW-Authenticate") == 'Bearer realm="profiles"'
        assert reply.json() == {"error": "authentication required"}


# --- the legacy ScanFilter --------------------------------------------------------------


def test_vulnerable_search_lets_the_client_choose_the_comparison_operator(vulnerable, http):
    url, token = f"{vulnerable.url}/api/users/search", vulnerable.tokens["alice"]
    exact = http("GET", url, token=token, params=_filter("EQ", ALICE.email))
    everyone = http("GET", url, token=token, params=_filter("NOT_NULL"))
    oracle = http(
        "GET", url, token=token, params=_filter("BEGINS_WITH", "$2b$", attribute="password_hash")
    )
    assert exact.json()["count"] == 1
    assert everyone.json()["count"] == len(USERS)
    assert all(set(user) >= SENSITIVE for user in everyone.json()["users"])
    assert oracle.json()["count"] == len(USERS)


def test_vulnerable_search_returns_dynamodbs_own_error_text(vulnerable, http):
    url, token = f"{vulnerable.url}/api/users/search", vulnerable.tokens["alice"]
    bad_operator = http("GET", url, token=token, params=_filter("LIKE", "a"))
    not_json = http("GET", url, token=token, params={"filter": "email=alice"})
    assert bad_operator.status == 400
    assert "ValidationException" in bad_operator.json()["error"]
    assert not_json.status == 500
    assert "Expecting value" in not_json.json()["error"]


def test_secure_search_accepts_only_an_exact_email_and_answers_names(secure, http):
    url = f"{secure.url}/api/users/search"
    everyone = http("GET", url, token=secure.tokens["alice"], params=_filter("NOT_NULL"))
    teammate = http("GET", url, token=secure.tokens["alice"], params=_filter("EQ", BOB.email))
    foreign = http("GET", url, token=secure.tokens["carol"], params=_filter("EQ", ALICE.email))
    assert everyone.status == 400
    assert everyone.json() == {"error": "bad request"}
    assert teammate.json() == {"users": [{"name": "Bob"}]}
    assert foreign.json() == {"users": []}


# --- PartiQL ----------------------------------------------------------------------------


def test_vulnerable_orders_statement_is_rewritten_by_a_quote_in_status(vulnerable, http):
    url, token = f"{vulnerable.url}/api/orders", vulnerable.tokens["alice"]
    own = http("GET", url, token=token, params={"status": "open"})
    injected = http("GET", url, token=token, params={"status": "x' OR '1'='1"})
    assert {o["owner_id"] for o in own.json()["orders"]} == {ALICE.user_id}
    assert {o["owner_id"] for o in injected.json()["orders"]} == {u.user_id for u in USERS.values()}
    assert all(_luhn_valid(o["card_number"]) for o in injected.json()["orders"])


def test_vulnerable_orders_echo_the_parser_error_and_the_statement(vulnerable, http):
    url, token = f"{vulnerable.url}/api/orders", vulnerable.tokens["alice"]
    quote = http("GET", url, token=token, params={"status": "'"})
    bad_limit = http("GET", url, token=token, params={"limit": "abc"})
    assert quote.status == 400
    assert "Statement wasn't well formed" in quote.json()["error"]
    assert quote.json()["statement"].startswith("SELECT * FROM")
    assert bad_limit.status == 500
    assert "invalid literal for int()" in bad_limit.json()["error"]


def test_secure_orders_bind_values_and_allow_list_the_status(secure, http):
    url, token = f"{secure.url}/api/orders", secure.tokens["alice"]
    injected = http("GET", url, token=token, params={"status": "x' OR '1'='1"})
    bad_limit = http("GET", url, token=token, params={"limit": "abc"})
    shipped = http("GET", url, token=token, params={"status": "shipped"})
    assert (injected.status, bad_limit.status) == (400, 400)
    assert injected.json() == {"error": "bad request"}
    orders = shipped.json()["orders"]
    assert [o["status"] for o in orders] == ["shipped"]
    assert set(orders[0]) == {"id", "status", "total", "currency", "created_at"}


# --- the table named by the URL ---------------------------------------------------------


def test_vulnerable_item_route_reads_any_table_the_url_names(vulnerable, http):
    token = vulnerable.tokens["alice"]
    user = http("GET", f"{vulnerable.url}/items/users/{ALICE.user_id}", token=token)
    missing = http("GET", f"{vulnerable.url}/items/no_such_table/1", token=token)
    assert user.status == 200
    assert set(user.json()) >= SENSITIVE
    assert missing.status == 400
    assert missing.json()["code"] == "ResourceNotFoundException"


def test_vulnerable_item_owner_check_trusts_the_user_header(vulnerable, http):
    url, token = f"{vulnerable.url}/items/orders/{BOB_ORDER}", vulnerable.tokens["alice"]
    refused = http("GET", url, token=token)
    spoofed = http("GET", url, token=token, headers={"X-User-ID": BOB.user_id})
    assert refused.status == 403
    assert spoofed.status == 200
    assert _luhn_valid(spoofed.json()["card_number"])


def test_secure_item_route_allows_one_table_and_the_owner_only(secure, http):
    token = secure.tokens["alice"]
    own = http("GET", f"{secure.url}/items/orders/{ALICE_ORDER}", token=token)
    assert own.status == 200
    assert set(own.json()) == {"id", "status", "total", "currency", "created_at"}
    for path in (
        f"/items/users/{ALICE.user_id}",
        "/items/no_such_table/1",
        f"/items/orders/{BOB_ORDER}",
    ):
        reply = http("GET", secure.url + path, token=token, headers={"X-User-ID": BOB.user_id})
        assert reply.status == 404, path
        assert reply.json() == {"error": "not found"}
