"""The probe primitive of the injection checks: mutate one slot, send a fresh control, compare.

A ``Slot`` is one place of a baselined request where a value goes: a path segment, a query
item, a header, a cookie, or a top-level field of a JSON body. ``slot.set(value)`` is the
baseline request with only that value replaced. A ``Prober`` sends such requests within the
requests a check may still spend, and ``Prober.trio(slot, probe, control)`` sends a probe and
then its control *fresh* (never answered from the scan's cache, so both show the target in the
same state): the ``Trio`` it returns (``_injection``) says what differed. Every injection check
(DynamoDB, SQL, OS command, ReDoS, type confusion) builds on these three.

A path or query value is placed by ``with_parameter`` (what ``Slot.set`` does there): the
authorization checks use it directly on whichever request they mutate (the baseline, another
identity's control), and ``current_value`` reads what a request sends there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from middlebrick.checks._injection import Trio
from middlebrick.http.exchange import Exchange, Request
from middlebrick.http.undo import Restoration
from middlebrick.spec.model import Operation, Parameter
from middlebrick.spec.values import serialize, value_for_parameter

if TYPE_CHECKING:
    from middlebrick.checks.context import CheckContext

Where = Literal["path", "query", "header", "headers", "cookie", "body"]

AMBIENT_HEADERS = ("Referer", "User-Agent", "X-Forwarded-For")
"""Request headers that applications commonly store or log (sqlmap tests User-Agent and Referer
at ``--level 3``; X-Forwarded-For carries the client address proxies add): places for blind
probes even when the API description declares no header."""

BREAKER = "'\")("
"""A value that breaks naive parsing: quotes for SQL/PartiQL, parentheses for expressions."""

_NUMBER = re.compile(r"-?\d{1,18}(?:\.\d{1,18})?")
_NUMERIC_TYPES = ("integer", "number")
_PAGE_SIZE = re.compile(
    r"(?i)limit|size|page|page_?size|per_?page|offset|max_?(?:results|items|keys)|count|top|skip"
)
_UNSAFE_IN_HEADER = re.compile(r"[\r\n\x00]")
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Slot:
    """One place of one baselined request where a value goes, and the value the baseline sent."""

    operation: Operation
    baseline: Exchange
    parameter: Parameter  # for a body field: its name and schema (location is not meaningful)
    value: str  # the baseline's value, or the one a probe fills in when the baseline had none
    where: Where = "query"
    document: Mapping[str, Any] | None = None  # the JSON body, for a body field

    @property
    def name(self) -> str:
        """How findings name it: the parameter's name, ``body.<field>`` for a body field."""
        return f"body.{self.parameter.name}" if self.where == "body" else self.parameter.name

    @property
    def described(self) -> str:
        """The slot for a sentence: ``query parameter q``, ``header Referer`` …"""
        kind = {
            "path": "path parameter",
            "query": "query parameter",
            "body": "body field",
            "headers": "headers",
        }
        return f"{kind.get(self.where, self.where)} {self.parameter.name}"

    def set(self, value: str) -> Request | None:
        """The baseline request with only this slot set to ``value`` (encoded as usual).

        ``None`` when the value cannot be placed there (a line break in a header, a ``;`` in
        a cookie, a path the template does not match).
        """
        request = self.baseline.request
        if self.where in ("path", "query"):
            return with_parameter(request, self.operation, self.parameter, value)
        if self.where in ("header", "headers"):
            if _UNSAFE_IN_HEADER.search(value) or not value.isascii():
                return None
            for name in self.parameter.name.split(", "):
                request = request.with_header(name, value)
            return request
        if self.where == "cookie":
            return _with_cookie(request, self.parameter.name, value)
        return self.set_json(value)

    def set_json(self, value: Any) -> Request | None:
        """For a body field: the baseline write with this field set to any JSON ``value``."""
        if self.document is None:
            return None
        body = json.dumps({**self.document, self.parameter.name: value}).encode()
        return replace(self.baseline.request, body=body)

    def set_raw(self, raw: str) -> Request | None:
        """The baseline request with this path or query slot set to ``raw``, already encoded.

        ``raw`` goes on the wire byte for byte: ``..%2f`` stays ``..%2f`` and ``%252f`` stays
        double-encoded.
        """
        request = self.baseline.request
        parts = urlsplit(request.url)
        if self.where == "query":
            pieces = [p for p in parts.query.split("&") if p] if parts.query else []
            named = [unquote(p.split("=", 1)[0].replace("+", " ")) == self.name for p in pieces]
            item = f"{quote(self.name, safe='')}={raw}"
            if any(named):
                pieces = [item if hit else p for p, hit in zip(pieces, named, strict=True)]
            else:
                pieces.append(item)
            return request.with_url(parts._replace(query="&".join(pieces)).geturl())
        if self.where == "path":
            index = path_index(parts.path, self.operation.path, self.name)
            if index is None:
                return None
            segments = parts.path.split("/")
            segments[index] = raw
            return request.with_url(parts._replace(path="/".join(segments)).geturl())
        return None


