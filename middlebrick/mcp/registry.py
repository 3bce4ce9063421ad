"""The one registry of MCP tools, filled by the ``@tool`` decorator at import time.

A tool is an async function whose parameters are what the assistant passes (their annotations
become the tool's input schema) plus one ``ctx: Context`` the SDK fills; its docstring is the
description the assistant reads. The decorator turns middlebrick's own errors into tool errors,
whose one-sentence message the assistant sees.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from middlebrick.errors import MiddlebrickError

__all__ = ["TOOLS", "ToolSpec", "tool"]

ToolFunc = Callable[..., Awaitable[str]]
F = TypeVar("F", bound=ToolFunc)


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool: its function and what it declares about itself."""

    name: str
    title: str
    read_only: bool  # reads only; False for a tool that starts scans
    func: ToolFunc
    doc: str


TOOLS: dict[str, ToolSpec] = {}


def tool(*, title: str, read_only: bool = True) -> Callable[[F], F]:
    """Register the decorated async function as the MCP tool of the same name."""

    def register(func: F) -> F:
        name = func.__name__
        if name in TOOLS:
            raise RuntimeError(f"MCP tool {name!r} is registered twice")
        checked: object = func  # iscoroutinefunction would narrow ``func`` itself
        if not inspect.iscoroutinefunction(checked):
            raise TypeError(f"MCP tool {name!r} must be an async function")
        doc = inspect.getdoc(func)
        if not doc:
            raise TypeError(f"MCP tool {name!r} needs a docstring: the assistant reads it")

        @functools.wraps(func)
        async def call(*args: Any, **kwargs: Any) -> str:
            try:
                return await func(*args, **kwargs)
            except MiddlebrickError as exc:
                raise ToolError(str(exc)) from None

        TOOLS[name] = ToolSpec(name=name, title=title, read_only=read_only, func=call, doc=doc)
        return func

    return register
