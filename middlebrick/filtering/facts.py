"""Scan facts: what the Filter's rules may know besides the findings themselves.

The engine builds them once per scan from what the baseline, the identities and the client saw
(``middlebrick.engine`` calls ``ScanFacts`` with them); every field has an empty default, so a
rule without the facts it needs stays quiet and the finding is kept as the check made it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from middlebrick.findings import Finding
from middlebrick.http.exchange import is_error_envelope

_ENVELOPE_MAX = 2048  # as Response.refused_in_body: an envelope is a short answer

__all__ = ["Answer", "Caller", "ScanFacts"]


@dataclass(frozen=True)
class Answer:
    """One answer an operation gave: its status and body (JSON parsed when it is JSON)."""

    status: int
    body: bytes = b""

    @property
    def ok(self) -> bool:
        """True for a 2xx answer that is data, not an error envelope (``is_error_envelope``)."""
        if not 200 <= self.status < 300:
            return False
        return len(self.body) > _ENVELOPE_MAX or not is_error_envelope(self.json)

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def same_content(self, other: Answer) -> bool:
        """True when both answers carry the same status and the same body (or the same JSON)."""
        if self.status != other.status:
            return False
        if self.body == other.body:
            return True
        mine = self.json
        return mine is not None and mine == other.json


@dataclass(frozen=True)
class Caller:
    """One identity the scan acted as, and the stable identifiers that name it.

    ``values``: its user id, username, e-mail and JWT subject, as its ``me``/``whoami`` answer
    and its token say (``Identity.self_ids``); ``me``: the operation key of that answer;
    ``secrets``: the credential values it was given (compared, never shown); ``owned``: owner
    fields and the values that name it there (``("user_id", "5")``), as a listing each caller is
    shown its own records in proves (``own_data.listed_owners``).
    """

    name: str
    values: frozenset[str] = frozenset()
    me: str | None = None
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    owned: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class ScanFacts:
    """What the scan knows that a single finding does not carry.

    - ``authenticated``: each baselined operation's answer to the scan's own identity;
    - ``anonymous``: the answer to the same request sent without credentials, where one was
      sent (by the checks, kept in the scan's cache);
    - ``callers``: the identities and what names each;
    - ``writes``: when (``time.monotonic()``) the scan sent each state-changing request;
    - ``created``: the URLs of the objects the scan created (the journal's);
    - ``raised``: when each finding (by fingerprint) was raised, the latest copy's time;
    - ``reconfirmed`` / ``contradicted``: fingerprints of findings whose request, sent again
      fresh after the scan's writes were undone (or by a corroborating probe), showed the flaw
      again / no longer showed it;
    - ``findings``: every finding of the scan as the earlier rules left it (set by the Filter).
    """

    authenticated: Mapping[str, Answer] = field(default_factory=dict)
    anonymous: Mapping[str, Answer] = field(default_factory=dict)
    callers: tuple[Caller, ...] = ()
    writes: tuple[float, ...] = ()
    created: tuple[str, ...] = ()
    raised: Mapping[str, float] = field(default_factory=dict)
    reconfirmed: frozenset[str] = frozenset()
    contradicted: frozenset[str] = frozenset()
    findings: tuple[Finding, ...] = ()

    def caller_values(self) -> frozenset[str]:
        """Every value that names one of the scan's identities."""
        return frozenset(v for caller in self.callers for v in caller.values)

    def me_operations(self) -> frozenset[str]:
        """The operations whose answer is the caller's own record (``me``, ``whoami``)."""
        return frozenset(c.me for c in self.callers if c.me is not None)

    def first_write(self) -> float | None:
        """When the scan first changed state on the target, or ``None`` if it never did."""
        return min(self.writes) if self.writes else None


def scalars(value: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    """Every scalar of a JSON value with the name of the field that holds it."""
    if isinstance(value, Mapping):
        for name, item in value.items():
            yield from scalars(item, str(name))
    elif isinstance(value, list):
        for item in value:
            yield from scalars(item, key)
    else:
        yield key, value


def objects(value: Any) -> Iterator[Mapping[str, Any]]:
    """Every JSON object inside a JSON value, the outermost first."""
    if isinstance(value, Mapping):
        yield value
        for item in value.values():
            yield from objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from objects(item)


def record_of(body: Any) -> Any:
    """The record an answer is about: the body, or the object a lone wrapper key holds
    (``{"result": {…}}``, ``{"data": {…}}``, ``{"user": {…}}``)."""
    if isinstance(body, Mapping) and len(body) == 1:
        (inner,) = body.values()
        if isinstance(inner, Mapping):
            return inner
    return body


def text(value: Any) -> str | None:
    """A JSON scalar as the text that names it (``2`` → ``"2"``); ``None`` for null or bool."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return str(value)
    return None
