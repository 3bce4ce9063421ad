"""Requests, responses and exchanges: the values that cross the HTTP layer's boundary."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from middlebrick.findings import Evidence

ANONYMOUS = "anonymous"
"""Identity name that sends no credentials at all."""

DEFAULT_IDENTITY = "default"
"""Identity used when a request names none: the credentials the scan was given, if any."""


def decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Header fields as received, each byte one character (latin-1): lossless for any bytes.

    RFC 9110 (5.5) leaves bytes outside ASCII in a field value opaque; decoding them as UTF-8
    would fail on some and (with surrogates) break every format that writes the text later.
    Evidence shows them escaped (``evidence.escape_header``).
    """
    return Headers(tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw))


# Keys an error envelope may hold besides its error (JSend, Google JSON style, RFC 9457 problem
# details, the `{"success": false, "error": …}` / `{"ok": false, …}` shapes of Express, Flask
# and Slack-style APIs): a body with nothing else carries no data.
_ENVELOPE_KEYS = frozenset(
    {
        "error", "errors", "message", "msg", "detail", "details", "reason", "description",
        "error_description", "error_code", "errorcode", "code", "status", "status_code",
        "statuscode", "title", "type", "success", "ok",
    }
)  # fmt: skip
_ERROR_KEYS = frozenset({"error", "errors", "message", "msg", "detail", "reason"})
_FAILED_STATUS = frozenset({"error", "fail", "failed", "failure"})  # JSend's status values
_ENVELOPE_MAX = 2048  # bytes: an envelope is a short answer, never a page of records


def is_error_envelope(value: Any) -> bool:
    """True when a JSON body is a refusal or error envelope rather than data.

    An object made only of envelope keys (error, message, detail, code, status, success, ok,
    type, title, data …) that says it failed: ``success`` / ``ok`` is ``false``, a JSend
    ``status`` is ``error`` / ``fail``, or its only content is an error, message or detail.
    A record (``{"id": 7, "status": "failed"}``) is never one. Used for 2xx answers: APIs that
    answer a missing or foreign token with 200 and ``{"success": false, "error": "…"}`` refuse
    as surely as with 401.
    """
    if not isinstance(value, dict) or not value:
        return False
    keys = {str(k).lower(): v for k, v in value.items()}
    if not set(keys) <= _ENVELOPE_KEYS | {"data"}:
        return False
    if keys.get("success") is False or keys.get("ok") is False:
        return True
    status = keys.get("status")
    if isinstance(status, str) and status.strip().lower() in _FAILED_STATUS:
        return True
    if "data" in keys or keys.get("success") is True or keys.get("ok") is True:
        return False
    return any(isinstance(keys.get(k), str | dict | list) and keys[k] for k in _ERROR_KEYS)


