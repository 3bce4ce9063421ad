"""A safe operation whose summary or description says it writes, among its coordinated acts."""

from __future__ import annotations

import pytest

from middlebrick.http.policy import Policy
from middlebrick.http.wording import action
from middlebrick.spec.model import Operation, Surface

BASE = "http://127.0.0.1:8000/api"


def _kept(mode: str, operation: Operation) -> bool:
    policy = Policy.of(mode, (), (), BASE)  # type: ignore[arg-type]
    kept, _ = policy.learn(Surface(base_url=BASE, operations=(operation,)))
    return bool(kept)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Obtains or creates a referral code for the current user", "create"),
        ("Get or create a session", "create"),
        ("Returns the message and marks it as read", "mark"),
        ("Fetches the file, then deletes it", "delete"),
        ("Returns the code, creating one if the caller has none", "create"),
        ("Gets, updates or deletes the cart", "delete"),
        ("Returns the user and also resets their counter", "reset"),
        ("Creates a download link", "create"),
        ("Returns the job and optionally sends a notification to its owner", "send"),
        ("Returns the user. Never cached.", None),
    ],
)
def test_a_get_that_says_it_writes_among_its_acts_is_never_requested(
    text: str, word: str | None
) -> None:
    for field in ("summary", "description"):
        operation = Operation("GET", "/referral-code", **{field: text})  # type: ignore[arg-type]
        named = action(operation)
        if word is None:
            assert named is None
            continue
        assert named is not None and named[1].endswith(f"(`{word}`)"), named
        assert not _kept("safe", operation) and not _kept("active", operation)


@pytest.mark.parametrize(
    "text",
    [
        "Returns the created item",
        "Lists deleted items",
        "Gets the creation date",
        "Get users created after a date",
        "Returns items, updates and deletions since the last sync",
        "Lists orders, refunds and updates",
        "Updates since the last sync",
        "Sets of permissions",
        "Get or list the items",
        "Returns the referral code of the caller",
        "Search users and return their profiles",
        "Generates a PDF of the invoice",
    ],
)
def test_a_get_whose_words_only_look_like_a_write_is_requested(text: str) -> None:
    for field in ("summary", "description"):
        operation = Operation("GET", "/items", **{field: text})  # type: ignore[arg-type]
        assert action(operation) is None
        assert _kept("safe", operation)


def test_write_verbs_name_the_normal_work_of_a_write_method() -> None:
    create = Operation("POST", "/items", summary="Get or create an item")
    assert action(create) is None  # "create" is what a POST does; it is judged as a creation
    mail = Operation("POST", "/items", summary="Creates an item and sends a receipt")
    assert action(mail) is not None and action(mail)[0] == "irreversible"  # type: ignore[index]


@pytest.mark.parametrize(
    "text",
    [
        "Updates",
        "Archives",
        "News and updates",
        "Imports and uploads",
        "Exports and imports",
        "Moves",
    ],
)
def test_a_summary_of_plural_nouns_names_no_act(text: str) -> None:
    assert action(Operation("GET", "/feed", summary=text)) is None
