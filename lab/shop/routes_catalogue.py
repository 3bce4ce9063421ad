"""The shop's public catalogue, its e-mail check and its timestamp tool.

The catalogue is read by anyone and kept by the shop's managers (``role = "manager"``): only
they may add, change or remove a product. Every deliberate flaw is marked ``# FLAW:`` and its
fix ``# FIX:``.
"""

from __future__ import annotations

import re
import subprocess
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from lab.shop.app import CurrentUser, Shop
from lab.shop.models import Product, User

PAGE = 20


class ProductQuery(BaseModel):
    """A catalogue query sent as JSON."""

    category: str | None = Field(None, max_length=200)
    page: int = Field(1, ge=1, le=1000)


# FLAW: nested quantifiers over overlapping classes: "aaaa…!" backtracks exponentially
# (OWASP's ReDoS example for e-mail validation).
_EMAIL_CATASTROPHIC = re.compile(
    r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}"
    r"(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$"
)
# FIX: one pass over a bounded input, no nested quantifiers.
_EMAIL_LINEAR = re.compile(
    r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,4}$"
)


class ProductUpdate(BaseModel):
    """A product's editable fields."""

    name: str = Field(..., min_length=1, max_length=120, examples=["Books item 99"])
    category: str = Field(..., min_length=1, max_length=40, examples=["books"])
    price_cents: int = Field(..., ge=0, le=10_000_000, examples=[1500])


class NewProduct(ProductUpdate):
    """A new catalogue entry."""

    slug: str = Field(..., pattern=r"^[a-z0-9-]{1,80}$", examples=["books-item-99"])


def manager(user: User) -> None:
    """403 unless ``user`` keeps the catalogue."""
    if user.role != "manager":
        raise HTTPException(403, "Only the shop's managers keep the catalogue")


def product_json(product: Product) -> dict[str, Any]:
    """The public fields of a product."""
    return {
        "id": product.id,
        "slug": product.slug,
        "name": product.name,
        "category": product.category,
        "price_cents": product.price_cents,
        "created_at": product.created_at.isoformat(),
    }


