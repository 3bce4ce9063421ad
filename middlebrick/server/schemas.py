"""The REST API's documents (pydantic): what a request may hold and what a response holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from middlebrick.config import Context, Mode, Tier
from middlebrick.store.records import ScanStatus

__all__ = [
    "CategoryOut",
    "CoverageOut",
    "DiffOut",
    "DiffSide",
    "FindingOut",
    "HistoryOut",
    "IdentityIn",
    "ScanAccepted",
    "ScanCreate",
    "ScanOut",
    "ScanPage",
    "ScanSummary",
    "TargetList",
    "TargetOut",
]

MAX_SPEC_CHARS = 5_000_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentityIn(_Model):
    """Who the scan acts as: a profile as the CLI takes it, or headers and query parameters."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    auth: str | None = Field(
        None, max_length=8192, description="bearer:TOKEN, basic:USER:PASS, apikey:HEADER:KEY, …"
    )
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    query: dict[str, str] = Field(default_factory=dict, max_length=20)
    owns: list[str] = Field(default_factory=list, max_length=100)


class ScanCreate(_Model):
    """A scan to run. Credentials (identities, headers) are used for it and never shown again."""

    url: str = Field(max_length=2048, description="Base URL of the API to scan.")
    spec_url: str | None = Field(None, max_length=2048, description="URL of its OpenAPI document.")
    spec: str | dict[str, Any] | None = Field(
        None, description="The OpenAPI document itself (JSON or YAML text, or a JSON object)."
    )
    context: Context = Context.general
    mode: Mode = "safe"
    tier: Tier = Tier.standard
    identities: list[IdentityIn] = Field(default_factory=list, max_length=10)
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    threshold: int | None = Field(None, ge=0, le=100)

    @model_validator(mode="after")
    def _one_spec(self) -> ScanCreate:
        if self.spec is not None and self.spec_url is not None:
            raise ValueError("give spec_url or spec, not both")
        names = [i.name for i in self.identities]
        if len(set(names)) != len(names):
            raise ValueError("each identity name may be given once")
        return self


class ScanAccepted(_Model):
    """A queued scan."""

    id: str
    status: ScanStatus


class FindingOut(_Model):
    """One finding; the full evidence is in the scan's reports."""

    fingerprint: str
    type_id: str
    category: str
    severity: str
    confidence: str
    operation: str
    title: str


class CategoryOut(_Model):
    """One category's result."""

    score: int | None
    status: str
    findings: int


class CoverageOut(_Model):
    """How much of the API the scan reached."""

    operations: int
    requests: int
    complete: bool
    requested: int | None = Field(None, description="operations the baseline was to request")
    usable: int | None = Field(None, description="of those, operations with a usable answer")
    incomplete: list[str] = Field(
        default_factory=list, description="why the scan has no grade (empty: it has one)"
    )


class ScanSummary(_Model):
    """A scan in a list."""

    id: str
    status: ScanStatus
    target: str
    target_id: int
    score: int | None
    grade: str | None
    progress: int
    created_at: datetime
    finished_at: datetime | None


class ScanOut(ScanSummary):
    """A scan's state and outcome."""

    mode: str
    tier: str
    context: str
    identities: list[str]
    threshold: int | None
    passed: bool | None = Field(description="score at or above the threshold, when both exist")
    phase: str
    reason: str | None
    failure: str | None = Field(
        description="why it failed: unreachable, spec, usage, credentials, worker_lost, internal"
    )
    coverage: CoverageOut | None
    categories: dict[str, CategoryOut] | None
    severities: dict[str, int] | None
    findings: list[FindingOut]
    started_at: datetime | None


class ScanPage(_Model):
    """One page of scans."""

    items: list[ScanSummary]
    total: int
    limit: int
    offset: int


class HistoryOut(_Model):
    """A completed scan in a target's score trend."""

    scan_id: str
    finished_at: datetime
    score: int | None
    grade: str | None


class TargetOut(_Model):
    """A scanned API and its score history, oldest first."""

    id: int
    url: str
    created_at: datetime
    history: list[HistoryOut]


class TargetList(_Model):
    """The organisation's targets."""

    items: list[TargetOut]


class DiffSide(_Model):
    """One of the two scans of a diff."""

    scan_id: str
    target: str
    score: int | None


class DiffFinding(_Model):
    """A finding in a diff."""

    fingerprint: str
    type_id: str
    severity: str
    operation: str
    title: str


class DiffOut(_Model):
    """New, resolved and unchanged findings from ``old`` to ``new``, and the score change."""

    old: DiffSide
    new: DiffSide
    score_change: int | None
    new_findings: list[DiffFinding]
    resolved: list[DiffFinding]
    unchanged: list[DiffFinding]
