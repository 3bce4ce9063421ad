"""``--include`` / ``--exclude`` patterns: ``METHOD PATH-PATTERN`` or ``PATH-PATTERN``.

A path pattern is matched against an operation's path template (``/items/{item_id}``) and
against the path of a concrete URL, both as written and relative to the API's base path. In a
pattern, ``*`` matches within one path segment, ``**`` matches any number of segments, and a
``{name}`` segment matches any one segment; everything else is literal. Without a method the
pattern names every method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from middlebrick.errors import UsageError

METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE")
_PARAMETER = re.compile(r"^\{[^{}/]+\}$")


@dataclass(frozen=True)
class OperationPattern:
    """One parsed pattern: an optional method and a compiled path pattern."""

    text: str
    method: str | None
    path: re.Pattern[str]

    @classmethod
    def parse(cls, text: str, *, flag: str = "--include") -> OperationPattern:
        """Parse ``METHOD PATH-PATTERN`` or ``PATH-PATTERN``; a ``UsageError`` names the flaw."""
        parts = text.split()
        method: str | None = None
        if len(parts) == 2 and parts[0].upper() in METHODS:
            method, raw = parts[0].upper(), parts[1]
        elif len(parts) == 1:
            raw = parts[0]
        else:
            raw = ""
        if not raw.startswith("/"):
            raise UsageError(
                f"{flag} {text!r} is not METHOD PATH-PATTERN or PATH-PATTERN; write it like "
                f"{flag} 'POST /v1/chat/*' or {flag} '/admin/**' (the path starts with /)"
            )
        return cls(text, method, re.compile(_regex(raw)))

    def matches(self, method: str, path: str) -> bool:
        """True when ``method`` and ``path`` (a template or a URL path) fit the pattern."""
        if self.method is not None and method.upper() != self.method:
            return False
        return self.path.fullmatch(path.rstrip("/") or "/") is not None


def _regex(pattern: str) -> str:
    segments = pattern.rstrip("/").split("/") if pattern != "/" else [""]
    parts: list[str] = []
    for index, segment in enumerate(segments):
        if index == 0:
            continue  # the empty text before the leading slash
        if segment == "**":
            parts.append("(?:/[^/]*)*")
        elif _PARAMETER.match(segment):
            parts.append("/[^/]+")
        else:
            parts.append("/" + "[^/]*".join(re.escape(piece) for piece in segment.split("*")))
    return "".join(parts) or "/"
