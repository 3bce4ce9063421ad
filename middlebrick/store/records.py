"""What the repository hands out: plain frozen records, never ORM objects bound to a session."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

ScanStatus = Literal["queued", "running", "completed", "failed"]
STATUSES: tuple[ScanStatus, ...] = ("queued", "running", "completed", "failed")


def now() -> datetime:
    """The current time as the store keeps it: UTC, without a time zone attached."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class KeyInfo:
    """An API key as the service knows it (its digest stays in the store)."""

    id: int
    org_id: int
    org: str
    name: str
    prefix: str
    rate_limit: int
    daily_scans: int
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class SessionInfo:
    """A live dashboard session: who is logged in and the CSRF token of their forms."""

    user_id: int
    email: str
    org_id: int
    org: str
    csrf: str


@dataclass(frozen=True)
class ScanInfo:
    """One scan's state and outcome, without its report or credentials."""

    id: str
    org_id: int
    target_id: int
    target: str
    status: ScanStatus
    options: dict[str, Any]
    phase: str
    progress: int
    attempts: int
    score: int | None
    grade: str | None
    summary: dict[str, Any] | None
    reason: str | None
    failure: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def ungraded(self) -> bool:
        """Finished without a grade: the scan reached too little of the API (coverage)."""
        coverage = (self.summary or {}).get("coverage") or {}
        return bool(coverage.get("incomplete"))

    @staticmethod
    def options_of(text: str) -> dict[str, Any]:
        """The stored options JSON as a dict."""
        value = json.loads(text)
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Job:
    """What a worker needs to run a scan: its options, spec text and sealed credentials."""

    scan_id: str
    target: str
    status: ScanStatus
    attempts: int
    options: dict[str, Any]
    spec_document: str | None
    sealed_credentials: bytes | None


@dataclass(frozen=True)
class HistoryPoint:
    """A finished scan of a target, for its score trend."""

    scan_id: str
    finished_at: datetime
    score: int | None
    grade: str | None


@dataclass(frozen=True)
class TargetInfo:
    """A scanned API and the scores of its completed scans, oldest first."""

    id: int
    url: str
    created_at: datetime
    history: tuple[HistoryPoint, ...] = field(default=())


@dataclass(frozen=True)
class EventLine:
    """One line of a scan's live progress."""

    id: int
    at: datetime
    text: str


@dataclass(frozen=True)
class FindingLine:
    """One finding of a completed scan, as lists and filters show it."""

    fingerprint: str
    type_id: str
    category: str
    severity: str
    confidence: str
    operation: str
    title: str


@dataclass(frozen=True)
class DomainInfo:
    """A domain an organisation asked to verify: verified (how, when) or why not yet."""

    id: int
    name: str
    method: str | None
    verified_at: datetime | None
    checked_at: datetime | None
    reason: str | None
    created_at: datetime

    @property
    def verified(self) -> bool:
        """Whether a check succeeded."""
        return self.verified_at is not None


@dataclass(frozen=True)
class MonitorInfo:
    """A monitor: its target and scan options, schedule, alert rules and next run.

    ``spec_document`` and ``sealed_credentials`` are for starting runs; no answer shows them.
    """

    id: int
    org_id: int
    target_id: int
    target: str
    name: str
    schedule: str
    options: dict[str, Any]
    rules: dict[str, Any]
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    created_at: datetime
    spec_document: str | None = field(default=None, repr=False)
    sealed_credentials: bytes | None = field(default=None, repr=False)


RunStatus = Literal["running", "completed", "failed", "skipped"]


@dataclass(frozen=True)
class RunInfo:
    """One run of a monitor, with its scan's score once it has one."""

    id: int
    monitor_id: int
    scan_id: str | None
    previous_scan_id: str | None
    trigger: str
    status: RunStatus
    reason: str | None
    diff: dict[str, Any] | None
    events: tuple[str, ...]
    created_at: datetime
    finished_at: datetime | None
    score: int | None = None
    grade: str | None = None


@dataclass(frozen=True)
class EndpointInfo:
    """A webhook endpoint as pages show it: its origin, never its URL or secret."""

    id: int
    org_id: int
    name: str
    origin: str
    format: str
    events: tuple[str, ...] | None  # None: every event type
    failures: int
    disabled: bool
    disabled_reason: str | None
    created_at: datetime
    sealed: bytes = field(default=b"", repr=False)

    def takes(self, event_type: str) -> bool:
        """Whether the endpoint subscribed to ``event_type``."""
        return self.events is None or event_type in self.events
