"""Fill the shop's SQLite database: the lab's users, twelve products, carts, addresses,
wishlists (each user's, titled ``<name>-birthday-ideas``), orders.

The users are the lab's (``lab.identities``) with their ``number`` as the integer id; dave is
the shop's manager. Every password is ``lab-password-<name>``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from lab.identities import USERS
from lab.shop.models import Address, Base, CartItem, Order, Product, User, Wishlist

CATEGORIES = ("books", "games", "tools")
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def password_hash(password: str) -> str:
    """PBKDF2-SHA256 of ``password`` with a fixed lab salt, hex."""
    return hashlib.pbkdf2_hmac("sha256", password.encode(), b"lab-shop", 1000).hex()


def seed(database_url: str, *, secret: str = "", variant: str = "") -> None:
    """Drop and create every table of the shop at ``database_url``, then insert the seed rows.

    ``secret`` and ``variant`` are not needed: the shop's tokens are the lab's JWTs.
    """
    engine = create_engine(database_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for user in USERS.values():
            session.add(
                User(
                    id=user.number,
                    username=user.name,
                    email=f"{user.name}@shop.example",
                    password_hash=password_hash(f"lab-password-{user.name}"),
                    role="manager" if user.role == "admin" else "customer",
                )
            )
        for number in range(1, 13):
            category = CATEGORIES[number % 3]
            session.add(
                Product(
                    id=number,
                    slug=f"{category}-item-{number}",
                    name=f"{category.title()} item {number}",
                    category=category,
                    price_cents=500 + 125 * number,
                    created_at=(EPOCH + timedelta(days=10 * number)).replace(tzinfo=None),
                )
            )
        for user in USERS.values():
            base = user.number * 10
            session.add(CartItem(user_id=user.number, product_id=user.number, quantity=1))
            session.add(Address(user_id=user.number, label="home", city="Springfield"))
            session.add(
                Wishlist(
                    user_id=user.number,
                    title=f"{user.name}-birthday-ideas",
                    note=f"for {user.name}'s birthday",
                    products=f"{user.number},{user.number + 4}",
                )
            )
            for index in range(3):
                session.add(
                    Order(
                        id=base + index,
                        user_id=user.number,
                        status=("open", "shipped", "delivered")[index],
                        total_cents=1000 * (index + 1),
                        created_at=(EPOCH + timedelta(days=index)).replace(tzinfo=None),
                    )
                )
        session.commit()
    engine.dispose()
