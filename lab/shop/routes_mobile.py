"""The shop's mobile API: JSend envelopes, where a refusal is a 200 that says it failed.

As many mobile back ends do, every answer is a 200 whose body says how it went: ``{"status":
"success", "data": …}``, or ``{"status": "fail", "message": …}`` when the caller is refused
(no token, a bad one, not its object). ``GET /api/mobile/deals`` (members' prices) and ``GET
/api/mobile/orders`` (the caller's orders) need a member's bearer token.

The guard lets CORS preflights (``OPTIONS``) through, as they carry no token. Every deliberate
flaw is marked ``# FLAW:`` and its fix ``# FIX:``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from lab.shop.app import Shop, caller
from lab.shop.models import Order, Product, User

_bearer = HTTPBearer(auto_error=False)
Token = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_NO_TOKEN = {"status": "fail", "message": "No API token given."}
_BAD_TOKEN = {"status": "fail", "message": "The API token is not valid."}


def build(shop: Shop) -> APIRouter:
    """The mobile routes of ``shop``'s variant."""
    router = APIRouter(tags=["mobile"])
    session = Depends(shop.session)

    def member(request: Request, token: Token) -> User | dict[str, str] | None:
        """The caller; ``None`` for a preflight; the refusal envelope otherwise."""
        if shop.secure:  # FIX: the method the router dispatches on
            method = request.method
        else:  # FLAW: the method a client says it means, which the router never uses
            method = request.headers.get("X-HTTP-Method-Override", request.method).upper()
        if method == "OPTIONS":
            return None  # a CORS preflight carries no token
        if token is None:
            return _NO_TOKEN
        try:
            return caller(request)
        except HTTPException:
            return _BAD_TOKEN

    guarded = Depends(member)

    @router.get("/api/mobile/deals")
    def deals(who: Any = guarded, db: Session = session) -> Any:
        """This week's members' prices."""
        if isinstance(who, dict):
            return who
        rows = db.scalars(select(Product).order_by(Product.id).limit(4)).all()
        data = [
            {"product_id": p.id, "name": p.name, "member_price_cents": p.price_cents * 4 // 5}
            for p in rows
        ]
        return {"status": "success", "data": {"deals": data}}

    @router.get("/api/mobile/orders")
    def orders(who: Any = guarded, db: Session = session) -> Any:
        """The caller's orders."""
        if not isinstance(who, User):
            return who or _NO_TOKEN
        rows = db.scalars(select(Order).where(Order.user_id == who.id).order_by(Order.id)).all()
        data = [{"id": o.id, "status": o.status, "total_cents": o.total_cents} for o in rows]
        return {"status": "success", "data": {"orders": data}}

    return router
