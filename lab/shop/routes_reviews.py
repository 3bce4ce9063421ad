"""The shop's product reviews: created, read, retitled and deleted by their author.

Every deliberate flaw is marked ``# FLAW:`` and its fix ``# FIX:``. Creating a review is a real
write (``POST /api/v2/reviews`` answers 201 with the new id) whose object the API documents a
``DELETE`` for, so an active scan may probe its body and delete what it created.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from lab.items import outbound
from lab.shop.app import CurrentUser, Shop, own
from lab.shop.models import Review, User

# FLAW: a nested quantifier: "aaaa…!" backtracks exponentially before the slug is refused.
_SLUG_CATASTROPHIC = re.compile(r"^([a-z0-9]+-?)+$")
# FIX: one pass, no nested quantifier.
_SLUG_LINEAR = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

IMAGE_HOSTS = frozenset({"images.shop.example"})
"""FIX: the only hosts the secure twin accepts pictures from (it stores the URL, never fetches)."""


class NewReview(BaseModel):
    """A review as the client sends it."""

    product_slug: str = Field(max_length=80)
    title: str = Field(max_length=200)
    image_url: str | None = Field(None, max_length=500, json_schema_extra={"format": "uri"})


class ReviewEdit(BaseModel):
    """A review's new title."""

    title: str = Field(max_length=200)


def review_json(review: Review) -> dict[str, Any]:
    """A review as the API answers it."""
    return {
        "id": review.id,
        "product_slug": review.product_slug,
        "title": review.title,
        "image_url": review.image_url,
        "image_bytes": review.image_bytes,
    }


def build(shop: Shop) -> APIRouter:
    """The review routes of ``shop``'s variant."""
    router = APIRouter()
    session = Depends(shop.session)

    @router.get("/api/v2/reviews", tags=["reviews"])
    def reviews(user: User = CurrentUser, db: Session = session) -> Any:
        """The caller's reviews."""
        rows = db.scalars(select(Review).where(Review.user_id == user.id).order_by(Review.id))
        return {"data": [review_json(r) for r in rows]}

    @router.post("/api/v2/reviews", tags=["reviews"], status_code=201)
    def create(
        body: Annotated[
            NewReview,
            Body(examples=[{"product_slug": "pocket-guide", "title": "Sturdy and clear"}]),
        ],
        user: User = CurrentUser,
        db: Session = session,
    ) -> Any:
        """Review a product; ``image_url`` names a picture of it."""
        slug = _SLUG_LINEAR if shop.secure else _SLUG_CATASTROPHIC
        if not slug.match(body.product_slug):
            raise HTTPException(422, "product_slug must be lower-case words joined by hyphens")
        size: int | None = None
        if body.image_url:
            if shop.secure:
                if urlsplit(body.image_url).hostname not in IMAGE_HOSTS:  # FIX: an allow-list
                    raise HTTPException(422, "image_url must be on images.shop.example")
            else:
                try:  # FLAW: the server fetches whatever URL the client names (SSRF)
                    size = len(outbound.request(body.image_url).body)
                except outbound.NotLoopback as exc:
                    raise HTTPException(422, str(exc)) from exc
                except OSError:
                    size = None
        if shop.secure:  # FIX: bound values
            review = Review(
                user_id=user.id,
                product_slug=body.product_slug,
                title=body.title,
                image_url=body.image_url,
                image_bytes=size,
            )
            db.add(review)
            db.commit()
            return review_json(review)
        # FLAW: the title formatted into the INSERT, and the driver's message returned
        sql = (
            "INSERT INTO reviews (user_id, product_slug, title, image_url, image_bytes) "
            f"VALUES ({user.id}, :slug, '{body.title}', :url, :size)"
        )
        try:
            made = db.execute(
                text(sql), {"slug": body.product_slug, "url": body.image_url, "size": size}
            )
            db.commit()
        except SQLAlchemyError as exc:
            return JSONResponse({"detail": str(exc.orig or exc)}, status_code=500)
        review = db.get(Review, made.lastrowid)
        assert review is not None
        return review_json(review)

    @router.get("/api/v2/reviews/{review_id}", tags=["reviews"])
    def review(review_id: int, user: User = CurrentUser, db: Session = session) -> Any:
        """One of the caller's reviews."""
        return review_json(own(db, Review, review_id, user))

    @router.patch("/api/v2/reviews/{review_id}", tags=["reviews"])
    def edit(
        review_id: int,
        body: Annotated[ReviewEdit, Body(examples=[{"title": "Sturdy, and clearer"}])],
        user: User = CurrentUser,
        db: Session = session,
    ) -> Any:
        """Retitle one of the caller's reviews."""
        review = own(db, Review, review_id, user)
        if shop.secure:  # FIX: a bound value
            review.title = body.title
            db.commit()
            return review_json(review)
        # FLAW: the new title formatted into the UPDATE, and the driver's message returned
        sql = f"UPDATE reviews SET title = '{body.title}' WHERE id = :id"
        try:
            db.execute(text(sql), {"id": review.id})
            db.commit()
        except SQLAlchemyError as exc:
            return JSONResponse({"detail": str(exc.orig or exc)}, status_code=500)
        db.refresh(review)
        return review_json(review)

    @router.delete("/api/v2/reviews/{review_id}", tags=["reviews"], status_code=204)
    def delete(review_id: int, user: User = CurrentUser, db: Session = session) -> None:
        """Delete one of the caller's reviews."""
        db.delete(own(db, Review, review_id, user))
        db.commit()

    return router
