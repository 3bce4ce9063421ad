"""Findings: what a check reports, with its evidence, severity, confidence and fingerprint."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """How bad a flaw is if it is real."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for info; higher is worse."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.critical: 4,
    Severity.high: 3,
    Severity.medium: 2,
    Severity.low: 1,
    Severity.info: 0,
}


class Confidence(StrEnum):
    """How sure the scanner is that the flaw is real.

    ``confirmed``: a differential or canary proved it; ``firm``: direct evidence in a response;
    ``tentative``: an indicator that needs a human to confirm.
    """

    confirmed = "confirmed"
    firm = "firm"
    tentative = "tentative"

    @property
    def rank(self) -> int:
        """2 for confirmed down to 0 for tentative."""
        return {"confirmed": 2, "firm": 1, "tentative": 0}[self.value]


class RecordedRequest(BaseModel):
    """A request as it appears in evidence: secrets already redacted."""

    model_config = ConfigDict(frozen=True)

    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None


class Evidence(BaseModel):
    """One exchange that shows (or confirms) a finding, redacted and bounded in size."""

    model_config = ConfigDict(frozen=True)

    label: str | None = None  # e.g. "baseline", "probe", "control", "anonymous"
    request: RecordedRequest
    curl: str
    status: int | None = None
    response_headers: dict[str, str] = Field(default_factory=dict)
    excerpt: str = ""
    match: str | None = None  # the matched text, found verbatim inside ``excerpt``
    error: str | None = None  # transport error instead of a response


class Occurrence(BaseModel):
    """Another finding the Filter merged into this one because it has the same root cause."""

    model_config = ConfigDict(frozen=True)

    type_id: str
    operation: str
    parameter: str | None = None
    severity: Severity


class Finding(BaseModel):
    """One flaw on one operation (and parameter), with everything a reader needs.

    ``occurrences`` lists the other findings of the same root cause that the Filter merged into
    this one (other operations, or other finding types one flaw produces); empty for most.
    """

    model_config = ConfigDict(frozen=True)

    type_id: str
    category: str
    title: str
    severity: Severity
    confidence: Confidence
    operation: str  # "GET /items/{item_id}", or "*" for the whole target
    parameter: str | None = None
    detail: str
    evidence: tuple[Evidence, ...] = ()
    fingerprint: str
    cwe: tuple[int, ...] = ()
    owasp_api_2023: str | None = None
    pci_dss: tuple[str, ...] = ()
    soc2: tuple[str, ...] = ()
    remediation: str = ""
    occurrences: tuple[Occurrence, ...] = ()

    def operations(self) -> tuple[str, ...]:
        """Every operation this finding stands for: its own, then its occurrences', in order."""
        return tuple(dict.fromkeys((self.operation, *(o.operation for o in self.occurrences))))


def fingerprint(type_id: str, operation: str, parameter: str | None = None) -> str:
    """Stable id of a flaw: the same type, operation and parameter give it in every scan."""
    raw = f"{type_id}\x1f{operation}\x1f{parameter or ''}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]
