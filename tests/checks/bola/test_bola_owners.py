"""The shared reading of answers: records, owner fields, same and other objects, who is named."""

from __future__ import annotations

import pytest

from middlebrick.checks._owners import (
    Owners,
    is_collection,
    is_id_key,
    owner_fields,
    parent_of,
    records,
    same_object,
)
from middlebrick.identities import Identities, Identity
from middlebrick.testing import response


def test_records_open_envelopes_and_dynamodb_items_but_keep_an_object_whole():
    page = {"items": [{"item_id": "a"}, {"item_id": "b"}], "next_cursor": None}
    raw = {"Items": [{"item_id": {"S": "a"}, "n": {"N": "3"}}], "Count": 1}
    item = {"item_id": "a", "comments": [{"comment_id": "c1", "owner_id": "u-bob"}]}

    assert [r["item_id"] for r in records(page)] == ["a", "b"]
    assert records(raw) == [{"item_id": "a", "n": "3"}]
    assert records(item) == [item] and not is_collection(item)
    assert records({"Item": {"id": {"S": "u-1"}}}) == [{"id": "u-1"}]


def test_owner_fields_count_user_id_only_beside_an_id_of_the_record_s_own():
    assert owner_fields({"ticket_id": 1, "user_id": "u-1", "owner_email": "a@x"}) == {
        "user_id": "u-1",
        "owner_email": "a@x",
    }
    assert owner_fields({"user_id": "u-1", "name": "Alice"}) == {}


@pytest.mark.parametrize("key", ["id", "item_id", "orderId", "pk", "uuid"])
def test_id_keys(key):
    assert is_id_key(key)


@pytest.mark.parametrize("key", ["api_key", "secret_key", "session_id", "name", "token_id"])
def test_secret_and_plain_keys_are_not_ids(key):
    assert not is_id_key(key)


def test_same_object_needs_the_same_ids_not_only_the_same_shape():
    mine = response(200, {"note_id": "n-1", "title": "a", "viewed": 1})
    again = response(200, {"note_id": "n-1", "title": "a", "viewed": 2})
    theirs = response(200, {"note_id": "n-2", "title": "b", "viewed": 1})

    assert same_object(mine, again)
    assert not same_object(mine, theirs)


def test_owners_leave_out_values_several_identities_share():
    owners = Owners.of(
        Identities(
            primary=Identity("alice", True, frozenset({"u-alice", "acme"})),
            others=(Identity("bob", True, frozenset({"u-bob", "acme"})),),
        )
    )

    assert set(owners.by_value) == {"u-alice", "u-bob"}
    assert owners.names_other({"rows": [{"id": "r1", "owner_id": "u-bob"}]}).name == "bob"


def test_parent_of_names_the_collection_and_the_last_id():
    assert parent_of("/items/{item_id}") == ("/items", "item_id")
    assert parent_of("/users/{uid}/orders/{order_id}") == ("/users/{uid}/orders", "order_id")
    assert parent_of("/items") is None
