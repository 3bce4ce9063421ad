"""The shop's tables (SQLAlchemy 2 declarative models): users, products and per-user objects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The shop's metadata."""


class User(Base):
    """A customer, or a manager (who administers the shop)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="customer")  # customer | manager


class Product(Base):
    """A catalogue entry, public."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(40))
    price_cents: Mapped[int]
    created_at: Mapped[datetime]


class CartItem(Base):
    """One line of a user's cart."""

    __tablename__ = "cart_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]


class Address(Base):
    """A user's delivery address."""

    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    label: Mapped[str] = mapped_column(String(40))
    city: Mapped[str] = mapped_column(String(80))


class Wishlist(Base):
    """A user's wishlist, named by a title unique across the shop (its URL carries it)."""

    __tablename__ = "wishlists"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(80), unique=True)
    note: Mapped[str] = mapped_column(String(200))
    products: Mapped[str] = mapped_column(String(200))  # product ids, comma-separated


class ShoppingList(Base):
    """A shopping list; ``role`` is the creator's role on it (lists can be shared)."""

    __tablename__ = "shopping_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20), default="editor")  # editor | admin
    address_id: Mapped[int | None] = mapped_column(ForeignKey("addresses.id"), default=None)


class Order(Base):
    """A user's order."""

    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20))
    total_cents: Mapped[int]
    created_at: Mapped[datetime]


class PasswordReset(Base):
    """A password-reset request (the e-mail would carry the token)."""

    __tablename__ = "password_resets"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Review(Base):
    """A customer's review of a product, with an optional picture fetched from a URL."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    image_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    image_bytes: Mapped[int | None] = mapped_column(nullable=True)


class Offer(Base):
    """A customer's second-hand offer on the shop's marketplace; the shop features, verifies
    and charges a fee on offers itself."""

    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120))
    asking_cents: Mapped[int]
    is_featured: Mapped[bool] = mapped_column(default=False)
    verified: Mapped[bool] = mapped_column(default=False)
    fee_cents: Mapped[int] = mapped_column(default=250)


class PriceAlert(Base):
    """A customer's alert: mail me when a product costs less than ``below_cents``."""

    __tablename__ = "price_alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    below_cents: Mapped[int]