def build(shop: Shop) -> APIRouter:
    """The catalogue routes of ``shop``'s variant."""
    router = APIRouter()
    session = Depends(shop.session)

    def listing(db: Session, category: str | None, created_after: str | None, page: int) -> Any:
        if shop.secure:
            since = _parse_date(created_after)  # FIX: a malformed date is a 400
            query = select(Product).order_by(Product.created_at.desc(), Product.id)
            if category is not None:
                query = query.where(Product.category == category)  # FIX: a bound value
            if since is not None:
                query = query.where(Product.created_at > since)
            rows = db.scalars(query.offset((page - 1) * PAGE).limit(PAGE)).all()
            return {"data": [product_json(p) for p in rows], "meta": {"page": page}}
        # FLAW: an unchecked date conversion: an impossible offset ends in a 500.
        since = datetime.fromisoformat(created_after) if created_after else None
        where = ["1 = 1"]
        if category is not None:
            where.append(f"category = '{category}'")  # FLAW: the value formatted into the SQL
        if since is not None:
            where.append(f"created_at > '{since.replace(tzinfo=None).isoformat(sep=' ')}'")
        sql = f"SELECT id FROM products WHERE {' AND '.join(where)} ORDER BY created_at DESC, id"
        try:
            ids = [row[0] for row in db.execute(text(sql)).all()]
        except SQLAlchemyError as exc:  # FLAW: the driver's own message to the client
            return JSONResponse({"detail": str(exc.orig or exc)}, status_code=500)
        chosen = ids[(page - 1) * PAGE : page * PAGE]
        rows = db.scalars(select(Product).where(Product.id.in_(chosen))).all()
        ordered = sorted(rows, key=lambda p: chosen.index(p.id))
        return {"data": [product_json(p) for p in ordered], "meta": {"page": page}}

    @router.get("/api/v2/products", tags=["catalogue"])
    def products(
        db: Session = session,
        category: Annotated[str | None, Query(examples=["books"])] = None,
        created_after: Annotated[str | None, Query(examples=["2024-02-01T00:00:00"])] = None,
        page: Annotated[int, Query(ge=1, le=1000)] = 1,
    ) -> Any:
        """The catalogue, newest first, optionally of one category and after a date."""
        return listing(db, category, created_after, page)

    @router.post("/api/v2/products/search", tags=["catalogue"])
    def search(
        body: Annotated[ProductQuery, Body(examples=[{"category": "books"}])],
        db: Session = session,
    ) -> Any:
        """The catalogue filtered by a JSON query, for clients whose filters outgrow a URL."""
        return listing(db, body.category, None, body.page)

    @router.get("/api/v2/products/{slug}", tags=["catalogue"])
    def product(slug: str, db: Session = session) -> Any:
        """One product by its slug."""
        found = db.scalars(select(Product).where(Product.slug == slug)).first()
        if found is None:
            raise HTTPException(404, "Not Found")
        return {"data": product_json(found)}

    @router.post("/api/v2/products", status_code=201, tags=["catalogue"])
    def add_product(body: NewProduct, user: User = CurrentUser, db: Session = session) -> Any:
        """Add a product to the catalogue (managers only)."""
        manager(user)
        if db.scalars(select(Product).where(Product.slug == body.slug)).first() is not None:
            raise HTTPException(409, "A product with this slug exists")
        created = Product(**body.model_dump(), created_at=datetime.now().replace(microsecond=0))
        db.add(created)
        db.commit()
        return {"data": product_json(created)}

    @router.put("/api/v2/products/{slug}", tags=["catalogue"])
    def change_product(
        slug: str, body: ProductUpdate, user: User = CurrentUser, db: Session = session
    ) -> Any:
        """Change a product (managers only)."""
        if shop.secure:
            manager(user)  # FIX: the same role check as adding a product
        # FLAW: any logged-in customer changes a catalogue entry (no role check)
        found = db.scalars(select(Product).where(Product.slug == slug)).first()
        if found is None:
            raise HTTPException(404, "Not Found")
        for key, value in body.model_dump().items():
            setattr(found, key, value)
        db.commit()
        return {"data": product_json(found)}

    @router.delete("/api/v2/products/{slug}", status_code=204, tags=["catalogue"])
    def remove_product(slug: str, user: User = CurrentUser, db: Session = session) -> None:
        """Remove a product from the catalogue (managers only)."""
        if shop.secure:
            manager(user)  # FIX: the same role check as adding a product
        # FLAW: any logged-in customer removes a catalogue entry (no role check)
        found = db.scalars(select(Product).where(Product.slug == slug)).first()
        if found is None:
            raise HTTPException(404, "Not Found")
        db.delete(found)
        db.commit()

    @router.get("/api/v1/products", include_in_schema=False)
    def products_v1(db: Session = session) -> Any:
        """The first version's catalogue: retired in the secure twin, live in the other."""
        if shop.secure:
            raise HTTPException(410, "Gone")
        rows = db.scalars(select(Product).order_by(Product.id)).all()
        return [product_json(p) for p in rows]

    @router.get("/api/v2/auth/check-email", tags=["auth"])
    def check_email(
        email: Annotated[str, Query(examples=["carol@example.org"])],
        db: Session = session,
    ) -> Any:
        """Whether an address is well formed and still free, for the registration form."""
        if shop.secure:
            valid = len(email) <= 254 and bool(_EMAIL_LINEAR.match(email))  # FIX
        else:
            valid = bool(_EMAIL_CATASTROPHIC.match(email))  # FLAW: ReDoS
        taken = db.scalar(select(func.count()).select_from(User).where(User.email == email))
        return {"valid": valid, "available": valid and not taken}

    @router.get("/api/v2/tools/timestamp", tags=["tools"])
    def timestamp(
        value: Annotated[str, Query(examples=["1700000000"], description="seconds since 1970")],
        user: User = CurrentUser,
    ) -> Any:
        """A Unix timestamp as an ISO 8601 date (UTC), computed by the system's ``date``."""
        if shop.secure:
            if not value.isdigit() or len(value) > 12:
                raise HTTPException(400, "value must be a number of seconds")
            command: Any = ["date", "-u", "-d", f"@{value}", "+%Y-%m-%dT%H:%M:%SZ"]  # FIX: argv
        else:
            # FLAW: the value pasted into a shell command line. (date reads no network; the
            # lab's scans send only echo and sleep.)
            command = f"date -u -d @{value} +%Y-%m-%dT%H:%M:%SZ"
        done = subprocess.run(
            command, shell=not shop.secure, capture_output=True, text=True, timeout=5, check=False
        )
        if done.returncode:
            detail = done.stderr.strip() if not shop.secure else "not a valid timestamp"
            raise HTTPException(400, detail)
        return {"data": {"value": value, "iso": done.stdout.strip()}}

    return router


def _parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise HTTPException(400, "created_after must be an ISO 8601 date-time") from exc
    return parsed.replace(tzinfo=None)