def slots(operation: Operation, baseline: Exchange, *, include_missing: bool = True) -> list[Slot]:
    """The operation's path then query parameters, each with its baseline (or example) value.

    A query parameter the baseline left out gets its example or schema value when
    ``include_missing``; otherwise it is skipped.
    """
    found: list[Slot] = []
    for parameter in (*operation.params("path"), *operation.params("query")):
        value = current_value(baseline.request, operation, parameter)
        if value is None:
            if parameter.location == "path" or not include_missing:
                continue
            value = serialize(value_for_parameter(parameter))
        found.append(Slot(operation, baseline, parameter, value, parameter.location))
    return found


def header_slots(
    operation: Operation, baseline: Exchange, *, ambient: Iterable[str] = ()
) -> list[Slot]:
    """Declared header and cookie parameters (credentials excepted), then ``ambient`` headers.

    A declared one carries the baseline's value or its example; an ambient header (one the
    description does not declare, such as ``Referer``) carries what the baseline sent, if
    anything.
    """
    found: list[Slot] = []
    sent = baseline.request.headers
    cookies = _cookies(sent.get("cookie"))
    for parameter in operation.params("header"):
        if parameter.name.lower() in _CREDENTIAL_HEADERS:
            continue
        value = sent.get(parameter.name) or serialize(value_for_parameter(parameter))
        found.append(Slot(operation, baseline, parameter, value, "header"))
    for parameter in operation.params("cookie"):
        value = cookies.get(parameter.name) or serialize(value_for_parameter(parameter))
        found.append(Slot(operation, baseline, parameter, value, "cookie"))
    declared = {p.name.lower() for p in operation.params("header")}
    for name in ambient:
        if name.lower() not in declared:
            parameter = Parameter(name, "header")
            found.append(Slot(operation, baseline, parameter, sent.get(name) or "", "header"))
    return found


def ambient_slot(operation: Operation, baseline: Exchange) -> Slot:
    """The ``AMBIENT_HEADERS`` together, all set to one value: one probe screens the three.

    A delay it shows is then narrowed down with ``header_slots(..., ambient=AMBIENT_HEADERS)``.
    """
    parameter = Parameter(", ".join(AMBIENT_HEADERS), "header")
    return Slot(operation, baseline, parameter, "", "headers")


def body_slots(operation: Operation, baseline: Exchange, document: Mapping[str, Any]) -> list[Slot]:
    """The top-level fields of the JSON object ``document`` that ``baseline`` sent."""
    schema = (operation.request_body.schema if operation.request_body else {}) or {}
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    found: list[Slot] = []
    for key, value in document.items():
        field_schema = properties.get(key, {}) if isinstance(properties, Mapping) else {}
        text = value if isinstance(value, str) else json.dumps(value)
        parameter = Parameter(key, "query", schema=field_schema or {})
        found.append(Slot(operation, baseline, parameter, text, "body", document))
    return found


def is_numeric(slot: Slot) -> bool:
    """True when the slot holds a number: by its schema, or by its baseline value."""
    kind = slot.parameter.schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(k in _NUMERIC_TYPES for k in kinds) or bool(_NUMBER.fullmatch(slot.value))


def numeric_slots(operation: Operation, exchange: Exchange) -> list[Slot]:
    """Up to two numeric (or page-size) path and query parameters of a baselined operation."""
    found = [
        slot
        for slot in slots(operation, exchange)
        if (is_numeric(slot) or _PAGE_SIZE.fullmatch(slot.name))
        and not slot.value.lstrip().startswith(("{", "["))
    ]
    return found[:2]


def is_json(value: str) -> bool:
    """True when ``value`` is a JSON object or array."""
    if value.lstrip()[:1] not in ("{", "["):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def deleted(done: Iterable[Restoration]) -> bool:
    """True when everything a check wrote so far was deleted (or needed nothing); False when
    the journal could not remove an object the check created."""
    return all(result.state in ("deleted", "unchanged") for result in done)


