"""Shared by the input_validation probes: values placed byte-exact, records counted, outcomes told.

Every injection finding rests on three exchanges: the ``baseline`` (the operation as the
baseline sent it), the ``probe`` (the value that should change the query's meaning or break its
syntax) and the ``control`` (a value of the same shape that must not). ``Trio`` carries them
and says what differed.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from middlebrick.checks._probes import current_value, path_index, with_parameter
from middlebrick.checks._signatures import (
    SCAN_HEAD,
    SCAN_TAIL,
    Hit,
    ScanEnv,
    scan_text,
    signatures_for,
)
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.spec.values import serialize, value_for_parameter

NOT_A_NUMBER = "abc"
"""What a numeric parameter gets to provoke a conversion error: letters."""

_NUMBER = re.compile(r"-?\d{1,18}(?:\.\d{1,18})?")
_NUMERIC_TYPES = ("integer", "number")
_PAGE_SIZE = re.compile(
    r"(?i)limit|size|page|page_?size|per_?page|offset|max_?(?:results|items|keys)|count|top|skip"
)


@dataclass(frozen=True)
class Slot:
    """One parameter of one baselined operation, and the value the baseline sent for it."""

    operation: Operation
    baseline: Exchange
    parameter: Parameter
    value: str  # the baseline's value, or the one a probe fills in when the baseline had none

    @property
    def name(self) -> str:
        """The parameter's name."""
        return self.parameter.name

    def set(self, value: str) -> Request | None:
        """The baseline request with this parameter set to ``value`` (encoded as usual)."""
        return with_parameter(self.baseline.request, self.operation, self.parameter, value)

    def set_raw(self, raw: str) -> Request | None:
        """The baseline request with this parameter set to ``raw``, already percent-encoded.

        ``raw`` goes on the wire byte for byte: ``..%2f`` stays ``..%2f`` and ``%252f`` stays
        double-encoded.
        """
        request = self.baseline.request
        parts = urlsplit(request.url)
        if self.parameter.location == "query":
            pieces = [p for p in parts.query.split("&") if p] if parts.query else []
            named = [unquote(p.split("=", 1)[0].replace("+", " ")) == self.name for p in pieces]
            item = f"{quote(self.name, safe='')}={raw}"
            if any(named):
                pieces = [item if hit else p for p, hit in zip(pieces, named, strict=True)]
            else:
                pieces.append(item)
            return request.with_url(parts._replace(query="&".join(pieces)).geturl())
        if self.parameter.location == "path":
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
        found.append(Slot(operation, baseline, parameter, value))
    return found


def is_numeric(slot: Slot) -> bool:
    """True when the parameter holds a number: by its schema, or by its baseline value."""
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


def records(response: Response | None) -> int | None:
    """How many records a JSON answer holds, or ``None`` when it holds no list of them.

    A top-level list counts its items; an object counts its longest list of objects (or
    empty list), looked for at the top and one level down (``{"data": {"items": [...]}}``).
    """
    document = response.json if response is not None else None
    if isinstance(document, list):
        return len(document)
    if not isinstance(document, dict):
        return None
    sizes = _list_sizes(document)
    for value in document.values():
        if isinstance(value, dict):
            sizes += _list_sizes(value)
    return max(sizes) if sizes else None


def _list_sizes(document: dict[str, Any]) -> list[int]:
    return [
        len(value)
        for value in document.values()
        if isinstance(value, list) and (not value or isinstance(value[0], dict))
    ]


def status(exchange: Exchange) -> int | None:
    """The response status, ``None`` when no response came back."""
    return exchange.response.status if exchange.response is not None else None


def server_error(exchange: Exchange) -> bool:
    """True for a 5xx answer."""
    code = status(exchange)
    return code is not None and code >= 500


def answered(exchange: Exchange) -> bool:
    """True when a response came back below 500."""
    code = status(exchange)
    return code is not None and code < 500


def signature_hits(exchange: Exchange, findings: Collection[str]) -> list[str]:
    """Ids of the signatures of ``findings`` that match the response body, in order."""
    return list(dict.fromkeys(hit.signature for hit in _body_hits(exchange, findings)))


def first_match(exchange: Exchange, findings: Collection[str]) -> str | None:
    """The first text a signature of ``findings`` matched in the response body."""
    return next((hit.match for hit in _body_hits(exchange, findings)), None)


def _body_hits(exchange: Exchange, findings: Collection[str]) -> list[Hit]:
    """Hits in the body whatever its media type: a file served as octet-stream counts too."""
    resp = exchange.response
    if resp is None or not resp.body:
        return []
    text = resp.text
    segments = (
        [text] if len(text) <= SCAN_HEAD + SCAN_TAIL else [text[:SCAN_HEAD], text[-SCAN_TAIL:]]
    )
    sigs = signatures_for(findings)
    env = ScanEnv()
    return [hit for segment in segments for hit in scan_text(segment, "body", sigs, env)]


def outcome(exchange: Exchange, findings: Collection[str] = ()) -> str:
    """How an exchange ended, for a detail sentence: status, records, or the matched error."""
    resp = exchange.response
    if resp is None:
        return f"no answer ({exchange.error})"
    text = f"{resp.status}"
    count = records(resp)
    if count is not None:
        text += f" with {count} record{'s' if count != 1 else ''}"
    match = first_match(exchange, findings) if findings else None
    if match:
        text += f" ({_short(match)!r})"
    return text


@dataclass(frozen=True)
class Trio:
    """The three exchanges behind an injection finding."""

    baseline: Exchange
    probe: Exchange
    control: Exchange

    def evidence(self) -> list[tuple[str, Exchange]]:
        """The labelled evidence, baseline first."""
        return [("baseline", self.baseline), ("probe", self.probe), ("control", self.control)]

    def more_records(self) -> bool:
        """True when the probe returned more records than the baseline, and the control no more.

        All three must be 2xx JSON answers with countable records.
        """
        counts = [records(ex.response) for ex in (self.baseline, self.probe, self.control)]
        if not all(ex.ok for ex in (self.baseline, self.probe, self.control)):
            return False
        base, probe, control = counts
        if base is None or probe is None or control is None:
            return False
        return control <= base < probe

    def only_probe_hits(self, findings: Collection[str]) -> list[str]:
        """Signatures of ``findings`` in the probe's answer but in neither of the others."""
        found = signature_hits(self.probe, findings)
        if not found:
            return []
        others = set(signature_hits(self.baseline, findings))
        others |= set(signature_hits(self.control, findings))
        return [sig for sig in found if sig not in others]


def _short(text: str, size: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"
