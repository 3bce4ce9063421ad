"""The FastAPI app factory of the items service (``create_app``)."""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI

from lab.dynamo import client, resource
from lab.identities import WEAK_SECRET
from lab.items import routes_items, routes_misc, routes_safety, routes_token, routes_write
from lab.items.middleware import LabHeaders, RateLimiter
from lab.items.seed import table_names
from lab.items.service import Service

VERSION = "1.4.0"


def create_app(
    variant: Literal["vulnerable", "secure"],
    *,
    endpoint_url: str,
    prefix: str,
    secret: str,
    rate_limit: tuple[int, float] = (1000, 10.0),
) -> FastAPI:
    """Build the items service's ``variant`` on the tables named ``prefix`` + … at ``endpoint_url``.

    The vulnerable variant ignores ``secret`` and verifies tokens against ``WEAK_SECRET``;
    ``rate_limit`` (requests, seconds) is the secure variant's limit per client address.
    """
    if variant not in ("vulnerable", "secure"):
        raise ValueError(f"variant must be 'vulnerable' or 'secure', not {variant!r}")
    secure = variant == "secure"
    # FLAW (vulnerable): bad parameters reach DynamoDB, whose messages end up in tracebacks.
    dynamodb = resource(endpoint_url, parameter_validation=secure)
    names = table_names(prefix)
    svc = Service(
        secure=secure,
        secret=secret if secure else WEAK_SECRET,  # FLAW: a dictionary word signs the tokens
        endpoint_url=endpoint_url,
        items=dynamodb.Table(names["items"]),
        users=dynamodb.Table(names["users"]),
        webhooks=dynamodb.Table(names["webhooks"]),
        client=client(endpoint_url),
        items_table=names["items"],
        tables={name: dynamodb.Table(table) for name, table in names.items()},
    )
    app = FastAPI(
        title="Items API",
        version=VERSION,
        description="Items owned by users, with a catalogue assistant.",
        debug=not secure,  # FLAW: tracebacks in 500 responses
        docs_url=None if secure else "/docs",  # FIX: no interactive docs in production
        redoc_url=None if secure else "/redoc",
    )
    app.state.service = svc
    app.include_router(routes_items.build(svc))
    app.include_router(routes_write.build(svc))
    app.include_router(routes_misc.build(svc, version=VERSION))
    app.include_router(routes_safety.build(svc))
    app.include_router(routes_token.build(svc))
    limiter = RateLimiter(*rate_limit) if secure else None  # FLAW: no rate limiting
    app.add_middleware(LabHeaders, secure=secure, limiter=limiter)
    return app
