"""The shop's price alerts: created by ``PUT`` on the collection, as some APIs do.

``PUT /api/v2/alerts`` with one alert in the body creates it (201), ``GET /api/v2/alerts`` lists
the caller's, ``GET`` and ``DELETE /api/v2/alerts/{alert_id}`` read and remove one. No alert is
seeded: each one the scan meets, it created itself. Every deliberate flaw is marked ``# FLAW:``
and its fix ``# FIX:``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from lab.shop.app import CurrentUser, Shop
from lab.shop.models import PriceAlert, Product, User


class NewAlert(BaseModel):
    """Mail me when this product costs less than this."""

    product_id: int = Field(ge=1, examples=[3])
    below_cents: int = Field(ge=1, le=10_000_000, examples=[800])


def alert_json(alert: PriceAlert) -> dict[str, Any]:
    """An alert as its owner sees it."""
    return {
        "id": alert.id,
        "user_id": alert.user_id,
        "product_id": alert.product_id,
        "below_cents": alert.below_cents,
    }


def build(shop: Shop) -> APIRouter:
    """The price-alert routes of ``shop``'s variant."""
    router = APIRouter()
    session = Depends(shop.session)

    @router.get("/api/v2/alerts", tags=["account"])
    def alerts(db: Session = session, user: User = CurrentUser) -> Any:
        """The caller's price alerts."""
        rows = db.scalars(select(PriceAlert).where(PriceAlert.user_id == user.id)).all()
        return {"data": [alert_json(a) for a in rows]}

    @router.put("/api/v2/alerts", status_code=201, tags=["account"])
    def add_alert(body: NewAlert, db: Session = session, user: User = CurrentUser) -> Any:
        """Create a price alert for the caller."""
        if db.get(Product, body.product_id) is None:
            raise HTTPException(422, "no such product")
        row = PriceAlert(user_id=user.id, product_id=body.product_id, below_cents=body.below_cents)
        db.add(row)
        db.commit()
        return {"data": alert_json(row)}

    def owned(db: Session, user: User, alert_id: int) -> PriceAlert:
        row = db.scalars(
            select(PriceAlert).where(PriceAlert.id == alert_id, PriceAlert.user_id == user.id)
        ).first()
        if row is None:
            raise HTTPException(404, "no such alert")
        return row

    @router.get("/api/v2/alerts/{alert_id}", tags=["account"])
    def alert(alert_id: int, db: Session = session, user: User = CurrentUser) -> Any:
        """One of the caller's price alerts."""
        return {"data": alert_json(owned(db, user, alert_id))}

    @router.delete("/api/v2/alerts/{alert_id}", status_code=204, tags=["account"])
    def remove_alert(alert_id: int, db: Session = session, user: User = CurrentUser) -> None:
        """Remove one of the caller's price alerts."""
        if shop.secure:  # FIX: the caller's own alert, or 404
            row = owned(db, user, alert_id)
        else:  # FLAW: removed by its id alone, whoever owns it
            found = db.get(PriceAlert, alert_id)
            if found is None:
                raise HTTPException(404, "no such alert")
            row = found
        db.delete(row)
        db.commit()

    return router
