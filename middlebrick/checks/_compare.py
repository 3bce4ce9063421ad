"""Comparing responses: same JSON shape, same content, or a denial dressed as a success."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from middlebrick.findings import Confidence
from middlebrick.http.exchange import Exchange, Response

_DENIAL_WORDS = re.compile(
    r"unauthori[sz]ed|unauthenticated|not authenticated|authentication (?:is )?required|"
    r"login required|log ?in required|please (?:log|sign) ?in|access denied|permission denied|"
    r"forbidden|invalid (?:api[ _-]?key|token|credentials)|missing (?:api[ _-]?key|token|"
    r"credentials|authorization)|credentials were not provided|not logged in|session expired",
    re.I,
)
_LOGIN_FORM = re.compile(
    r"<input[^>]{0,200}type\s*=\s*[\"']?password|<form[^>]{0,300}(?:login|signin|sign-in)", re.I
)
_LOGIN_PATH = re.compile(r"log-?in|sign-?in|auth|sso|session", re.I)
_SMALL_BODY = 2048


def looks_like_denial(response: Response) -> bool:
    """True when a response, whatever its status, tells the caller to authenticate.

    A login page (password field or login form), a redirect that landed on a login URL, a 2xx
    whose JSON is an error envelope (``{"success": false, "error": …}``, see
    ``Response.refused_in_body``), or a small body whose text says unauthorized / access
    denied / login required.
    """
    if response.redirects and _LOGIN_PATH.search(urlsplit(response.url).path):
        return True
    if response.refused_in_body:
        return True
    head = response.text[:65536]
    if "html" in response.content_type and _LOGIN_FORM.search(head):
        return True
    return len(response.body) <= _SMALL_BODY and bool(_DENIAL_WORDS.search(head))


def is_denied(exchange: Exchange) -> bool:
    """True when the exchange got an answer that refuses the caller (401, 403 or a denial page)."""
    resp = exchange.response
    return resp is not None and (resp.status in (401, 403) or looks_like_denial(resp))


def is_empty_json(value: Any) -> bool:
    """True for ``[]``, ``{}``, and objects whose every value is an empty list/object/null."""
    if value in ([], {}, None):
        return True
    if isinstance(value, dict):
        return all(v in ([], {}, None, 0) for v in value.values())
    return False


def same_shape(a: Any, b: Any, *, threshold: float = 0.6) -> bool:
    """True when two JSON values have the same structure: type, and most object keys shared.

    Lists compare by their first elements; two empty lists have the same shape.
    """
    return _similar(a, b, threshold, depth=0)


def _similar(a: Any, b: Any, threshold: float, depth: int) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        keys_a, keys_b = set(a), set(b)
        if not keys_a and not keys_b:
            return True
        if len(keys_a & keys_b) / len(keys_a | keys_b) < threshold:
            return False
        if depth >= 2:
            return True
        shared = sorted(keys_a & keys_b)[:20]
        return all(
            _similar(a[k], b[k], threshold, depth + 1)
            for k in shared
            if isinstance(a[k], dict | list) and isinstance(b[k], dict | list)
        )
    if isinstance(a, list) and isinstance(b, list):
        if not a or not b:
            return not a and not b
        return _similar(a[0], b[0], threshold, depth + 1)
    if a is None or b is None:
        return True
    return isinstance(a, type(b)) or isinstance(b, type(a))


def similar_text(a: Response, b: Response) -> bool:
    """True when two non-JSON bodies look like the same content: same media type, close size."""
    if a.content_type != b.content_type or not a.body or not b.body:
        return False
    if a.body == b.body:
        return True
    small, large = sorted((len(a.body), len(b.body)))
    return small / large >= 0.5


def same_content(base: Response, resp: Response) -> Confidence | None:
    """How sure it is that ``resp`` carries ``base``'s content; None when it does not.

    Identical non-empty bodies, or JSON of the same (non-empty) shape, confirm; alike text is
    firm. An error envelope in a 2xx (``Response.refused_in_body``) is never content.
    """
    if resp.refused_in_body or base.refused_in_body:
        return None
    if resp.body == base.body and resp.body:
        return Confidence.confirmed
    if base.is_json and resp.is_json:
        if same_shape(base.json, resp.json) and not is_empty_json(resp.json):
            return Confidence.confirmed
        return None
    return Confidence.firm if similar_text(base, resp) else None
