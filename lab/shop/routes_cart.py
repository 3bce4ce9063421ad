"""The shop's carts: each user's own lines, each a product and a quantity, priced by the shop.

``POST /api/v2/cart`` adds a line, ``GET`` and ``DELETE /api/v2/cart/{line_id}`` read and
remove one of the caller's own lines (both twins check the owner). Every deliberate flaw is
marked ``# FLAW:`` and its fix ``# FIX:``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lab.shop.app import CurrentUser, Shop
from lab.shop.models import CartItem, Product, User


class CartLine(BaseModel):
    """A product to put in the cart."""

    product_id: int = Field(ge=1, examples=[1])
    quantity: int = Field(1, ge=1, le=99, examples=[2])  # FIX: at least one, at most 99


class AnyQuantityCartLine(BaseModel):
    """FLAW: a product to put in the cart, in any quantity (a negative one lowers the bill)."""

    product_id: int = Field(ge=1, examples=[1])
    quantity: int = Field(1, le=99, examples=[2])


def line_json(line: CartItem, db: Session) -> dict[str, Any]:
    """A cart line as its owner sees it, with its total at the product's price."""
    product = db.get(Product, line.product_id)
    price = product.price_cents if product is not None else 0
    return {
        "id": line.id,
        "product_id": line.product_id,
        "quantity": line.quantity,
        "line_total_cents": price * line.quantity,
    }


def build(shop: Shop) -> APIRouter:
    """The cart routes of ``shop``'s variant."""
    router = APIRouter()
    session = Depends(shop.session)

    @router.get("/api/v2/cart", tags=["account"])
    def cart(db: Session = session, user: User = CurrentUser) -> Any:
        """The caller's cart."""
        lines = db.scalars(select(CartItem).where(CartItem.user_id == user.id)).all()
        data = [{"id": c.id, "product_id": c.product_id, "quantity": c.quantity} for c in lines]
        return {"data": data}

    def add(body: AnyQuantityCartLine | CartLine, db: Session, user: User) -> Any:
        line = CartItem(user_id=user.id, product_id=body.product_id, quantity=body.quantity)
        db.add(line)
        db.commit()
        return {"data": line_json(line, db)}

    if shop.secure:

        @router.post("/api/v2/cart", status_code=201, tags=["account"])
        def add_to_cart(body: CartLine, db: Session = session, user: User = CurrentUser) -> Any:
            """Put a product in the caller's cart."""
            return add(body, db, user)

    else:

        @router.post("/api/v2/cart", status_code=201, tags=["account"])
        def add_any_quantity(
            body: AnyQuantityCartLine, db: Session = session, user: User = CurrentUser
        ) -> Any:
            """Put a product in the caller's cart."""
            return add(body, db, user)

    def clear(db: Session, user: User) -> Any:
        db.execute(delete(CartItem).where(CartItem.user_id == user.id))
        db.commit()
        return {"data": []}

    if shop.secure:  # FIX: a change of state only by POST

        @router.post("/api/v2/cart/clear", tags=["account"])
        def clear_cart(db: Session = session, user: User = CurrentUser) -> Any:
            """Empty the caller's cart."""
            return clear(db, user)

    else:  # FLAW: a GET that changes state (a link, a prefetch or a crawler empties the cart)

        @router.get("/api/v2/cart/clear", tags=["account"])
        def clear_cart_by_get(db: Session = session, user: User = CurrentUser) -> Any:
            """Empty the caller's cart."""
            return clear(db, user)

    def own_line(db: Session, user: User, line_id: int) -> CartItem:
        line = db.get(CartItem, line_id)
        if line is None or line.user_id != user.id:
            raise HTTPException(404, "no such cart line")
        return line

    # After /api/v2/cart/clear: its GET (the vulnerable twin's) is matched first.
    @router.get("/api/v2/cart/{line_id}", tags=["account"])
    def cart_line(line_id: int, db: Session = session, user: User = CurrentUser) -> Any:
        """One line of the caller's cart."""
        return {"data": line_json(own_line(db, user, line_id), db)}

    @router.delete("/api/v2/cart/{line_id}", status_code=204, tags=["account"])
    def remove_line(line_id: int, db: Session = session, user: User = CurrentUser) -> None:
        """Remove one line of the caller's cart."""
        db.delete(own_line(db, user, line_id))
        db.commit()

    return router
