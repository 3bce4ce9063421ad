"""A tiny HTML builder that escapes by default, for the HTML (and so the PDF) report.

``el("p", text, class_="x")`` escapes every plain ``str`` it is given, child or attribute value;
only ``Safe`` strings (built by ``el`` itself, by ``esc``, or static assets read by ``asset``)
go in as they are. So target-controlled text cannot become markup unless code wraps it in
``Safe`` by hand, which nothing in this package does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from importlib import resources
from typing import TypeAlias

from middlebrick.render._text import clean

__all__ = ["Child", "Safe", "asset", "el", "esc", "join"]


class Safe(str):
    """Markup made by this module: inserted as it is, never escaped again."""

    __slots__ = ()


Child: TypeAlias = "str | int | Safe | Iterable[Child] | None"

_VOID = frozenset({"br", "col", "hr", "img", "input", "link", "meta"})
_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")  # camelCase for SVG (viewBox)


def esc(text: str) -> Safe:
    """Text made safe for HTML content and quoted attributes, control characters removed."""
    return Safe(html.escape(clean(text), quote=True))


def el(tag: str, *children: Child, **attrs: str | int | bool | None) -> Safe:
    """``<tag attrs>children</tag>``; ``class_`` names ``class``, ``data_x`` names ``data-x``.

    A ``True`` attribute is written bare, ``False`` and ``None`` ones are left out.
    """
    if not _NAME.match(tag):
        raise ValueError(f"bad tag name {tag!r}")
    parts = [f"<{tag}"]
    for key, value in attrs.items():
        name = key.rstrip("_").replace("_", "-")
        if not _NAME.match(name):
            raise ValueError(f"bad attribute name {name!r}")
        if value is None or value is False:
            continue
        parts.append(f" {name}" if value is True else f' {name}="{_text(value)}"')
    parts.append(">")
    if tag in _VOID:
        if children:
            raise ValueError(f"<{tag}> cannot have children")
        return Safe("".join(parts))
    parts.append(join(children))
    parts.append(f"</{tag}>")
    return Safe("".join(parts))


def join(children: Iterable[Child], sep: str = "") -> Safe:
    """The children one after the other, each escaped unless it is ``Safe``."""
    return Safe(esc(sep).join(_text(child) for child in children if child is not None))


def asset(name: str) -> Safe:
    """A static file of ``render/templates`` (CSS, JS: ours, never the target's), verbatim."""
    path = resources.files("middlebrick.render").joinpath("templates", name)
    return Safe(path.read_text(encoding="utf-8"))


def _text(child: Child) -> str:
    if child is None:
        return ""
    if isinstance(child, Safe):
        return child
    if isinstance(child, str):
        return esc(child)
    if isinstance(child, int):
        return str(child)
    return join(child)
