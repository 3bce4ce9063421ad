"""Pagination cursors: found in answers, decoded, judged signed or not, rewritten, re-encoded.

A cursor is the value of a response field named like one (``next_cursor``, ``nextToken``,
``LastEvaluatedKey``, ``continuation_token``…), or a query value of the ``next`` link (a
``next`` URL field or a ``Link: <…>; rel="next"`` header). It is *decoded* when it is
base64/base64url JSON, plain JSON, or a JSON object as it stands (a raw ``LastEvaluatedKey``).
It is *signed* when it has a separate signature segment (``payload.signature``, a JWT) or a
signature-like field (``sig``, ``mac``, ``hmac``…) inside.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urljoin, urlsplit

from middlebrick.checks._owners import is_id_key, plain, scalar
from middlebrick.http.exchange import Response

Encoding = Literal["base64", "base64url", "json", "object"]

_FIELD = re.compile(
    r"(?i)^(?:next_?cursor|cursor|next_?(?:page_?)?token|page_?token|continuation_?token|"
    r"next_?key|last_?evaluated_?key|exclusive_?start_?key|start_?key|after|next_?after)$"
)
_LINK_FIELD = re.compile(r"(?i)^(?:next|next_?url|next_?link|next_?page(?:_?url)?)$")
_PARAM = re.compile(
    r"(?i)^(?:cursor|page_?token|next_?token|continuation_?token|token|after|starting_?after|"
    r"exclusive_?start_?key|start_?key|last_?key|next_?cursor|next)$"
)
_SIGNATURE_KEYS = re.compile(r"(?i)^(?:sig|signature|mac|hmac|hash|digest|checksum)$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{8,}={0,2}$")
_LINK_HEADER = re.compile(r'<([^>]+)>\s*;[^,]*rel="?next"?', re.I)
_KEY_WRAPPERS = re.compile(
    r"(?i)^(?:k|key|keys|exclusive_?start_?key|last_?evaluated_?key|start_?key|position|pos)$"
)
_MAX_LENGTH = 4096


@dataclass(frozen=True)
class Cursor:
    """One cursor of an answer: where it was, how it is encoded, and what it decodes to."""

    field: str  # the response field (or "next link") it came from
    raw: str | None  # the text sent back; None when the field held a JSON object
    payload: dict[str, Any] | None  # the decoded JSON object; None when it did not decode
    encoding: Encoding | None
    padded: bool  # base64 text ended in "=" padding
    signed: bool
    param: str | None  # the query parameter the next link sends it in, when known

    @property
    def key(self) -> dict[str, str]:
        """The key attributes the cursor carries (id-like fields with plain values)."""
        if self.payload is None:
            return {}
        inner = _key_part(self.payload)
        found = {}
        for name, value in inner.items():
            text = scalar(value)
            if text is not None and (is_id_key(name) or name.lower() in _OWNERISH):
                found[name] = text
        return found

    @property
    def unsigned_key(self) -> bool:
        """True when the cursor is a readable key with no signature: the client may rewrite it."""
        return self.payload is not None and not self.signed and bool(self.key)

    def rewritten(self, old: str, new: str) -> str | None:
        """The cursor with every value ``old`` replaced by ``new``, encoded as it came."""
        if self.payload is None or self.encoding is None:
            return None
        data = json.dumps(_replace(self.payload, old, new))
        if self.encoding == "json" or self.encoding == "object":
            return data
        encoder = base64.urlsafe_b64encode if self.encoding == "base64url" else base64.b64encode
        text = encoder(data.encode()).decode("ascii")
        return text if self.padded else text.rstrip("=")


_OWNERISH = frozenset({"owner", "user", "tenant", "account"})


def cursors(response: Response) -> list[Cursor]:
    """The cursors of an answer, at most one per field, in document order."""
    found: list[Cursor] = []
    body = response.json
    for name, value in _fields(body, depth=0):
        if _FIELD.match(name) and isinstance(value, str | dict):
            found.append(_cursor(name, value, None))
        elif _LINK_FIELD.match(name) and isinstance(value, str):
            if value.startswith(("http://", "https://", "/", "?")):
                found += _from_link(name, value, response.url)
            else:
                found.append(_cursor(name, value, None))
    for header in response.headers.get_all("link"):
        for match in _LINK_HEADER.finditer(header):
            found += _from_link("Link: rel=next", match.group(1), response.url)
    return found[:4]


def param_for(cursor: Cursor, declared: list[str]) -> str:
    """The query parameter that sends ``cursor`` back: the link's, a declared one, or a guess."""
    if cursor.param is not None:
        return cursor.param
    field = cursor.field
    bare = re.sub(r"(?i)^next_?", "", field)
    for wanted in (field, bare):
        for name in declared:
            if name.lower().replace("_", "") == wanted.lower().replace("_", ""):
                return name
    cursorish = [name for name in declared if _PARAM.match(name)]
    if cursorish:
        return cursorish[0]
    return bare[:1].lower() + bare[1:] if bare else "cursor"


def _fields(body: Any, depth: int) -> Iterator[tuple[str, Any]]:
    if isinstance(body, dict) and depth <= 2:
        for key, value in body.items():
            yield str(key), value
            if isinstance(value, dict) and not _FIELD.match(str(key)):
                yield from _fields(value, depth + 1)


def _from_link(name: str, link: str, base: str) -> list[Cursor]:
    query = parse_qsl(urlsplit(urljoin(base, link)).query, keep_blank_values=True)
    return [
        _cursor(name, value, key)
        for key, value in query
        if _PARAM.match(key) or _decode(value)[0] is not None
    ][:1]


def _cursor(field: str, value: str | dict[str, Any], param: str | None) -> Cursor:
    if isinstance(value, dict):
        return Cursor(field, None, value, "object", False, _has_signature(value), param)
    payload, encoding, signed = _decode(value)
    signed = signed or (payload is not None and _has_signature(payload))
    padded = value.endswith("=") or len(value) % 4 == 0  # unpadded only when provably so
    return Cursor(field, value, payload, encoding, padded, signed, param)


def _decode(text: str) -> tuple[dict[str, Any] | None, Encoding | None, bool]:
    """(payload, encoding, signed) of a cursor's text."""
    text = text.strip()
    if not text or len(text) > _MAX_LENGTH:
        return None, None, False
    if text.startswith("{"):
        return _json_object(text.encode()), "json", False
    parts = text.split(".")
    if len(parts) > 1:  # payload.signature, or a JWT: signed, whatever the signature is worth
        decoded = _json_object(_unbase64(parts[0]) or b"")
        return decoded, _alphabet(parts[0]), True
    raw = _unbase64(text)
    payload = _json_object(raw) if raw is not None else None
    return payload, _alphabet(text) if payload is not None else None, False


def _alphabet(text: str) -> Encoding:
    return "base64url" if "-" in text or "_" in text else "base64"


def _unbase64(text: str) -> bytes | None:
    if not _BASE64.match(text):
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _json_object(data: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _has_signature(payload: dict[str, Any]) -> bool:
    return any(_SIGNATURE_KEYS.match(str(key)) for key in payload)


def _key_part(payload: dict[str, Any]) -> dict[str, Any]:
    """The key inside a cursor: ``{"ExclusiveStartKey": {…}}`` and alike opened, values plain."""
    inner: Any = payload
    for _ in range(2):
        nested = [
            v for k, v in inner.items() if _KEY_WRAPPERS.match(str(k)) and isinstance(v, dict)
        ]
        if len(nested) != 1:
            break
        inner = nested[0]
    return {str(k): plain(v) for k, v in inner.items()}


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    if isinstance(value, str) and value == old:
        return new
    return value