@dataclass(frozen=True)
class Headers:
    """An ordered, case-insensitive, possibly repeating set of HTTP header fields."""

    items: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]] | dict[str, str] | None = None) -> Headers:
        """Build from pairs or a dict."""
        if pairs is None:
            return cls()
        if isinstance(pairs, dict):
            pairs = pairs.items()
        return cls(tuple((str(k), str(v)) for k, v in pairs))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        low = name.lower()
        for key, value in self.items:
            if key.lower() == low:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in order."""
        low = name.lower()
        return [v for k, v in self.items if k.lower() == low]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def set(self, name: str, value: str) -> Headers:
        """A copy with ``name`` replaced by a single ``value``."""
        low = name.lower()
        return Headers((*((k, v) for k, v in self.items if k.lower() != low), (name, value)))

    def remove(self, name: str) -> Headers:
        """A copy without ``name``."""
        low = name.lower()
        return Headers(tuple((k, v) for k, v in self.items if k.lower() != low))


@dataclass(frozen=True)
class Request:
    """A request to send. ``url`` is absolute and sent byte-exact, never normalised.

    Credentials are never stored here: ``identity`` names the auth profile the client applies
    when sending (``None`` = the default identity, ``ANONYMOUS`` = none), so a request can be
    kept, logged and shown without leaking a secret. A ``burst`` request (the rate-limit
    check's) leaves at the hard caps without the adaptive pace, and a 429 is its answer.
    """

    method: str
    url: str
    headers: Headers = field(default_factory=Headers)
    body: bytes | None = None
    identity: str | None = None
    burst: bool = False  # one of the rate-limit burst: at the caps, not the adaptive pace
    fresh: bool = False  # never answered from the scan's cache (a verdict's control, a timing)
    incomplete: bool = False  # a registration whose body leaves out the password: creates nothing
    unchanged: bool = False  # a no-op PUT/PATCH: its JSON fields re-send the object's own values
    max_body: int | None = None  # body cap of this request (an API description); None: the scan's

    def without_credentials(self) -> Request:
        """The same request sent with no credentials."""
        return replace(self, identity=ANONYMOUS)

    def as_identity(self, name: str) -> Request:
        """The same request sent as the named identity."""
        return replace(self, identity=name)

    def with_header(self, name: str, value: str) -> Request:
        """The same request with one header set."""
        return replace(self, headers=self.headers.set(name, value))

    def with_url(self, url: str) -> Request:
        """The same request to another URL."""
        return replace(self, url=url)

    def sent_fresh(self) -> Request:
        """The same request, sent on the wire even when an identical GET was answered before."""
        return replace(self, fresh=True)

    @property
    def cache_key(
        self,
    ) -> tuple[str, str, tuple[tuple[str, str], ...], str | None, int | None] | None:
        """Key for the per-scan cache of identical GETs; ``None`` when not cacheable."""
        if self.method != "GET" or self.body or self.fresh:
            return None
        return (self.method, self.url, self.headers.items, self.identity, self.max_body)


@dataclass(frozen=True)
class Response:
    """A received response; ``body`` is already decompressed and capped."""

    status: int
    headers: Headers
    body: bytes
    url: str
    elapsed_ms: float = 0.0
    truncated: bool = False
    redirects: tuple[str, ...] = ()
    note: str | None = None  # e.g. "body cut at 1048576 bytes"

    @property
    def ok(self) -> bool:
        """True for 2xx."""
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        """Media type without parameters, lower-case ('' when absent)."""
        value = self.headers.get("content-type") or ""
        return value.split(";", 1)[0].strip().lower()

    @cached_property
    def text(self) -> str:
        """The body as text, invalid bytes replaced."""
        charset = "utf-8"
        for part in (self.headers.get("content-type") or "").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"').strip()
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    @cached_property
    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON (or nested past recursion)."""
        if not self.body or self.truncated:
            return None
        head = self.body.lstrip()[:1]
        if head not in (b"{", b"[", b'"') and not self.content_type.endswith("json"):
            return None
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError):
            return None

    @property
    def is_json(self) -> bool:
        """True when the body parsed as a JSON object or array."""
        return isinstance(self.json, dict | list)

    @cached_property
    def refused_in_body(self) -> bool:
        """True for a 2xx whose short JSON body is an error envelope (``is_error_envelope``):
        a refusal or failure dressed as a success, never data."""
        return self.ok and len(self.body) <= _ENVELOPE_MAX and is_error_envelope(self.json)

    @cached_property
    def says_failed(self) -> bool:
        """True for a 2xx error envelope that says in so many words that it failed
        (``{"status": "fail", …}``, ``"success": false``, an ``error``): a write so answered
        created nothing. A bare ``{"message": "created"}`` is not one."""
        if not self.refused_in_body:
            return False
        keys = {str(k).lower(): v for k, v in self.json.items()}
        status = keys.get("status")
        failed = isinstance(status, str) and status.strip().lower() in _FAILED_STATUS
        return (
            failed
            or keys.get("success") is False
            or keys.get("ok") is False
            or bool(keys.get("error") or keys.get("errors"))
        )


@dataclass(frozen=True)
class Exchange:
    """A request and what came back: a response, or the transport error that replaced it."""

    request: Request
    response: Response | None
    error: str | None = None
    operation: str | None = None  # operation key ("GET /items/{id}") when known

    @property
    def ok(self) -> bool:
        """True when a 2xx response came back."""
        return self.response is not None and self.response.ok

    @property
    def answered(self) -> bool:
        """True when a 2xx came back that is not an error envelope: the API gave data."""
        return self.response is not None and self.response.ok and not self.response.refused_in_body


class Sender(Protocol):
    """The one network path of checks and discovery (implemented by ``http.client.HttpClient``)."""

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        """Send within scope, limits and budget; transport errors come back in the exchange."""
        ...

    def record(
        self, exchange: Exchange, *, label: str | None = None, match: str | None = None
    ) -> Evidence:
        """The exchange as redacted, bounded evidence with a curl command."""
        ...
