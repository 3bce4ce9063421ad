"""The items service's data flaws: BOLA, whole-item responses, cursors, page sizes, writes."""

from __future__ import annotations

import base64
import json

import pytest

from lab.identities import USERS
from lab.items.seed import ITEMS_PER_USER, item_id
from lab.runner import Target

pytestmark = pytest.mark.lab

SENSITIVE = {"password_hash", "ssn", "internal_notes", "is_admin", "api_key", "owner_email"}
ALICE_ITEM = item_id("alice", 1)
BOB_ITEM = item_id("bob", 2)


def _owners(items: list[dict[str, object]]) -> set[object]:
    return {item.get("owner_id") for item in items}


def _cursor(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def test_vulnerable_item_read_obeys_the_user_id_query_over_the_token(items_vulnerable, http):
    bob = items_vulnerable.tokens["bob"]
    plain = http("GET", f"{items_vulnerable.url}/items/{ALICE_ITEM}", token=bob)
    override = http(
        "GET",
        f"{items_vulnerable.url}/items/{ALICE_ITEM}",
        token=bob,
        params={"user_id": USERS["alice"].user_id},
    )
    assert plain.status == 404
    assert override.status == 200
    assert override.json()["owner_id"] == USERS["alice"].user_id


def test_secure_item_read_ignores_the_user_id_query(items_secure, http):
    reply = http(
        "GET",
        f"{items_secure.url}/items/{ALICE_ITEM}",
        token=items_secure.tokens["bob"],
        params={"user_id": USERS["alice"].user_id},
    )
    assert reply.status == 404


def test_vulnerable_item_read_returns_every_attribute_as_text(items_vulnerable, http):
    reply = http(
        "GET", f"{items_vulnerable.url}/items/{ALICE_ITEM}", token=items_vulnerable.tokens["alice"]
    )
    item = reply.json()
    assert set(item) >= SENSITIVE
    assert isinstance(item["price"], str)  # a Decimal serialised with default=str
    assert item["tags"].startswith("{")  # a string set serialised as its repr


def test_secure_item_read_returns_only_the_documented_fields(items_secure, http):
    reply = http(
        "GET", f"{items_secure.url}/items/{ALICE_ITEM}", token=items_secure.tokens["alice"]
    )
    item = reply.json()
    assert reply.status == 200
    assert set(item) == {
        "item_id",
        "name",
        "description",
        "price",
        "quantity",
        "tags",
        "created_at",
    }
    assert isinstance(item["price"], float | int)
    assert isinstance(item["tags"], list)


def test_vulnerable_list_scans_every_owner_without_pagination(items_vulnerable, http):
    reply = http("GET", f"{items_vulnerable.url}/items", token=items_vulnerable.tokens["alice"])
    items = reply.json()["items"]
    assert len(items) == ITEMS_PER_USER * len(USERS)
    assert _owners(items) == {user.user_id for user in USERS.values()}
    assert set(items[0]) >= SENSITIVE


def test_secure_list_returns_a_clamped_page_of_the_callers_items(items_secure, http):
    reply = http(
        "GET",
        f"{items_secure.url}/items",
        token=items_secure.tokens["alice"],
        params={"limit": 100000},
    )
    page = reply.json()
    assert len(page["items"]) == 25
    assert page["next_cursor"]
    ids = {item_id("alice", n) for n in range(1, ITEMS_PER_USER + 1)}
    assert {item["item_id"] for item in page["items"]} <= ids
    assert not SENSITIVE & set(page["items"][0])


def test_vulnerable_search_honours_any_limit(items_vulnerable, http):
    reply = http(
        "GET",
        f"{items_vulnerable.url}/search",
        token=items_vulnerable.tokens["alice"],
        params={"limit": 100000},
    )
    assert len(reply.json()["items"]) == ITEMS_PER_USER


def test_secure_search_clamps_the_limit(items_secure, http):
    reply = http(
        "GET",
        f"{items_secure.url}/search",
        token=items_secure.tokens["alice"],
        params={"limit": 100000},
    )
    assert len(reply.json()["items"]) == 25


def test_vulnerable_search_cursor_is_the_raw_start_key_and_tampering_switches_owner(
    items_vulnerable, http
):
    alice = items_vulnerable.tokens["alice"]
    first = http("GET", f"{items_vulnerable.url}/search", token=alice, params={"limit": 2})
    start_key = json.loads(base64.urlsafe_b64decode(first.json()["next_cursor"]))
    assert start_key["owner_id"] == USERS["alice"].user_id
    start_key["owner_id"] = USERS["bob"].user_id
    start_key["name"] = " "
    tampered = http(
        "GET",
        f"{items_vulnerable.url}/search",
        token=alice,
        params={"limit": 5, "cursor": _cursor(start_key)},
    )
    assert tampered.status == 200
    assert _owners(tampered.json()["items"]) == {USERS["bob"].user_id}


def test_secure_search_refuses_a_tampered_or_foreign_cursor(items_secure, http):
    alice, bob = items_secure.tokens["alice"], items_secure.tokens["bob"]
    first = http("GET", f"{items_secure.url}/search", token=alice, params={"limit": 2})
    cursor = first.json()["next_cursor"]
    body, _, signature = cursor.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body))
    payload["k"]["owner_id"] = USERS["bob"].user_id
    forged = _cursor(payload) + "." + signature
    tampered = http("GET", f"{items_secure.url}/search", token=alice, params={"cursor": forged})
    foreign = http("GET", f"{items_secure.url}/search", token=bob, params={"cursor": cursor})
    own = http("GET", f"{items_secure.url}/search", token=alice, params={"cursor": cursor})
    assert (tampered.status, foreign.status, own.status) == (400, 400, 200)


