"""The parts of a Postman request: variables, headers, auth and query, read leniently.

``postman`` walks the collection; this module (with ``_postman_url`` for URLs and
``_postman_body`` for bodies) turns one request's pieces into the scanner's model. Every reader
bounds what it reads (variable chains, text lengths, nesting) and returns something usable, or
nothing, on malformed input: it never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from middlebrick.spec.model import SecurityScheme

VARIABLE = re.compile(r"\{\{\s*([^{}]{1,200}?)\s*\}\}")
_MAX_TEXT = 8192  # a resolved URL, header or variable value is cut here
_MAX_CHAIN = 16  # variables referring to variables, followed this deep
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
# Request headers that describe the transport, not the API (RFC 9110 §§ 10.1, 12.5; RFC 9111
# § 5.2; Postman's own `Postman-Token`): never parameters.
_TRANSPORT_HEADERS = frozenset(
    {
        "accept",
        "accept-charset",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "connection",
        "content-length",
        "content-type",
        "host",
        "origin",
        "postman-token",
        "pragma",
        "referer",
        "user-agent",
    }
)
# Header names that carry credentials (RFC 9110 § 11.6.2 `Authorization`, RFC 6265 `Cookie`,
# and the `X-API-Key` / `X-Auth-Token` / `X-Access-Token` / `X-Session-…` / `…-Secret` names
# API gateways and frameworks document): their values are never read.
_CREDENTIAL_NAME = re.compile(
    r"(?i)^(?:authorization|proxy-authorization|cookie)$|api[-_]?key|auth[-_]?token|"
    r"access[-_]?token|session|secret|password|credential|signature"
)


# Query names that carry a key by themselves: `key` (Google APIs), `token`, `sig`/`signature`
# (signed URLs), `access_token` (RFC 6750 § 2.3).
_QUERY_CREDENTIALS = frozenset({"key", "token", "sig", "access_token"})


@dataclass
class Variables:
    """``{{name}}`` values of the collection, a folder or an item (innermost wins)."""

    values: dict[str, str] = field(default_factory=dict)
    loops: set[str] = field(default_factory=set)  # names that refer back to themselves

    def child(self, raw: Any) -> Variables:
        """These variables with the ``variable`` list ``raw`` laid over them."""
        own = read_variables(raw)
        if not own:
            return self
        return Variables({**self.values, **own}, self.loops)

    def resolve(self, text: str) -> str:
        """``text`` with every known variable replaced; unknown or looping ones stay."""
        return self._resolve(text[:_MAX_TEXT], ())

    def _resolve(self, text: str, chain: tuple[str, ...]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.values:
                return match.group(0)
            if name in chain or len(chain) >= _MAX_CHAIN:
                self.loops.add(name)
                return match.group(0)
            return self._resolve(self.values[name], (*chain, name))

        if "{{" not in text:
            return text
        return VARIABLE.sub(value, text)[:_MAX_TEXT]


def read_variables(raw: Any) -> dict[str, str]:
    """A Postman ``variable`` list (``key``, or v2.0's ``id``) as a mapping; disabled ones out."""
    found: dict[str, str] = {}
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict) or entry.get("disabled") is True:
            continue
        name = entry.get("key", entry.get("id"))
        value = entry.get("value")
        if isinstance(name, str) and name and scalar(value):
            found[name] = text(value)
    return found


def unresolved(value: str) -> list[str]:
    """The names of the variables still in ``value``."""
    return [match.group(1) for match in VARIABLE.finditer(value)]


def param_name(raw: str) -> str:
    """A parameter name from a variable or segment name (``:id``, ``{{user id}}``)."""
    return _NAME.sub("_", raw.strip().lstrip(":$")).strip("_")[:100] or "param"


# --- auth ----------------------------------------------------------------------------------


def auth_scheme(raw: Any) -> SecurityScheme | bool | None:
    """A Postman ``auth`` object as a scheme; ``False`` for ``noauth``; ``None`` to inherit.

    Both shapes are read: v2.1's ``[{"key": …, "value": …}]`` and v2.0's ``{key: value}``. Only
    the names of keys and headers are kept, never a credential's value.
    """
    if not isinstance(raw, dict):
        return None
    kind = text(raw.get("type")).strip().lower()
    if kind in ("", "inherit"):
        return None
    if kind == "noauth":
        return False
    attributes = _attributes(raw.get(kind))
    if kind in ("bearer", "basic", "digest"):
        return SecurityScheme(name=kind, type="http", scheme=kind)
    if kind == "apikey":
        where = text(attributes.get("in")).lower() or "header"
        header = text(attributes.get("key")) or "X-API-Key"
        location = "query" if where == "query" else "header"
        return SecurityScheme(
            name=f"apikey {header}", type="apiKey", location=location, param_name=header
        )
    if kind in ("oauth2", "oauth1"):
        return SecurityScheme(name=kind, type="oauth2" if kind == "oauth2" else "http", scheme=kind)
    return SecurityScheme(name=kind, type="http", scheme=kind)  # awsv4, hawk, ntlm, edgegrid …


