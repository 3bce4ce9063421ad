"""The REST API's documents for monitors and their runs, webhook endpoints and deliveries, and
verified domains."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from middlebrick.server.schemas import DiffOut, ScanCreate
from middlebrick.webhooks import AlertRules, Attempt, EventType

__all__ = [
    "DeliveryList",
    "DeliveryOut",
    "DomainCreate",
    "DomainList",
    "DomainOut",
    "EndpointCreate",
    "EndpointCreated",
    "EndpointList",
    "EndpointOut",
    "MonitorCreate",
    "MonitorList",
    "MonitorOut",
    "MonitorUpdate",
    "RunDetail",
    "RunList",
    "RunOut",
]

_SCHEDULE = "every-6-hours, daily, weekly, monthly, or a 5-field cron expression in UTC"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MonitorCreate(ScanCreate):
    """A monitor: the scan to run (credentials are sealed and never shown again), when, and
    which changes raise events."""

    name: str = Field(min_length=1, max_length=100)
    schedule: str = Field(max_length=100, description=_SCHEDULE)
    rules: AlertRules = Field(default_factory=AlertRules)
    enabled: bool = True


class MonitorUpdate(_Model):
    """What a monitor may change; its target and scan options are fixed (make a new one)."""

    name: str | None = Field(None, min_length=1, max_length=100)
    schedule: str | None = Field(None, max_length=100, description=_SCHEDULE)
    rules: AlertRules | None = None
    enabled: bool | None = None


class MonitorOut(_Model):
    """A monitor (never its credentials)."""

    id: int
    name: str
    target: str
    target_id: int
    schedule: str
    mode: str
    tier: str
    context: str
    identities: list[str]
    credentials: bool = Field(description="whether sealed credentials are kept for its runs")
    rules: AlertRules
    enabled: bool
    next_run_at: datetime
    last_run_at: datetime | None
    created_at: datetime


class MonitorList(_Model):
    """The organisation's monitors."""

    items: list[MonitorOut]


class RunOut(_Model):
    """One run of a monitor; the counts come from its diff with the previous scan."""

    id: int
    monitor_id: int
    scan_id: str | None
    previous_scan_id: str | None
    trigger: Literal["schedule", "manual"]
    status: Literal["running", "completed", "failed", "skipped"]
    reason: str | None
    score: int | None
    grade: str | None
    score_change: int | None
    new_findings: int | None
    resolved: int | None
    unchanged: int | None
    events: list[str]
    created_at: datetime
    finished_at: datetime | None


class RunDetail(RunOut):
    """A run with its diff (None for the first run of a target, or one without a scan)."""

    diff: DiffOut | None


class RunList(_Model):
    """A monitor's runs, newest first."""

    items: list[RunOut]


class EndpointCreate(_Model):
    """A webhook endpoint: its URL (kept sealed), the payload format and the events it takes."""

    name: str = Field(min_length=1, max_length=100)
    url: str = Field(max_length=2048)
    format: Literal["json", "slack", "teams"] = "json"
    events: list[EventType] | None = Field(None, description="None: every event type")


class EndpointOut(_Model):
    """An endpoint: its origin only (a Slack or Teams URL is itself a secret)."""

    id: int
    name: str
    origin: str
    format: str
    events: list[str] | None
    failures: int = Field(description="deliveries failed in a row")
    disabled: bool
    disabled_reason: str | None
    created_at: datetime


class EndpointCreated(EndpointOut):
    """The endpoint just made, with its signing secret: shown this once, never again."""

    secret: str | None = Field(description="the HMAC secret (json format); None for Slack/Teams")


class EndpointList(_Model):
    """The organisation's endpoints."""

    items: list[EndpointOut]


class DeliveryOut(_Model):
    """One delivery: the event, its state and every attempt (status, latency, error)."""

    id: str
    event_id: str
    event_type: str
    state: str
    attempts: list[Attempt]
    created_at: datetime
    resent_from: str | None


class DeliveryList(_Model):
    """An endpoint's latest deliveries, newest first."""

    items: list[DeliveryOut]


class DomainCreate(_Model):
    """A domain (or host name, or IP address) to verify."""

    domain: str = Field(min_length=1, max_length=253)


class DomainOut(_Model):
    """A domain and how to verify it."""

    id: int
    domain: str
    verified: bool
    method: str | None
    verified_at: datetime | None
    checked_at: datetime | None
    reason: str | None = Field(description="what the last check found")
    txt_record: str = Field(description="the DNS TXT record to publish the token at")
    file_url: str = Field(description="or the URL of the file to publish it in")


class DomainList(_Model):
    """The organisation's verification value and its domains."""

    verification_value: str = Field(
        description="the organisation's token: published in DNS or a file, it is public by design"
    )
    items: list[DomainOut]
