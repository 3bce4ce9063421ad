"""The shop's wishlists: each user's own, named by a title and read by it (no numeric id).

Like many real APIs (a saved search, a board, a book read by its title), a wishlist's URL
carries its title: ``GET /api/v2/wishlists`` lists the caller's, ``GET
/api/v2/wishlists/{title}`` reads one and ``PUT`` replaces its note and products. Titles are
unique across the shop. Wishlists come with each account (the seed's): there is no ``POST`` or
``DELETE``, so a scan can only ever write one that existed before it.
Every deliberate flaw is marked ``# FLAW:`` and its fix ``# FIX:``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from lab.shop.app import CurrentUser, Shop
from lab.shop.models import User, Wishlist


class WishlistEdit(BaseModel):
    """A wishlist's new note and products (its title and owner never change)."""

    note: str = Field(max_length=200)
    products: list[int] = Field(max_length=20)


def wishlist_json(row: Wishlist, owner: str) -> dict[str, Any]:
    """A wishlist as its owner sees it: its title, whose it is, its note and products."""
    return {
        "title": row.title,
        "owner": owner,
        "note": row.note,
        "products": [int(p) for p in row.products.split(",") if p],
    }


def build(shop: Shop) -> APIRouter:
    """The wishlist routes of ``shop``'s variant."""
    router = APIRouter()
    session = Depends(shop.session)

    @router.get("/api/v2/wishlists", tags=["account"])
    def wishlists(db: Session = session, user: User = CurrentUser) -> Any:
        """The caller's wishlists."""
        rows = db.scalars(select(Wishlist).where(Wishlist.user_id == user.id)).all()
        return {
            "data": [{"title": row.title, "products": len(row.products.split(","))} for row in rows]
        }

    @router.get("/api/v2/wishlists/{title}", tags=["account"])
    def wishlist(title: str, db: Session = session, user: User = CurrentUser) -> Any:
        """One of the caller's wishlists, by its title."""
        query = select(Wishlist, User.username).join(User).where(Wishlist.title == title)
        if shop.secure:  # FIX: the caller's own wishlist, or 404
            query = query.where(Wishlist.user_id == user.id)
        # FLAW (vulnerable): fetched by its title alone, whoever owns it
        found = db.execute(query).first()
        if found is None:
            raise HTTPException(404, "no such wishlist")
        return {"data": wishlist_json(found[0], found[1])}

    @router.put("/api/v2/wishlists/{title}", tags=["account"])
    def replace_wishlist(
        title: str, body: WishlistEdit, db: Session = session, user: User = CurrentUser
    ) -> Any:
        """Replace the note and products of one of the caller's wishlists."""
        query = select(Wishlist, User.username).join(User).where(Wishlist.title == title)
        if shop.secure:  # FIX: the caller's own wishlist, or 404
            query = query.where(Wishlist.user_id == user.id)
        # FLAW (vulnerable): replaced by its title alone, whoever owns it
        found = db.execute(query).first()
        if found is None:
            raise HTTPException(404, "no such wishlist")
        row = found[0]
        row.note, row.products = body.note, ",".join(str(p) for p in body.products)
        db.commit()
        return {"data": wishlist_json(row, found[1])}

    return router
