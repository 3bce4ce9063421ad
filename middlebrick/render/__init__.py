"""Renderers: one module per output format, registered with ``@renderer`` or ``@binary_renderer``.

Every module of this package whose name does not start with ``_`` is imported on first use and
registers its format; nothing lists the formats by hand. A text renderer takes a ``Report`` and
``color`` and returns the whole output as a string; a binary renderer (PDF) takes a ``Report``
and returns bytes.

Front-ends call:

- ``render(report, fmt, color=...)`` for text to print (a binary format is a ``UsageError``),
- ``render_bytes(report, fmt)`` for a file: any format, text ones encoded as UTF-8,
- ``is_binary(fmt)`` to refuse a binary format on a terminal before scanning.
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

__all__ = [
    "BinaryRenderer",
    "Renderer",
    "binary_renderer",
    "formats",
    "is_binary",
    "render",
    "render_bytes",
    "renderer",
]


class Renderer(Protocol):
    """Turns a report into the full text of one output format."""

    def __call__(self, report: Report, *, color: bool) -> str: ...


class BinaryRenderer(Protocol):
    """Turns a report into the bytes of one binary output format (a file, never a terminal)."""

    def __call__(self, report: Report) -> bytes: ...


_TEXT: dict[str, Renderer] = {}
_BINARY: dict[str, BinaryRenderer] = {}
_loaded = False


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register the decorated function as the text renderer of format ``name``."""

    def register(func: Renderer) -> Renderer:
        _claim(name)
        _TEXT[name] = func
        return func

    return register


def binary_renderer(name: str) -> Callable[[BinaryRenderer], BinaryRenderer]:
    """Register the decorated function as the binary renderer of format ``name``."""

    def register(func: BinaryRenderer) -> BinaryRenderer:
        _claim(name)
        _BINARY[name] = func
        return func

    return register


def formats() -> tuple[str, ...]:
    """The names of every registered format, text and binary, sorted."""
    _load_all()
    return tuple(sorted({*_TEXT, *_BINARY}))


def is_binary(fmt: str) -> bool:
    """Whether ``fmt`` renders bytes (write it to a file); an unknown format is a ``UsageError``."""
    _load_all()
    _check_known(fmt)
    return fmt in _BINARY


def render(report: Report, fmt: str, *, color: bool = False) -> str:
    """Render ``report`` as text in format ``fmt``; unknown or binary formats are usage errors."""
    if is_binary(fmt):
        raise UsageError(
            f"format {fmt!r} is binary and cannot be printed; write it to a file with --output"
        )
    return _TEXT[fmt](report, color=color)


def render_bytes(report: Report, fmt: str) -> bytes:
    """Render ``report`` in any format as the bytes of a file; text formats are UTF-8 encoded."""
    if is_binary(fmt):
        return _BINARY[fmt](report)
    return _TEXT[fmt](report, color=False).encode("utf-8")


def _claim(name: str) -> None:
    if name in _TEXT or name in _BINARY:
        raise RuntimeError(f"renderer {name!r} is registered twice")


def _check_known(fmt: str) -> None:
    if fmt in _TEXT or fmt in _BINARY:
        return
    known = formats()
    hint = difflib.get_close_matches(fmt, known, n=1)
    maybe = f" Did you mean {hint[0]!r}?" if hint else ""
    raise UsageError(f"unknown output format {fmt!r}; expected one of: {', '.join(known)}.{maybe}")


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True
