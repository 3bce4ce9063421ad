"""The shop's accounts: registration, login, password reset, and each user's own objects.

Every deliberate flaw is marked ``# FLAW:`` and its fix ``# FIX:``.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lab.identities import AUDIENCE, ISSUER, USERS, mint
from lab.shop.app import CurrentUser, Shop
from lab.shop.models import Address, Order, PasswordReset, ShoppingList, User
from lab.shop.seed import password_hash


class Registration(BaseModel):
    """A new customer."""

    username: str = Field(min_length=3, max_length=40, pattern=r"^[a-z0-9_]+$")
    email: str = Field(max_length=254)
    password: str = Field(min_length=10, max_length=200)


class Login(BaseModel):
    """Credentials."""

    username: str = Field(max_length=40)
    password: str = Field(max_length=200)


class ResetRequest(BaseModel):
    """Whose password to reset."""

    email: str = Field(max_length=254)


class NewAddress(BaseModel):
    """A delivery address to add."""

    label: str = Field(max_length=40, examples=["office"])
    city: str = Field(max_length=80, examples=["Shelbyville"])


class NewList(BaseModel):
    """A shopping list to start, optionally with the address to deliver it to."""

    name: str = Field(max_length=80, examples=["groceries"])
    address_id: int | None = None


class NewListAnyRole(NewList):
    """FLAW: the creator's role on the list taken from the body (``admin`` lets one manage
    every member of a shared list)."""

    role: str = Field("editor", max_length=20)


class AddressEdit(BaseModel):
    """The fields of an address its owner may change."""

    label: str | None = Field(None, max_length=40)
    city: str | None = Field(None, max_length=80)


def address_json(address: Address) -> dict[str, Any]:
    """An address as its owner sees it, with whose it is."""
    return {
        "id": address.id,
        "user_id": address.user_id,
        "label": address.label,
        "city": address.city,
    }


class _Attempts:
    """Login attempts per submitted username over the last minute (the secure twin allows 5)."""

    LIMIT, WINDOW_S = 5, 60.0

    def __init__(self) -> None:
        self.seen: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def allow(self, username: str) -> bool:
        """Count one attempt; False once the username had ``LIMIT`` in the window."""
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.seen.get(username, []) if now - t < self.WINDOW_S]
            self.seen[username] = [*recent, now]
            return len(recent) < self.LIMIT


def order_json(order: Order) -> dict[str, Any]:
    """The fields of an order its owner sees."""
    return {
        "id": order.id,
        "status": order.status,
        "total_cents": order.total_cents,
        "created_at": order.created_at.isoformat(),
    }


def build(shop: Shop) -> APIRouter:
    """The account routes of ``shop``'s variant."""
    router = APIRouter()
    session = Depends(shop.session)

    def token_for(user: User) -> str:
        if user.username in USERS:
            return mint(user.username, secret=shop.secret, exp_seconds=3600)
        now = int(time.time())
        claims = {"sub": f"shop-{user.id}", "name": user.username, "iss": ISSUER, "aud": AUDIENCE}
        return jwt.encode({**claims, "iat": now, "exp": now + 3600}, shop.secret, "HS256")

    @router.post("/api/v2/auth/register", status_code=201, tags=["auth"])
    def register(body: Registration, db: Session = session) -> Any:
        """Create a customer account."""
        clash = select(User).where((User.username == body.username) | (User.email == body.email))
        if db.scalars(clash).first() is not None:
            raise HTTPException(409, "username or e-mail already registered")
        user = User(
            username=body.username,
            email=body.email,
            password_hash=password_hash(body.password),
            role="customer",
        )
        db.add(user)
        db.commit()
        return {"user": {"id": user.id, "username": user.username, "role": user.role}}

    attempts = _Attempts()

    @router.post("/api/v2/auth/login", tags=["auth"])
    def login(body: Login, db: Session = session) -> Any:
        """Exchange a username and password for a bearer token."""
        # FLAW (vulnerable): any number of attempts; FIX: at most five a minute per username
        if shop.secure and not attempts.allow(body.username):
            raise HTTPException(429, "too many login attempts", {"Retry-After": "60"})
        user = db.scalars(select(User).where(User.username == body.username)).first()
        if user is None and not shop.secure:  # FLAW: says which usernames exist
            raise HTTPException(404, "no account with that username")
        if user is None or not secrets.compare_digest(
            user.password_hash, password_hash(body.password)
        ):
            raise HTTPException(401, "invalid credentials", {"WWW-Authenticate": "Bearer"})
        return {"token": token_for(user), "token_type": "bearer"}

    @router.post("/api/v2/auth/password-reset", status_code=202, tags=["auth"])
    def password_reset(body: ResetRequest, db: Session = session) -> Any:
        """Send a reset link to the address, if it belongs to an account."""
        user = db.scalars(select(User).where(User.email == body.email)).first()
        if user is None and not shop.secure:  # FLAW: says which addresses have an account
            raise HTTPException(404, "no account with that e-mail address")
        # FIX: the same answer whether the address has an account or not
        if user is not None:
            token = secrets.token_urlsafe(24)
            digest = hashlib.sha256(token.encode()).hexdigest()
            db.add(PasswordReset(user_id=user.id, token_hash=digest, created_at=_now()))
            db.commit()
        return {"detail": "if the address belongs to an account, a link is on its way"}

    @router.get("/api/v2/me", tags=["account"])
    def me(user: User = CurrentUser) -> Any:
        """The caller's account, in an envelope."""
        return {"user": {"id": user.id, "username": user.username, "email": user.email}}

    @router.get("/api/v2/addresses", tags=["account"])
    def addresses(db: Session = session, user: User = CurrentUser) -> Any:
        """The caller's delivery addresses."""
        rows = db.scalars(select(Address).where(Address.user_id == user.id)).all()
        return {"data": [{"id": a.id, "label": a.label, "city": a.city} for a in rows]}

    def one_address(db: Session, user: User, address_id: int) -> Address:
        query = select(Address).where(Address.id == address_id)
        if shop.secure:  # FIX: the caller's own address, or 404
            query = query.where(Address.user_id == user.id)
        # FLAW (vulnerable): fetched by its id alone, whoever owns it
        address = db.scalars(query).first()
        if address is None:
            raise HTTPException(404, "no such address")
        return address

    @router.get("/api/v2/addresses/{address_id}", tags=["account"])
    def address(address_id: int, db: Session = session, user: User = CurrentUser) -> Any:
        """One of the caller's delivery addresses."""
        return {"data": address_json(one_address(db, user, address_id))}

    @router.post("/api/v2/addresses", status_code=201, tags=["account"])
    def add_address(body: NewAddress, db: Session = session, user: User = CurrentUser) -> Any:
        """Add a delivery address for the caller."""
        row = Address(user_id=user.id, label=body.label, city=body.city)
        db.add(row)
        db.commit()
        return {"data": address_json(row)}

    @router.delete("/api/v2/addresses/{address_id}", status_code=204, tags=["account"])
    def remove_address(address_id: int, db: Session = session, user: User = CurrentUser) -> None:
        """Remove one of the caller's addresses."""
        db.delete(one_address(db, user, address_id))
        db.commit()

    @router.patch("/api/v2/addresses/{address_id}", tags=["account"])
    def edit_address(
        address_id: int, body: AddressEdit, db: Session = session, user: User = CurrentUser
    ) -> Any:
        """Rename one of the caller's addresses or move it to another city."""
        row = one_address(db, user, address_id)
        for name, value in body.model_dump(exclude_unset=True).items():
            setattr(row, name, value)
        db.commit()
        return {"data": address_json(row)}

    def list_json(row: ShoppingList) -> dict[str, Any]:
        return {
            "id": row.id,
            "user_id": row.user_id,
            "name": row.name,
            "role": row.role,
            "address_id": row.address_id,
        }

    def delivery_address(db: Session, user: User, address_id: int | None) -> int | None:
        if address_id is None:
            return None
        if shop.secure:  # FIX: the address must be the caller's own
            return one_address(db, user, address_id).id
        return address_id  # FLAW: any address id is stored, whoever owns it

    def one_list(db: Session, user: User, list_id: int) -> ShoppingList:
        row = db.scalars(
            select(ShoppingList).where(ShoppingList.id == list_id, ShoppingList.user_id == user.id)
        ).first()
        if row is None:
            raise HTTPException(404, "no such list")
        return row

    if shop.secure:

        @router.post("/api/v2/lists", status_code=201, tags=["account"])
        def start_list(body: NewList, db: Session = session, user: User = CurrentUser) -> Any:
            """Start a shopping list."""
            address = delivery_address(db, user, body.address_id)
            row = ShoppingList(user_id=user.id, name=body.name, role="editor", address_id=address)
            # FIX: the role is set here, never taken from the body
            db.add(row)
            db.commit()
            return {"data": list_json(row)}

    else:

        @router.post("/api/v2/lists", status_code=201, tags=["account"])
        def start_any_list(
            body: NewListAnyRole, db: Session = session, user: User = CurrentUser
        ) -> Any:
            """Start a shopping list."""
            address = delivery_address(db, user, body.address_id)
            row = ShoppingList(user_id=user.id, name=body.name, role=body.role, address_id=address)
            db.add(row)
            db.commit()
            return {"data": list_json(row)}

    @router.get("/api/v2/lists/{list_id}", tags=["account"])
    def shopping_list(list_id: int, db: Session = session, user: User = CurrentUser) -> Any:
        """One of the caller's shopping lists."""
        return {"data": list_json(one_list(db, user, list_id))}

    @router.delete("/api/v2/lists/{list_id}", status_code=204, tags=["account"])
    def drop_list(list_id: int, db: Session = session, user: User = CurrentUser) -> None:
        """Delete one of the caller's shopping lists."""
        db.delete(one_list(db, user, list_id))
        db.commit()

    @router.get("/api/v2/orders", tags=["account"])
    def orders(
        db: Session = session,
        min_total: Annotated[str | None, Query(examples=["1000"])] = None,
        user: User = CurrentUser,
    ) -> Any:
        """The caller's orders, optionally those of at least ``min_total`` cents."""
        if shop.secure:
            query = select(Order).where(Order.user_id == user.id).order_by(Order.id)
            if min_total is not None:
                if not min_total.isdigit():
                    raise HTTPException(422, "min_total must be an integer")
                query = query.where(Order.total_cents >= int(min_total))  # FIX: bound
            rows = db.scalars(query).all()
            return {"data": [order_json(o) for o in rows]}
        where = "" if min_total is None else f" AND total_cents >= {min_total}"
        # FLAW: the number formatted into the SQL (errors hidden behind a 500).
        sql = f"SELECT id FROM orders WHERE user_id = :user{where} ORDER BY id"
        try:
            ids = [row[0] for row in db.execute(text(sql), {"user": user.id}).all()]
        except Exception:
            return JSONResponse({"detail": "internal error"}, status_code=500)
        rows = db.scalars(select(Order).where(Order.id.in_(ids)).order_by(Order.id)).all()
        return {"data": [order_json(o) for o in rows]}

    @router.get("/api/v2/orders/{order_id}", tags=["account"])
    def order(order_id: int, db: Session = session, user: User = CurrentUser) -> Any:
        """One of the caller's orders, with the billing customer it was charged to."""
        query = select(Order).where(Order.id == order_id)
        if shop.secure:  # FIX: the caller's own order, or 404
            query = query.where(Order.user_id == user.id)
        # FLAW (vulnerable): fetched by its id alone; its owner field is the billing
        # system's customer number, which no token claim or /me answer names
        row = db.scalars(query).first()
        if row is None:
            raise HTTPException(404, "no such order")
        return {"data": {**order_json(row), "customer_id": f"cus_{7000 + row.user_id}"}}

    @router.get("/api/v2/manage/orders", tags=["management"])
    def all_orders(db: Session = session, user: User = CurrentUser) -> Any:
        """Every order of the shop: managers only."""
        if user.role != "manager":
            raise HTTPException(403, "managers only")
        rows = db.scalars(select(Order).order_by(Order.id)).all()
        return {"data": [{**order_json(o), "user_id": o.user_id} for o in rows]}

    return router


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
