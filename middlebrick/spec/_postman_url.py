"""A Postman request URL (text or object) split into host, server, path template and query.

Variables are resolved; ``:name`` segments and whole-segment ``{{name}}`` variables become
path parameters with the value the collection gives as their example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from middlebrick.spec._postman_parts import (
    VARIABLE,
    Variables,
    param_name,
    query_pairs,
    text,
    unresolved,
)

__all__ = ["Url", "read_url"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{0,20}://")
_SEGMENT_SAFE = "!$&'()*+,;=:@-._~{}%"  # kept as written in a literal segment (RFC 3986 pchar)
_WHOLE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def read_url(raw: Any, variables: Variables) -> Url | None:
    """The URL of a request (text or object), or ``None`` when it has none."""
    return Url.read(raw, variables)


@dataclass
class Url:
    """A request URL split the way the scanner needs it."""

    host: str
    server: str
    segments: list[str]
    parameters: list[str]
    examples: dict[str, str]
    query: list[tuple[str, str, bool]]

    @classmethod
    def read(cls, raw: Any, variables: Variables) -> Url | None:
        """The URL of a request (text or object), or ``None`` when it has none."""
        if isinstance(raw, str):
            raw = {"raw": raw}
        if not isinstance(raw, dict):
            return None
        raw_url = text(raw.get("raw"))[:8192]
        host, path, protocol = _parts(raw, raw_url)
        if host is None and not path:
            return None
        host_text = _without_userinfo(variables.resolve(host or ""))
        path_vars = {
            text(v.get("key", v.get("id"))): variables.resolve(text(v.get("value")))
            for v in raw.get("variable") or []
            if isinstance(v, dict)
        }
        url = cls(host_text, _server(host_text, protocol, text(raw.get("port"))), [], [], {}, [])
        for segment in path:
            url._segment(segment, variables, path_vars)
        url.query = query_pairs(raw.get("query"), raw_url)
        return url

    def _segment(self, segment: str, variables: Variables, path_vars: dict[str, str]) -> None:
        whole = _WHOLE.fullmatch(segment)
        if segment.startswith(":") and len(segment) > 1:
            name = param_name(segment[1:])
            example = path_vars.get(segment[1:], "")
            self._parameter(name, "" if unresolved(example) else example)
        elif whole is not None:
            value = variables.resolve(segment)
            self._parameter(param_name(whole.group(1)), "" if unresolved(value) else value)
        else:
            value = quote(variables.resolve(segment), safe=_SEGMENT_SAFE)
            self.parameters.extend(param_name(name) for name in unresolved(value))
            self.segments.append(VARIABLE.sub(lambda m: "{" + param_name(m.group(1)) + "}", value))

    def _parameter(self, name: str, example: str) -> None:
        while name in self.parameters:
            name += "_"
        self.parameters.append(name)
        if example:
            self.examples[name] = example
        self.segments.append("{" + name + "}")


def _parts(raw: dict[str, Any], raw_url: str) -> tuple[str | None, list[str], str]:
    """(host, path segments, protocol) from the URL object's fields, else its raw text."""
    protocol = text(raw.get("protocol"))
    host_field, path_field = raw.get("host"), raw.get("path")
    if host_field is not None or path_field is not None:
        if isinstance(host_field, list):
            host = ".".join(text(part) for part in host_field[:50])
        else:
            host = text(host_field)
        if isinstance(path_field, list):
            parts = [
                text(p.get("value")) if isinstance(p, dict) else text(p) for p in path_field[:200]
            ]
        else:
            parts = text(path_field).split("/")
        return host, _clean(parts), protocol
    rest = raw_url.partition("#")[0].partition("?")[0].strip()
    if not rest:
        return None, [], protocol
    if _SCHEME.match(rest):
        protocol, _, rest = rest.partition("://")
    if rest.startswith("/"):
        return "", _clean(rest.split("/")), protocol
    host, _, path = rest.partition("/")
    return host, _clean(path.split("/")), protocol


def _clean(parts: list[str]) -> list[str]:
    """Segments without empty ones, except a trailing slash kept as a last empty segment."""
    kept = [part.strip() for part in parts if part.strip()]
    if parts and len(parts) > 1 and not parts[-1].strip() and kept:
        kept.append("")
    return kept


def _without_userinfo(host: str) -> str:
    """``host`` without ``user:password@`` (credentials are never kept, nor shown in notes)."""
    scheme, sep, rest = host.rpartition("://")
    authority, slash, path = rest.partition("/")
    return scheme + sep + authority.rpartition("@")[2] + slash + path


def _server(host: str, protocol: str, port: str) -> str:
    """The base URL a host stands for: ``""`` when unknown (a variable without a value)."""
    if not host or unresolved(host):
        return ""
    if "://" in host:
        return host.rstrip("/")
    netloc = host + (f":{port}" if port and ":" not in host else "")
    return f"{protocol or 'http'}://{netloc}".rstrip("/")
