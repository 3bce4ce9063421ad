"""The shop's marketplace: customers offer second-hand goods; the shop features, verifies and
charges a fee on each offer itself.

Every deliberate flaw is marked ``# FLAW:`` and its fix ``# FIX:``. Requests and answers wrap
the offer in an envelope (``{"offer": {...}}``), as many APIs do. The vulnerable twin stores
properties the client must not set (``is_featured``, ``verified``, ``fee_cents``): from the
creation's and the PATCH's envelope, and from the query string of a PUT.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from lab.shop.app import CurrentUser, Shop, own
from lab.shop.models import Offer, User

_COLUMNS = {
    "title": str,
    "asking_cents": int,
    "is_featured": bool,
    "verified": bool,
    "fee_cents": int,
}
"""The offer's columns a vulnerable write may set, with their types (never id or user_id)."""


class NewOffer(BaseModel):
    """An offer as the client writes it."""

    title: str = Field(max_length=120)
    asking_cents: int = Field(ge=0, le=10_000_000)


class OfferEdit(BaseModel):
    """The parts of an offer the client may change."""

    title: str | None = Field(None, max_length=120)
    asking_cents: int | None = Field(None, ge=0, le=10_000_000)


_EXAMPLE = {"offer": {"title": "Board game, complete", "asking_cents": 1500}}


def offer_json(offer: Offer) -> dict[str, Any]:
    """An offer as the API answers it."""
    return {
        "id": offer.id,
        "user_id": offer.user_id,
        "title": offer.title,
        "asking_cents": offer.asking_cents,
        "is_featured": offer.is_featured,
        "verified": offer.verified,
        "fee_cents": offer.fee_cents,
    }


def build(shop: Shop) -> APIRouter:
    """The marketplace routes of ``shop``'s variant."""
    router = APIRouter()
    session = Depends(shop.session)

    @router.get("/api/v2/offers", tags=["marketplace"])
    def offers(user: User = CurrentUser, db: Session = session) -> Any:
        """The caller's offers."""
        rows = db.scalars(select(Offer).where(Offer.user_id == user.id).order_by(Offer.id))
        return {"offers": [offer_json(o) for o in rows]}

    @router.post("/api/v2/offers", tags=["marketplace"], status_code=201)
    async def create(
        request: Request,
        offer: Annotated[NewOffer, Body(embed=True, examples=[_EXAMPLE["offer"]])],
        user: User = CurrentUser,
        db: Session = session,
    ) -> Any:
        """Offer something for sale."""
        row = Offer(user_id=user.id, title=offer.title, asking_cents=offer.asking_cents)
        if not shop.secure:  # FLAW: every column the envelope names is stored
            _assign(row, await _inner(request))
        # FIX: only the schema's fields; featuring, verification and the fee are the shop's
        db.add(row)
        db.commit()
        return {"offer": offer_json(row)}

    @router.get("/api/v2/offers/{offer_id}", tags=["marketplace"])
    def read(offer_id: int, user: User = CurrentUser, db: Session = session) -> Any:
        """One of the caller's offers."""
        return {"offer": offer_json(own(db, Offer, offer_id, user))}

    @router.patch("/api/v2/offers/{offer_id}", tags=["marketplace"])
    async def edit(
        offer_id: int,
        request: Request,
        offer: Annotated[OfferEdit, Body(embed=True, examples=[{"title": "Board game"}])],
        user: User = CurrentUser,
        db: Session = session,
    ) -> Any:
        """Change an offer's title or price."""
        row = own(db, Offer, offer_id, user)
        raw = await _inner(request)
        if shop.secure:  # FIX: only the schema's fields are stored
            for key, value in offer.model_dump(exclude_unset=True).items():
                setattr(row, key, value)
            db.commit()
            # The answer echoes the request as received: nothing but the above was stored.
            return {"offer": {**offer_json(row), **raw}}
        _assign(row, raw)  # FLAW: every column the envelope names is stored
        db.commit()
        return {"offer": offer_json(row)}

    @router.put("/api/v2/offers/{offer_id}", tags=["marketplace"])
    def replace(
        offer_id: int,
        request: Request,
        offer: Annotated[NewOffer, Body(embed=True, examples=[_EXAMPLE["offer"]])],
        user: User = CurrentUser,
        db: Session = session,
    ) -> Any:
        """Replace an offer's title and price."""
        row = own(db, Offer, offer_id, user)
        row.title, row.asking_cents = offer.title, offer.asking_cents  # FIX: the body's alone
        if not shop.secure:  # FLAW: the query string's fields are stored too
            _assign(row, dict(request.query_params))
        db.commit()
        return {"offer": offer_json(row)}

    @router.delete("/api/v2/offers/{offer_id}", tags=["marketplace"], status_code=204)
    def delete(offer_id: int, user: User = CurrentUser, db: Session = session) -> None:
        """Withdraw one of the caller's offers."""
        db.delete(own(db, Offer, offer_id, user))
        db.commit()

    return router


async def _inner(request: Request) -> dict[str, Any]:
    """The object inside the request body's ``offer`` envelope, as sent."""
    try:
        body = await request.json()
    except ValueError:
        return {}
    inner = body.get("offer") if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else {}


def _assign(row: Offer, fields: dict[str, Any]) -> None:
    """Set every known column ``fields`` names, converting text (a query string's) to its type."""
    for key, value in fields.items():
        kind = _COLUMNS.get(key)
        if kind is None:
            continue
        if isinstance(value, str) and kind is bool:
            value = value.lower() in ("true", "1", "yes")
        elif isinstance(value, str) and kind is int:
            value = int(value) if value.isdigit() else None
        if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
            setattr(row, key, value)
