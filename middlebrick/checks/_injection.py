"""Shared by the input_validation probes: records counted, outcomes told, the three exchanges.

Every injection finding rests on three exchanges: the ``baseline`` (the operation as the
baseline sent it), the ``probe`` (the value that should change the query's meaning or break its
syntax) and the ``control`` (a value of the same shape that must not). ``Trio`` carries them
and says what differed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from middlebrick.checks._compare import same_shape, similar_text
from middlebrick.checks._signatures import (
    SCAN_HEAD,
    SCAN_TAIL,
    Hit,
    ScanEnv,
    scan_text,
    signatures_for,
)
from middlebrick.http.exchange import Exchange, Response

NOT_A_NUMBER = "abc"
"""What a numeric parameter gets to provoke a conversion error: letters."""


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


def alike(a: Exchange, b: Exchange) -> bool:
    """True when two answers carry the same content.

    The same status, and the same body; or JSON of the same shape with as many records; or
    text of the same media type and a close size.
    """
    if a.response is None or b.response is None or a.response.status != b.response.status:
        return False
    if a.response.body == b.response.body:
        return True
    if a.response.is_json and b.response.is_json:
        if not same_shape(a.response.json, b.response.json):
            return False
        return records(a.response) == records(b.response)
    return similar_text(a.response, b.response)


def unlike(a: Exchange, b: Exchange) -> bool:
    """True when two answers clearly differ: another status, shape or number of records."""
    if a.response is None or b.response is None:
        return False
    if a.response.status != b.response.status:
        return True
    if a.response.is_json and b.response.is_json:
        if not same_shape(a.response.json, b.response.json):
            return True
        counts = records(a.response), records(b.response)
        return None not in counts and counts[0] != counts[1]
    return a.response.body != b.response.body and not similar_text(a.response, b.response)


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