class Prober:
    """The one way the injection checks send: a slot set to a value, against a fresh control.

    Holds the follow-up requests a check may still spend on the whole scan (``left``). A
    check's per-operation probes (already counted in its declared cost) are sent with
    ``charge=False``; everything else is taken from the pool.
    """

    def __init__(self, ctx: CheckContext, size: int) -> None:
        self.ctx = ctx
        self.left = size
        self.undoing = False  # each write is undone at once (probes of a creation)
        self.stopped = False  # the journal could not undo a write: nothing more is sent

    def has(self, count: int) -> bool:
        """True when ``count`` more requests fit in the pool."""
        return self.left >= count and not self.stopped

    async def send(self, request: Request, *, charge: bool = True) -> Exchange:
        """Send one request (taken from the pool unless ``charge`` is False).

        While ``undoing``, a write is followed by the journal's undo of what the check wrote
        (each object a probe created is deleted before the next probe, so unique fields never
        collide); when the journal cannot remove one, the prober stops.
        """
        if charge:
            self.left -= 1
        exchange = await self.ctx.send(request)
        if self.undoing and request.method not in _READS:
            self.stopped |= not deleted(await self.ctx.undo())
        return exchange

    async def try_value(
        self, slot: Slot, value: str, *, fresh: bool = False, charge: bool = True
    ) -> Exchange | None:
        """Send the baseline request with ``slot`` set to ``value``; ``None`` if impossible.

        ``fresh`` sends it on the wire even when the same GET was answered before.
        """
        request = slot.set(value)
        if request is None or self.stopped or (charge and not self.has(1)):
            return None
        return await self.send(request.sent_fresh() if fresh else request, charge=charge)

    async def trio(self, slot: Slot, probe_value: str, control_value: str) -> Trio | None:
        """The probe, then its control sent fresh; with the baseline, the three to compare.

        ``None`` when either cannot be placed or the pool has not room for both.
        """
        if not self.has(2) or slot.set(control_value) is None:
            return None
        probe = await self.try_value(slot, probe_value)
        if probe is None:
            return None
        control = await self.try_value(slot, control_value, fresh=True)
        if control is None:
            return None
        return Trio(slot.baseline, probe, control)


def current_value(request: Request, operation: Operation, parameter: Parameter) -> str | None:
    """The value ``request`` sends for ``parameter`` (path segment or query item), if any."""
    parts = urlsplit(request.url)
    if parameter.location == "query":
        return next(
            (v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == parameter.name),
            None,
        )
    index = path_index(parts.path, operation.path, parameter.name)
    return None if index is None else parts.path.split("/")[index]


def with_parameter(
    request: Request, operation: Operation, parameter: Parameter, value: str
) -> Request | None:
    """``request`` with ``parameter`` set to ``value``; ``None`` when it cannot be placed."""
    parts = urlsplit(request.url)
    if parameter.location == "query":
        items = parse_qsl(parts.query, keep_blank_values=True)
        if any(k == parameter.name for k, _ in items):
            items = [(k, value if k == parameter.name else v) for k, v in items]
        else:
            items.append((parameter.name, value))
        return request.with_url(parts._replace(query=urlencode(items)).geturl())
    if parameter.location == "path":
        index = path_index(parts.path, operation.path, parameter.name)
        if index is None:
            return None
        segments = parts.path.split("/")
        segments[index] = quote(value, safe="")
        return request.with_url(parts._replace(path="/".join(segments)).geturl())
    return None


def path_index(actual: str, template: str, name: str) -> int | None:
    """Where ``{name}`` of ``template`` sits among the ``/``-separated segments of ``actual``.

    The template is a suffix of the actual path (the API may live below a base path).
    """
    actual_segments, template_segments = actual.split("/"), template.split("/")
    if len(template_segments) > len(actual_segments):
        return None
    offset = len(actual_segments) - len(template_segments)
    for index, segment in enumerate(template_segments):
        if segment == "{" + name + "}":
            return offset + index
    return None


def _cookies(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header of the baseline: nothing to read
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _with_cookie(request: Request, name: str, value: str) -> Request | None:
    """``request`` with cookie ``name`` set to ``value`` (others kept); None if it cannot be."""
    if any(c in value for c in ";,\r\n\x00") or not value.isascii():
        return None
    pairs = [
        p.strip()
        for p in (request.headers.get("cookie") or "").split(";")
        if p.strip() and p.strip().split("=", 1)[0] != name
    ]
    return request.with_header("Cookie", "; ".join([*pairs, f"{name}={value}"]))
