"""Renderers: one module per output format, registered with ``@renderer("name")``.

Every module of this package whose name does not start with ``_`` is imported on first use and
registers its format; nothing lists the formats by hand. A renderer takes a ``Report`` and
``color`` and returns the whole output as a string.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from middlebrick.errors import UsageError

if TYPE_CHECKING:
    from middlebrick.report import Report

__all__ = ["Renderer", "formats", "render", "renderer"]


class Renderer(Protocol):
    """Turns a report into the full text of one output format."""

    def __call__(self, report: Report, *, color: bool) -> str: ...


_REGISTRY: dict[str, Renderer] = {}
_loaded = False


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register the decorated function as the renderer of format ``name``."""

    def register(func: Renderer) -> Renderer:
        if name in _REGISTRY:
            raise RuntimeError(f"renderer {name!r} is registered twice")
        _REGISTRY[name] = func
        return func

    return register


def formats() -> tuple[str, ...]:
    """The names of every registered format, sorted."""
    _load_all()
    return tuple(sorted(_REGISTRY))


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """Render ``report`` in format ``fmt``; an unknown format is a ``UsageError``."""
    _load_all()
    try:
        func = _REGISTRY[fmt]
    except KeyError:
        hint = difflib.get_close_matches(fmt, _REGISTRY, n=1)
        maybe = f" Did you mean {hint[0]!r}?" if hint else ""
        raise UsageError(
            f"unknown output format {fmt!r}; expected one of: {', '.join(formats())}.{maybe}"
        ) from None
    return func(report, color=color)


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True
