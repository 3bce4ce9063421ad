"""Tables and data of the items service: 60 items for each lab user, the users, the webhooks,
and the tables of the routes a scanner must not misuse (revoked tokens, published items, the
mail outbox, the organisation's settings, saved prompts).

Idempotent: tables are created when missing and every item is written with a fixed key, so
seeding twice leaves the same data (and re-seeding undoes what an active scan changed).
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any

from lab.identities import USERS, User

ITEMS_PER_USER = 60
OWNER_INDEX = "owner-index"
_NAMESPACE = uuid.UUID("6f1d2c3b-9a8e-4f70-8b1c-2d3e4f5a6b7c")
_COLOURS = ("amber", "blue", "coral", "green", "ivory", "slate")
_THINGS = ("widget", "gadget", "sprocket", "gizmo", "bracket")


SETTINGS = {
    "org": "acme",
    "signup_open": True,
    "sso_required": False,
    "welcome_email": "Welcome to Acme Items! Reply to this mail if you need help.",
}
_KEYS = {
    "items": "item_id",
    "users": "user_id",
    "webhooks": "webhook_id",
    "revoked": "token_hash",
    "published": "item_id",
    "outbox": "message_id",
    "settings": "org",
    "prompts": "prompt_id",
}


def table_names(prefix: str) -> dict[str, str]:
    """The service's table names for one variant's ``prefix``."""
    return {name: f"{prefix}{name}" for name in _KEYS}


def item_id(user_name: str, number: int) -> str:
    """The fixed UUID of a user's ``number``-th item."""
    return str(uuid.uuid5(_NAMESPACE, f"{user_name}/{number}"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _item(user: User, number: int) -> dict[str, Any]:
    seq = user.number * 100 + number
    colour = _COLOURS[number % len(_COLOURS)]
    thing = _THINGS[(number // len(_COLOURS)) % len(_THINGS)]
    return {
        "item_id": item_id(user.name, number),
        "owner_id": user.user_id,
        "owner_email": user.email,
        "tenant": user.tenant,
        "name": f"{colour}-{thing}-{seq:04d}",
        "description": f"{colour.title()} {thing} from {user.name}'s shelf.",
        "price": Decimal(f"{(seq * 37) % 9000 / 100 + 1:.2f}"),
        "quantity": Decimal(number % 17),
        "tags": {colour, thing},
        "created_at": f"2026-0{1 + number % 9}-1{number % 10}T09:{number % 60:02d}:00Z",
        # The sensitive attributes every scanner should notice when they leak.
        "password_hash": "$2b$12$" + _digest(f"pw/{user.name}")[:53],
        "ssn": f"{101 + seq % 500:03d}-{10 + seq % 89:02d}-{1000 + seq:04d}",
        "internal_notes": f"supplier margin {seq % 40 + 10}%; reviewed by ops",
        "is_admin": user.role == "admin",
        "api_key": "sk_live_" + _digest(f"key/{user.name}")[:24],
    }


def _user(user: User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "name": user.name,
        "email": user.email,
        "tenant": user.tenant,
        "role": user.role,
        "is_admin": user.role == "admin",
        "password_hash": "$2b$12$" + _digest(f"pw/{user.name}")[:53],
    }


def all_items() -> list[dict[str, Any]]:
    """Every seeded item, in a fixed order."""
    return [_item(user, n) for user in USERS.values() for n in range(1, ITEMS_PER_USER + 1)]


def _create(resource: Any, name: str, key: str, *, index: bool = False) -> None:
    existing = resource.meta.client.list_tables()["TableNames"]
    if name in existing:
        return
    definitions = [{"AttributeName": key, "AttributeType": "S"}]
    extra: dict[str, Any] = {}
    if index:
        definitions += [
            {"AttributeName": "owner_id", "AttributeType": "S"},
            {"AttributeName": "name", "AttributeType": "S"},
        ]
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": OWNER_INDEX,
                "KeySchema": [
                    {"AttributeName": "owner_id", "KeyType": "HASH"},
                    {"AttributeName": "name", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    resource.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=definitions,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    resource.meta.client.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )


def seed(resource: Any, prefix: str) -> None:
    """Create the items service's tables (named ``prefix`` + …) and write its data."""
    names = table_names(prefix)
    for name, key in _KEYS.items():
        _create(resource, names[name], key, index=name == "items")
    with resource.Table(names["items"]).batch_writer() as batch:
        for item in all_items():
            batch.put_item(Item=item)
    with resource.Table(names["users"]).batch_writer() as batch:
        for user in USERS.values():
            batch.put_item(Item=_user(user))
    resource.Table(names["settings"]).put_item(Item=dict(SETTINGS))
