"""What every tool call reaches through the SDK's lifespan context: the back-end and the wait."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

from middlebrick.mcp.views import Backend

__all__ = ["BackendFactory", "ServerState", "ToolContext", "backend_of", "state_of"]

ToolContext = Context[Any, Any]  # the annotation by which the SDK hands a tool its context
BackendFactory = Callable[[ToolContext], Backend]
"""The back-end of one tool call: the service picks it from the call's HTTP request (its key)."""


@dataclass(frozen=True)
class ServerState:
    """The back-end scans go to (one for every call, or one per call), and how long
    ``scan_api`` waits for a scan to finish."""

    backend: Backend | BackendFactory
    wait: float


def state_of(ctx: ToolContext) -> ServerState:
    """The state of the server handling this tool call."""
    state = ctx.request_context.lifespan_context
    assert isinstance(state, ServerState)
    return state


def backend_of(ctx: ToolContext) -> Backend:
    """The back-end this tool call's scans go to."""
    backend = state_of(ctx).backend
    return backend(ctx) if callable(backend) else backend
