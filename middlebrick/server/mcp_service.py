"""The MCP server under ``serve``: the tools of ``middlebrick mcp`` over streamable HTTP at
``/mcp``, authenticated by the service's API keys and scoped to the key's organisation.

``build_server(...).streamable_http_app()`` gives the SDK's app; a gate in front of it takes
the key from ``X-API-Key`` or ``Authorization: Bearer`` exactly as the REST API does (401 as a
problem document without one, the key's rate limit counted) and leaves a back-end for the
caller in the request's state, where each tool call finds it: its scans are submitted, read
and listed in that organisation through the same ``Service`` as the API (same rules, quota and
policy). The transport is stateless (every
POST stands alone), so any process of the service can answer any call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from middlebrick.errors import UsageError
from middlebrick.mcp import build_server
from middlebrick.mcp.state import ToolContext
from middlebrick.mcp.views import ScanOrder, ScanView
from middlebrick.server.auth import Caller, api_caller
from middlebrick.server.problems import Problem, problem_response
from middlebrick.server.schemas import ScanCreate
from middlebrick.server.service import Service

__all__ = ["PATH", "ServiceBackend", "mount_mcp"]

PATH = "/mcp"
_STATE = "middlebrick_backend"
_POLL_S = 0.5
T = TypeVar("T")


class ServiceBackend:
    """The MCP back-end on the service itself, for one caller's organisation."""

    def __init__(self, svc: Service, caller: Caller) -> None:
        self.svc, self.caller = svc, caller

    async def submit(self, order: ScanOrder) -> ScanView:
        """Queue a scan as ``POST /api/v1/scans`` does (same rules, quota and policy)."""
        body = ScanCreate(
            url=order.url, spec_url=order.spec_url, context=order.context, mode=order.mode
        )
        scan = await self._call(self.svc.submit, self.caller.org_id, body, key=self.caller.key)
        return ScanView(id=scan.id, status=scan.status, target=scan.target, mode=order.mode)

    async def get(self, scan_id: str) -> ScanView:
        """The scan, with its full report once completed."""
        scan = await self._call(self.svc.scan, self.caller.org_id, scan_id)
        if scan.status == "completed":
            report = await self._call(self.svc.report, self.caller.org_id, scan_id)
            return ScanView.from_report(report, scan_id=scan.id)
        return ScanView(
            id=scan.id,
            status=scan.status,
            target=scan.target,
            progress=scan.progress,
            mode=scan.options.get("mode"),
            error=scan.reason,
        )

    async def wait(self, scan_id: str, timeout: float) -> ScanView:
        """The scan once it ended, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        view = await self.get(scan_id)
        while view.status in ("queued", "running") and time.monotonic() + _POLL_S < deadline:
            await asyncio.sleep(_POLL_S)
            view = await self.get(scan_id)
        return view

    async def list(self, limit: int, status: str | None) -> list[ScanView]:
        """The organisation's latest scans."""
        if status not in (None, "queued", "running", "completed", "failed"):
            raise UsageError(f"no scan status {status!r}")
        scans, _ = await self._call(
            self.svc.repo.scans,
            self.caller.org_id,
            status=status,
            limit=limit,
        )
        return [
            ScanView(
                id=s.id,
                status=s.status,
                target=s.target,
                score=s.score,
                grade=s.grade,
                progress=s.progress,
            )
            for s in scans
        ]

    @staticmethod
    async def _call(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except Problem as exc:  # the API's one-sentence problem, as the tool's error
            raise UsageError(exc.detail) from None


def _backend(ctx: ToolContext) -> ServiceBackend:
    """The back-end the gate left in the state of this call's HTTP request."""
    backend = getattr(getattr(ctx.request_context.request, "state", None), _STATE, None)
    if not isinstance(backend, ServiceBackend):
        raise UsageError("this MCP endpoint needs the service's API key")
    return backend


class _Gate:
    """Lets a request through to the MCP app only with a live API key of the service."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        svc: Service = request.app.state.service
        try:
            caller = await asyncio.to_thread(api_caller, request, svc.repo, svc.limiter)
        except Problem as exc:
            response = problem_response(request, exc.status, exc.detail, exc.headers)
            await response(scope, receive, send)
            return
        setattr(request.state, _STATE, ServiceBackend(svc, caller))
        await self.app(scope, receive, send)


def mount_mcp(app: FastAPI, *, wait: float = 150.0) -> Any:
    """Serve the MCP tools at ``PATH``; the returned server's ``session_manager.run()`` must
    run in the app's lifespan."""
    server = build_server(_backend, wait=wait)
    inner = server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        # API keys, not cookies, authenticate: a rebinding page cannot send one.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.router.routes.append(Route(PATH, endpoint=_Gate(inner), methods=["GET", "POST", "DELETE"]))
    return server
