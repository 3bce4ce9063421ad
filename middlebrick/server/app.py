"""The FastAPI application: the store opened and migrated, the workers, the API, the dashboard.

``create_app(settings)`` wires one ``Service`` into the app's state on start-up (the lifespan):
the workers (in-process pool or Celery), the reaper, the webhook outbox, the scheduler of
monitors (in-process; with a broker, Celery beat schedules) and the MCP endpoint's session
manager. On shut-down it stops them, handing running scans back to the queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response

from middlebrick import __version__
from middlebrick.jobs.monitors import MonitorRunner, Scheduler
from middlebrick.jobs.notify import InProcessOutbox, Outbox, scan_ended
from middlebrick.jobs.policy import TargetPolicy
from middlebrick.jobs.pool import InProcessPool, Reaper
from middlebrick.jobs.runner import Dispatcher
from middlebrick.server import dashboard, monitoring_api, monitoring_pages, problems
from middlebrick.server.api import router
from middlebrick.server.auth import RateLimiter
from middlebrick.server.mcp_service import mount_mcp
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
        sealer = Sealer(settings.secret_key, required=settings.broker is not None)
        pool: InProcessPool | None = None
        local: InProcessOutbox | None = None
        dispatcher: Dispatcher
        outbox: Outbox
        if settings.broker is None:
            outbox = local = InProcessOutbox(repo, sealer, allow_private=settings.allow_private)
            pool = InProcessPool(
                repo,
                sealer,
                workers=settings.workers,
                settings=settings.jobs,
                on_end=lambda scan_id: scan_ended(repo, outbox, scan_id),
            )
            dispatcher = pool
        else:
            from middlebrick.jobs.celery_app import CeleryDispatcher, CeleryOutbox, make_celery

            celery = make_celery(settings.broker, database_url=url)
            dispatcher, outbox = CeleryDispatcher(celery), CeleryOutbox(celery)
        reaper = Reaper(
            repo,
            dispatcher,
            settings=settings.jobs,
            every=settings.reap_every,
            on_end=lambda scan_id: scan_ended(repo, outbox, scan_id),
        )
        policy = TargetPolicy(allow_private=settings.allow_private)
        runner = MonitorRunner(repo, dispatcher, outbox, policy)
        scheduler = Scheduler(repo, runner, every=settings.schedule_every)
        app.state.service = Service(
            repo, sealer, dispatcher, settings, RateLimiter(), policy, runner, outbox
        )
        if local is not None:
            local.start()
        if pool is not None:
            pool.start()
            scheduler.start()  # with a broker, Celery beat runs the same passes
        reaper.start()
        try:
            async with mcp.session_manager.run():
                yield
        finally:
            scheduler.stop()
            reaper.stop()
            if pool is not None:
                pool.stop()
            if local is not None:
                local.stop()
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
    app.include_router(monitoring_api.router)
    app.include_router(dashboard.router)
    app.include_router(monitoring_pages.router)
    dashboard.mount_static(app, _STATIC)
    mcp = mount_mcp(app)

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