def _attributes(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    found: dict[str, Any] = {}
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            found[entry["key"]] = entry.get("value")
    return found


# --- headers -------------------------------------------------------------------------------


@dataclass
class Headers:
    """A request's headers as the model needs them."""

    content_type: str | None = None
    schemes: list[SecurityScheme] = field(default_factory=list)  # credentials it carries
    parameters: list[tuple[str, str | None]] = field(default_factory=list)  # name, example


def read_headers(raw: Any, variables: Variables) -> Headers:
    """Content type, credential headers (as schemes, values dropped) and API header params."""
    found = Headers()
    for name, value in _header_pairs(raw):
        lower = name.lower()
        if lower == "content-type":
            resolved = variables.resolve(value)
            found.content_type = None if unresolved(resolved) else resolved.strip() or None
        elif lower == "authorization":
            kind = value.strip().split(" ", 1)[0].lower()
            if kind in ("bearer", "basic", "digest"):
                found.schemes.append(SecurityScheme(name=kind, type="http", scheme=kind))
            else:
                found.schemes.append(_header_key("Authorization"))
        elif lower == "cookie":
            found.schemes.append(
                SecurityScheme(name="cookie", type="apiKey", location="cookie", param_name="")
            )
        elif _CREDENTIAL_NAME.search(lower):
            found.schemes.append(_header_key(name))
        elif lower not in _TRANSPORT_HEADERS:
            resolved = variables.resolve(value)
            example = None if unresolved(resolved) or not resolved else resolved
            found.parameters.append((name, example))
    return found


def is_credential(name: str, *, query: bool = False) -> bool:
    """True for a header, query or body field name that carries a credential."""
    lower = name.strip().lower()
    return bool(_CREDENTIAL_NAME.search(lower)) or (query and lower in _QUERY_CREDENTIALS)


def query_key(name: str) -> SecurityScheme:
    """The scheme of a credential sent in the query string (``?api_key=…``)."""
    return SecurityScheme(name=f"apikey {name}", type="apiKey", location="query", param_name=name)


def _header_key(name: str) -> SecurityScheme:
    return SecurityScheme(name=f"apikey {name}", type="apiKey", location="header", param_name=name)


def _header_pairs(raw: Any) -> list[tuple[str, str]]:
    """(name, value) of the enabled headers: a list of objects, or v2's ``"K: v\\n…"`` text."""
    pairs: list[tuple[str, str]] = []
    if isinstance(raw, str):
        for line in raw[:_MAX_TEXT].splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip():
                pairs.append((name.strip(), value.strip()))
        return pairs
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict) and entry.get("disabled") is not True:
            key = entry.get("key")
            if isinstance(key, str) and key.strip() and scalar(entry.get("value")):
                pairs.append((key.strip()[:200], text(entry.get("value"))))
    return pairs


# --- queries -------------------------------------------------------------------------------


def query_pairs(raw: Any, raw_url: str) -> list[tuple[str, str, bool]]:
    """(key, value, enabled) of a URL's query: its ``query`` list, else the raw URL's query."""
    pairs: list[tuple[str, str, bool]] = []
    if isinstance(raw, list):
        for entry in raw:
            if isinstance(entry, dict) and isinstance(entry.get("key"), str) and entry["key"]:
                value = entry.get("value")
                enabled = entry.get("disabled") is not True
                pairs.append((entry["key"][:200], text(value) if scalar(value) else "", enabled))
        return pairs
    _, _, query = raw_url.partition("?")
    query = query.partition("#")[0]
    return [(k[:200], v, True) for k, v in parse_qsl(query, keep_blank_values=True) if k]


def scalar(value: Any) -> bool:
    """True for a value a variable, header or query item may hold (text, number, bool, null)."""
    return value is None or isinstance(value, str | int | float | bool)


def text(value: Any) -> str:
    """A scalar as text (``None`` as ``""``); anything else as ``""``."""
    if value is None or not scalar(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
