"""The table and data of the tenants service: members and tickets of two tenants.

One table, ``<prefix>records``, keyed by ``PK`` (``"<tenant>#MEMBER"`` or ``"<tenant>#TICKET"``)
and ``SK`` (the record's sequential number, as text, also stored as ``member_id``/``ticket_id``).
Members carry their user's UUID (``user_id``) and tickets a UUID (``ticket_uuid``): the keys the
secure twin uses. Idempotent: seeding twice leaves the
same data, and re-seeding undoes what an active scan changed.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any

from lab.identities import USERS, User

TICKETS_PER_USER = 3
TICKET_BASE = 1000
TICKET_STATUSES = ("open", "pending", "closed")
PRIORITIES = ("low", "normal", "high")
_NAMESPACE = uuid.UUID("a3e1c5d7-2b4f-4c6e-8a0b-9d1f3e5a7c92")
_TITLES = ("Invoice export fails", "SSO login loop", "Quota increase", "Webhook retries")


def table_name(prefix: str) -> str:
    """The service's table for one variant's ``prefix``."""
    return f"{prefix}records"


def ticket_number(user: User, k: int) -> int:
    """The sequential number of ``user``'s ``k``-th ticket (1-based); users interleave."""
    return TICKET_BASE + (k - 1) * len(USERS) + user.number


def ticket_uuid(number: int) -> str:
    """The fixed UUID of ticket ``number`` (the key the secure twin uses)."""
    return str(uuid.uuid5(_NAMESPACE, f"ticket/{number}"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def member_record(user: User) -> dict[str, Any]:
    """The stored member record of ``user``."""
    n = user.number
    return {
        "PK": f"{user.tenant}#MEMBER",
        "SK": str(n),
        "member_id": Decimal(n),
        "user_id": user.user_id,
        "tenant": user.tenant,
        "name": user.name.capitalize(),
        "email": user.email,
        "phone": f"+1-212-555-01{40 + n:02d}",
        "role": user.role,
        "is_admin": user.role == "admin",
        "status": "active",
        "priority": "normal",
        "password_hash": "pbkdf2_sha256$870000$" + _digest(f"tenants-pw/{user.name}")[:44],
        "internal_notes": f"contract renewal due; discount {5 * n}% approved by finance",
        "teams": {"support", "billing"} if n % 2 else {"platform"},
        "created_at": f"2025-1{n % 3}-0{n}T12:00:00Z",
    }


def ticket_record(user: User, k: int) -> dict[str, Any]:
    """The stored ticket ``k`` of ``user``."""
    number = ticket_number(user, k)
    return {
        "PK": f"{user.tenant}#TICKET",
        "SK": str(number),
        "ticket_id": Decimal(number),
        "ticket_uuid": ticket_uuid(number),
        "tenant": user.tenant,
        "owner_id": user.user_id,
        "title": f"{_TITLES[(k + user.number) % len(_TITLES)]} ({user.name})",
        "status": TICKET_STATUSES[(k - 1) % len(TICKET_STATUSES)],
        "priority": PRIORITIES[number % len(PRIORITIES)],
        "internal_notes": f"customer on legacy plan; escalation contact {user.email}",
        "estimate_hours": Decimal(f"{number % 7 + 0.5}"),
        "labels": {"billing", "p2"} if k % 2 else {"auth"},
        "created_at": f"2026-03-{k:02d}T09:{user.number:02d}:00Z",
    }


def all_records() -> list[dict[str, Any]]:
    """Every seeded record, members first."""
    members = [member_record(user) for user in USERS.values()]
    tickets = [
        ticket_record(user, k) for user in USERS.values() for k in range(1, TICKETS_PER_USER + 1)
    ]
    return members + tickets


def seed(resource: Any, prefix: str) -> None:
    """Create the tenants service's table (``prefix`` + ``records``) and write its data."""
    name = table_name(prefix)
    if name not in resource.meta.client.list_tables()["TableNames"]:
        resource.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        resource.meta.client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
    with resource.Table(name).batch_writer() as batch:
        for record in all_records():
            batch.put_item(Item=record)
