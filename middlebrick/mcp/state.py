"""What every tool call reaches through the SDK's lifespan context: the back-end and the wait."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

from middlebrick.mcp.views import Backend

__all__ = ["ServerState", "ToolContext", "state_of"]

ToolContext = Context[Any, Any]  # the annotation by which the SDK hands a tool its context


@dataclass(frozen=True)
class ServerState:
    """The back-end scans go to, and how long ``scan_api`` waits for one to finish."""

    backend: Backend
    wait: float


def state_of(ctx: ToolContext) -> ServerState:
    """The state of the server handling this tool call."""
    state = ctx.request_context.lifespan_context
    assert isinstance(state, ServerState)
    return state
