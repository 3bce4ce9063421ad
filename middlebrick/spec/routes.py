"""Path templates indexed by segment, so routing a path costs its depth, not the API's size.

::

    routes = Routes(["/users/{id}", "/users/me"])
    routes.serves("/users/export")        # True: /users/{id} would route it
    routes.template("/users/7")           # "/users/{id}"

A template segment (``{name}``) takes any one segment, as a router does; a static segment only
itself. Paths are split on ``/`` after dropping a trailing one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

__all__ = ["Routes", "is_template", "segments"]

_TEMPLATE = re.compile(r"^\{[^{}/]+\}$")
_ANY = "/"  # the key of every template segment of a level (no segment holds a slash)


def segments(path: str) -> list[str]:
    """A path's segments, a trailing slash dropped (``"/a/b/"`` -> ``["", "a", "b"]``)."""
    return (path.rstrip("/") or "/").split("/")


def is_template(segment: str) -> bool:
    """True for a path template segment such as ``{item_id}``."""
    return segment.startswith("{") and bool(_TEMPLATE.match(segment))


class _Node:
    __slots__ = ("children", "template")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.template: str | None = None  # the template that ends here, if one does


class Routes:
    """A set of path templates, as a trie of their segments."""

    def __init__(self, templates: Iterable[str] = ()) -> None:
        self._root = _Node()
        for template in templates:
            self.add(template)

    def add(self, template: str) -> None:
        """Add one template (the first of several with the same shape is the one kept)."""
        node = self._root
        for segment in segments(template):
            node = node.children.setdefault(_ANY if is_template(segment) else segment, _Node())
        if node.template is None:
            node.template = template

    def frontier(self, parts: Sequence[str]) -> list[_Node]:
        """The nodes the templates reach when routing ``parts`` (a template part takes only
        template segments)."""
        nodes = [self._root]
        for part in parts:
            step = [node.children.get(part) for node in nodes if not is_template(part)]
            step += [node.children.get(_ANY) for node in nodes]
            nodes = [node for node in step if node is not None]
            if not nodes:
                break
        return nodes

    def serves(self, path: str | Sequence[str]) -> bool:
        """True when some template has ``path``'s shape, i.e. would route it."""
        return self.template(path) is not None

    def template(self, path: str | Sequence[str]) -> str | None:
        """The template that routes ``path`` (static segments preferred), else ``None``."""
        parts = segments(path) if isinstance(path, str) else path
        found = [node.template for node in self.frontier(parts) if node.template is not None]
        return found[0] if found else None

    def has_child(self, parts: Sequence[str], segment: str) -> bool:
        """True when a template routing ``parts`` goes on with ``segment`` (literally)."""
        return any(segment in node.children for node in self.frontier(parts))
