"""The FastAPI application: the store opened and migrated, the workers, the API, the dashboard.

``create_app(settings)`` wires one ``Service`` into the app's state on start-up (the lifespan)
and stops its workers on shut-down, handing running scans back to the queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response

from middlebrick import __version__
from middlebrick.jobs.pool import InProcessPool, Reaper
from middlebrick.jobs.runner import Dispatcher
from middlebrick.server import dashboard, problems
from middlebrick.server.api import router
from middlebrick.server.auth import RateLimiter
from middlebrick.server.service import Service
from middlebrick.server.settings import ServiceSettings
from middlebrick.store.database import default_database_url, open_store
from middlebrick.store.sealing import Sealer

__all__ = ["create_app"]

_STATIC = Path(__file__).resolve().parent / "static"
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    # Ignored by browsers over plain HTTP (RFC 6797 8.1); in force behind a TLS terminator.
    "Strict-Transport-Security": "max-age=31536000",
}
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The service's ASGI application."""
    settings = settings or ServiceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.database_url or default_database_url()
        repo = open_store(url)
        sealer = Sealer(required=settings.broker is not None)
        pool: InProcessPool | None = None
        dispatcher: Dispatcher
        if settings.broker is None:
            pool = InProcessPool(repo, sealer, workers=settings.workers, settings=settings.jobs)
            dispatcher = pool
        else:
            from middlebrick.jobs.celery_app import CeleryDispatcher, make_celery

            dispatcher = CeleryDispatcher(make_celery(settings.broker, database_url=url))
        reaper = Reaper(repo, dispatcher, settings=settings.jobs, every=settings.reap_every)
        app.state.service = Service(repo, sealer, dispatcher, settings, RateLimiter())
        if pool is not None:
            pool.start()
        reaper.start()
        try:
            yield
        finally:
            reaper.stop()
            if pool is not None:
                pool.stop()
            repo.close()

    app = FastAPI(
        title="middlebrick",
        version=__version__,
        description="Self-hosted API security scanner: scans, reports, diffs and targets.",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    problems.install(app)
    app.include_router(router)
    app.include_router(dashboard.router)
    dashboard.mount_static(app, _STATIC)

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", _PAGE_CSP)
        for name, value in getattr(request.state, "rate_headers", {}).items():
            response.headers[name] = value
        return response

    return app
