"""The FastAPI app factory of the shop service (``create_app``) and who the caller is."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import fastapi
from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from lab.identities import InvalidToken
from lab.items.middleware import LabHeaders, RateLimiter
from lab.shop.keys import Keys, verify_token
from lab.shop.models import Offer, Review, User

VERSION = "2.3.0"
REALM = 'Bearer realm="shop"'


@dataclass(frozen=True)
class Shop:
    """What the routes share: the variant, the token keys and the database."""

    secure: bool
    keys: Keys
    engine: Engine

    @property
    def secret(self) -> str:
        """The HS256 secret of the shop's own tokens."""
        return self.keys.secret

    def session(self) -> Iterator[Session]:
        """One session per request."""
        with Session(self.engine) as session:
            yield session


def create_app(
    variant: Literal["vulnerable", "secure"],
    *,
    database_url: str,
    secret: str,
    rate_limit: tuple[int, float] = (1000, 10.0),
) -> FastAPI:
    """Build the shop's ``variant`` on the SQLite database at ``database_url``.

    Both twins carry the same hardening (security headers, strict CORS, rate limiting); the
    vulnerable one differs only where a route says ``# FLAW:``.
    """
    if variant not in ("vulnerable", "secure"):
        raise ValueError(f"variant must be 'vulnerable' or 'secure', not {variant!r}")
    from lab.shop import (
        routes_account,
        routes_alerts,
        routes_cart,
        routes_catalogue,
        routes_mobile,
        routes_offers,
        routes_reviews,
        routes_wishlists,
    )

    secure = variant == "secure"
    engine = create_engine(database_url, connect_args={"check_same_thread": False})
    shop = Shop(secure=secure, keys=Keys.fresh(secret), engine=engine)
    app = FastAPI(
        title="Shop API",
        version=VERSION,
        description=(
            "A small shop: a public catalogue, reviews, carts, addresses, orders and a "
            "second-hand marketplace."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.shop = shop

    @app.get("/.well-known/jwks.json", tags=["auth"])
    def jwks() -> Any:
        """The public keys of partner tokens (RS256), as a JWK Set."""
        return shop.keys.jwks()

    app.include_router(routes_catalogue.build(shop))
    app.include_router(routes_account.build(shop))
    app.include_router(routes_cart.build(shop))
    app.include_router(routes_reviews.build(shop))
    app.include_router(routes_offers.build(shop))
    app.include_router(routes_wishlists.build(shop))
    app.include_router(routes_alerts.build(shop))
    app.include_router(routes_mobile.build(shop))
    app.add_middleware(LabHeaders, secure=True, limiter=RateLimiter(*rate_limit))
    if not secure:
        app.middleware("http")(_powered_by)  # outside LabHeaders, which drops X-Powered-By
    return app


async def _powered_by(request: Request, call_next: Any) -> Any:
    """FLAW: the framework and the runtime, with their versions, in a free-text header."""
    response = await call_next(request)
    response.headers["X-Powered-By"] = (
        f"FastAPI {fastapi.__version__} (Python {platform.python_version()})"
    )
    return response


def caller(request: Request) -> User:
    """The authenticated user (a verified lab token whose ``name`` is a shop user), or 401."""
    shop: Shop = request.app.state.shop
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidToken("no bearer token")
        claims = verify_token(shop.keys, token.strip(), secure=shop.secure)
    except InvalidToken as exc:
        raise HTTPException(401, "Not authenticated", {"WWW-Authenticate": REALM}) from exc
    with Session(shop.engine) as session:
        user = session.scalars(select(User).where(User.username == claims.get("name"))).first()
        if user is None:
            raise HTTPException(401, "Not authenticated", {"WWW-Authenticate": REALM})
        session.expunge(user)
        return user


CurrentUser = Depends(caller)

_Owned = TypeVar("_Owned", Offer, Review)


def own(db: Session, model: type[_Owned], object_id: int, user: User) -> _Owned:
    """The caller's own ``model`` row ``object_id``, or 404 (another's is never shown)."""
    found = db.get(model, object_id)
    if found is None or found.user_id != user.id:
        raise HTTPException(404, "Not found")
    return found
