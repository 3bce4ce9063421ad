"""The parts of a Postman request: variables, URLs, headers, bodies and auth, read leniently.

``postman`` walks the collection; this module turns one request's pieces into the scanner's
model. Every reader bounds what it reads (variable chains, text lengths, nesting) and returns
something usable, or nothing, on malformed input: it never raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from middlebrick.spec.model import SecurityScheme
from middlebrick.spec.values import value_for_schema

VARIABLE = re.compile(r"\{\{\s*([^{}]{1,200}?)\s*\}\}")
_MAX_TEXT = 8192  # a resolved URL, header or variable value is cut here
_MAX_CHAIN = 16  # variables referring to variables, followed this deep
_MAX_BODY = 256 * 1024  # raw bodies longer than this are not parsed for a schema
_MAX_SCHEMA_DEPTH = 24
_MAX_PROPERTIES = 200
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


# --- bodies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Body:
    """A request body: media type, schema inferred from the example, and the example."""

    content_type: str
    schema: Mapping[str, Any]
    example: Any = None


def read_body(raw: Any, content_type: str | None, variables: Variables) -> Body | None:
    """The body of a request (raw JSON or text, urlencoded, formdata, GraphQL), if it has one."""
    if not isinstance(raw, dict) or raw.get("disabled") is True:
        return None
    mode = text(raw.get("mode"))
    if mode == "raw":
        return _raw_body(raw, content_type, variables)
    if mode in ("urlencoded", "formdata"):
        form = _form(raw.get(mode), variables)
        if not form:
            return None
        media = "application/x-www-form-urlencoded" if mode == "urlencoded" else None
        media = media or "multipart/form-data"
        properties = {
            key: ({"type": "string", "format": "binary"} if file else {"type": "string"})
            for key, _, file in form
        }
        example = {key: value for key, value, file in form if not file}
        return Body(media, {"type": "object", "properties": properties}, example)
    if mode == "graphql" and isinstance(raw.get("graphql"), dict):
        query = text(raw["graphql"].get("query"))
        example = {"query": variables.resolve(query)} if query else {}
        return Body(content_type or "application/json", infer_schema(example), example)
    if mode == "file":
        return Body(content_type or "application/octet-stream", {"type": "string"}, None)
    return None


def _raw_body(raw: dict[str, Any], content_type: str | None, variables: Variables) -> Body | None:
    body = raw.get("raw")
    if not isinstance(body, str) or not body.strip():
        return None
    options = raw.get("options")
    language = ""
    if isinstance(options, dict) and isinstance(options.get("raw"), dict):
        language = text(options["raw"].get("language")).lower()
    media = content_type or _LANGUAGES.get(language)
    if media is None and body.lstrip()[:1] in ("{", "["):
        media = "application/json"
    media = media or "text/plain"
    if "json" not in media.lower() or len(body) > _MAX_BODY:
        return Body(media, {"type": "string"}, None)
    example = _json_example(body, variables)
    if example is None:
        return Body(media, {}, None)
    return Body(media, infer_schema(example), example)


_LANGUAGES = {
    "json": "application/json",
    "xml": "application/xml",
    "html": "text/html",
    "text": "text/plain",
    "javascript": "application/javascript",
}


def _json_example(body: str, variables: Variables) -> Any:
    """The JSON of a raw body, its strings' variables resolved; a bare ``{{x}}`` (outside a
    string) is read as a string, and one left unresolved gets a value for its property."""
    try:
        document = json.loads(_quote_bare_variables(body))
    except (ValueError, RecursionError):
        return None
    return _fill(document, "", 0, variables)


def _quote_bare_variables(body: str) -> str:
    """``body`` with each ``{{x}}`` outside a JSON string turned into the string ``"{{x}}"``."""
    if "{{" not in body:
        return body
    out: list[str] = []
    inside = escaped = False
    index = 0
    while index < len(body):
        char = body[index]
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif body.startswith("{{", index):
            match = VARIABLE.match(body, index)
            if match is not None:
                out.append(json.dumps(match.group(0)))
                index = match.end()
                continue
        out.append(char)
        index += 1
    return "".join(out)


def _fill(value: Any, name: str, depth: int, variables: Variables) -> Any:
    if depth > _MAX_SCHEMA_DEPTH:
        return None
    if isinstance(value, str) and name and is_credential(name):
        return value_for_schema({"type": "string"}, name=name)  # the collection's is not sent
    if isinstance(value, str) and "{{" in value:
        resolved = variables.resolve(value)
        if not unresolved(resolved):
            return resolved
        if VARIABLE.fullmatch(resolved):
            return value_for_schema({"type": "string"}, name=name or unresolved(resolved)[0])
        return resolved
    if isinstance(value, dict):
        return {
            key: _fill(item, key, depth + 1, variables)
            for key, item in list(value.items())[:_MAX_PROPERTIES]
        }
    if isinstance(value, list):
        return [_fill(item, name, depth + 1, variables) for item in value[:_MAX_PROPERTIES]]
    return value


def infer_schema(value: Any, depth: int = 0) -> dict[str, Any]:
    """A JSON schema from an example: the types of its values (``null`` says nothing)."""
    if depth > _MAX_SCHEMA_DEPTH or value is None:
        return {}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": infer_schema(value[0], depth + 1) if value else {}}
    if isinstance(value, dict):
        properties = {
            str(key): infer_schema(item, depth + 1)
            for key, item in list(value.items())[:_MAX_PROPERTIES]
        }
        return {"type": "object", "properties": properties}
    return {}


def _form(raw: Any, variables: Variables) -> list[tuple[str, str, bool]]:
    """(key, example value, is a file) of the enabled fields of a form body."""
    fields: list[tuple[str, str, bool]] = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict) or entry.get("disabled") is True:
            continue
        key = entry.get("key")
        if isinstance(key, str) and key:
            value = variables.resolve(text(entry.get("value")))
            value = "" if unresolved(value) or is_credential(key) else value
            fields.append((key[:200], value, entry.get("type") == "file"))
    return fields


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
