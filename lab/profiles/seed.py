"""Tables and data of the profiles service: whole user records and their orders.

Every table has the string hash key ``id``. Idempotent: tables are created when missing and every
item is written with a fixed key, so seeding twice leaves the same data (and re-seeding undoes what
a scan changed).
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any

from lab.identities import USERS, User

ORDER_STATUSES = ("open", "shipped", "cancelled")
ORDERS_PER_USER = 3
_NAMESPACE = uuid.UUID("0b6c2f8e-4d1a-4e59-9a3c-7f2e5d8b1c40")


def table_names(prefix: str) -> dict[str, str]:
    """The service's table names (``users``, ``orders``) for one variant's ``prefix``."""
    return {"users": f"{prefix}users", "orders": f"{prefix}orders"}


def order_id(user_name: str, number: int) -> str:
    """The fixed UUID of a user's ``number``-th order (1-based)."""
    return str(uuid.uuid5(_NAMESPACE, f"order/{user_name}/{number}"))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _luhn_card(seed_number: int) -> str:
    """A Luhn-valid 16-digit Visa-style number (fake) derived from ``seed_number``."""
    body = f"4539{seed_number * 7919 % 10**11:011d}"
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return body + str((10 - total % 10) % 10)


def wallet_card(user_id: str) -> str:
    """The (fake, Luhn-valid) card number on file in the wallet of the user ``user_id``."""
    return _luhn_card(int(_digest(f"wallet/{user_id}")[:8], 16) % 10**6)


def user_record(user: User) -> dict[str, Any]:
    """The whole stored record of ``user`` (what the vulnerable profile endpoint returns)."""
    n = user.number
    return {
        "id": user.user_id,
        "name": user.name.capitalize(),
        "email": user.email,
        "phone": f"+1-415-555-01{30 + n:02d}",
        "tenant": user.tenant,
        "role": user.role,
        "is_admin": user.role == "admin",
        "password_hash": "$2b$12$" + _digest(f"profiles-pw/{user.name}")[:53],
        "ssn": f"{219 + n * 113:03d}-{17 + n * 11:02d}-{4021 + n * 1337:04d}",
        "internal_notes": f"KYC reviewed by ops; credit limit {n * 2500} USD; flag for upsell",
        "api_key": "sk_live_" + _digest(f"profiles-key/{user.name}")[:24],
        "balance": Decimal(f"{n * 1234.5:.2f}"),
        "login_count": Decimal(n * 17),
        "interests": {"hiking", "chess"} if n % 2 else {"cycling", "jazz"},
        "created_at": f"2025-0{n}-1{n}T08:30:00Z",
    }


def order_record(user: User, number: int) -> dict[str, Any]:
    """The stored order ``number`` of ``user``."""
    seq = user.number * 10 + number
    return {
        "id": order_id(user.name, number),
        "owner_id": user.user_id,
        "tenant": user.tenant,
        "status": ORDER_STATUSES[(number - 1) % len(ORDER_STATUSES)],
        "total": Decimal(f"{seq * 13.37:.2f}"),
        "currency": "USD",
        "card_number": _luhn_card(seq),
        "shipping_address": f"{seq} Market Street, Springfield",
        "products": {f"sku-{seq}-a", f"sku-{seq}-b"},
        "created_at": f"2026-02-{10 + number:02d}T10:00:00Z",
    }


def _create(resource: Any, name: str) -> None:
    if name in resource.meta.client.list_tables()["TableNames"]:
        return
    resource.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    resource.meta.client.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )


def seed(resource: Any, prefix: str) -> None:
    """Create the profiles service's tables (named ``prefix`` + …) and write its data."""
    names = table_names(prefix)
    for name in names.values():
        _create(resource, name)
    with resource.Table(names["users"]).batch_writer() as batch:
        for user in USERS.values():
            batch.put_item(Item=user_record(user))
    with resource.Table(names["orders"]).batch_writer() as batch:
        for user in USERS.values():
            for number in range(1, ORDERS_PER_USER + 1):
                batch.put_item(Item=order_record(user, number))