@pytest.mark.parametrize(
    ("limit", "marker"),
    [("0", "ValidationException"), ("abc", "invalid literal for int()")],
)
def test_vulnerable_search_answers_a_bad_limit_with_a_traceback(
    items_vulnerable, http, limit, marker
):
    reply = http(
        "GET",
        f"{items_vulnerable.url}/search",
        token=items_vulnerable.tokens["alice"],
        params={"limit": limit},
    )
    assert reply.status == 500
    assert "Traceback (most recent call last)" in reply.text
    assert marker in reply.text


@pytest.mark.parametrize("limit", ["0", "abc", "-5"])
def test_secure_search_answers_a_bad_limit_without_internals(items_secure, http, limit):
    reply = http(
        "GET",
        f"{items_secure.url}/search",
        token=items_secure.tokens["alice"],
        params={"limit": limit},
    )
    assert reply.status in (200, 400, 422)
    assert "Traceback" not in reply.text
    assert "Exception" not in reply.text


def test_vulnerable_update_writes_any_field_of_any_owners_item(items_vulnerable, http):
    url = f"{items_vulnerable.url}/items/{BOB_ITEM}"
    alice = items_vulnerable.tokens["alice"]
    try:
        reply = http("PATCH", url, token=alice, json_body={"is_admin": True, "quantity": 99})
        assert reply.status == 200
        assert reply.json()["is_admin"] is True
        read = http("GET", url, token=items_vulnerable.tokens["bob"])
        assert read.json()["is_admin"] is True
    finally:
        http("PATCH", url, token=alice, json_body={"is_admin": False, "quantity": 2})


def test_secure_update_refuses_foreign_items_and_unlisted_fields(items_secure, http):
    alice = items_secure.tokens["alice"]
    foreign = http(
        "PATCH", f"{items_secure.url}/items/{BOB_ITEM}", token=alice, json_body={"quantity": 1}
    )
    unlisted = http(
        "PATCH", f"{items_secure.url}/items/{ALICE_ITEM}", token=alice, json_body={"is_admin": True}
    )
    assert (foreign.status, unlisted.status) == (404, 422)


def test_vulnerable_legacy_read_is_live_without_a_token_or_owner_check(items_vulnerable, http):
    reply = http("GET", f"{items_vulnerable.url}/legacy/items/{BOB_ITEM}")
    assert reply.status == 200
    assert "ssn" in reply.json()


def test_secure_legacy_read_is_retired(items_secure, http):
    reply = http("GET", f"{items_secure.url}/legacy/items/{ALICE_ITEM}")
    assert reply.status == 410


def test_vulnerable_export_is_undocumented_open_and_raw(items_vulnerable: Target, http):
    reply = http("GET", f"{items_vulnerable.url}/export")
    spec = http("GET", items_vulnerable.spec_url).json()
    first = reply.json()["Items"][0]
    assert reply.status == 200
    assert "/export" not in spec["paths"]
    assert set(first["ssn"]) == {"S"}  # a raw DynamoDB AttributeValue
    assert spec["paths"]["/legacy/items/{item_id}"]["get"]["deprecated"] is True


def test_secure_export_is_documented_and_needs_a_token(items_secure: Target, http):
    anonymous = http("GET", f"{items_secure.url}/export")
    spec = http("GET", items_secure.spec_url).json()
    assert anonymous.status == 401
    assert "/export" in spec["paths"]


def test_vulnerable_me_leaks_role_and_password_hash(items_vulnerable, http):
    me = http("GET", f"{items_vulnerable.url}/users/me", token=items_vulnerable.tokens["dave"])
    assert me.json()["role"] == "admin"
    assert me.json()["password_hash"].startswith("$2b$")


def test_secure_me_returns_only_id_and_name(items_secure, http):
    me = http("GET", f"{items_secure.url}/users/me", token=items_secure.tokens["dave"])
    assert me.json() == {"user_id": USERS["dave"].user_id, "name": "dave"}


def test_vulnerable_update_body_is_an_open_object_and_the_twins_is_closed(
    items_vulnerable: Target, items_secure: Target, http
):
    def body_schema(target: Target) -> dict[str, object]:
        spec = http("GET", target.spec_url).json()
        operation = spec["paths"]["/items/{item_id}"]["patch"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return dict(schema)

    assert body_schema(items_vulnerable).get("additionalProperties") is True
    assert body_schema(items_secure).get("additionalProperties") is False
