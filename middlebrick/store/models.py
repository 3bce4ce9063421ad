"""The tables of the service (SQLAlchemy 2). The schema itself is made by the migrations.

Secrets never sit here in plain text: API keys and session tokens are kept as SHA-256 digests,
passwords as scrypt hashes, a scan's credentials as a Fernet token that is erased when the scan
ends, and a monitor's credentials and a webhook endpoint's URL and secret as Fernet tokens.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The declarative base of every table."""


class Organisation(Base):
    """A tenant: every key, user, target and scan belongs to one."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]
    domain_token: Mapped[str | None] = mapped_column(String(64))  # published to verify domains


class User(Base):
    """A dashboard log-in."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class ApiKey(Base):
    """An API key: its digest, never the key; revoked keys stay for the record."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    rate_limit: Mapped[int]  # requests per minute
    daily_scans: Mapped[int]  # scans this key may submit in 24 hours
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Session(Base):
    """A dashboard session: the digest of the cookie's token and the CSRF token of its forms."""

    __tablename__ = "sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class Target(Base):
    """An API an organisation scans; its history is the scans that name it."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("org_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime]


class Scan(Base):
    """One scan: what was asked (without credentials), where it is, and its outcome."""

    __tablename__ = "scans"
    __table_args__ = (
        Index("ix_scans_org_created", "org_id", "created_at"),
        Index("ix_scans_status_heartbeat", "status", "heartbeat_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16))
    options: Mapped[str] = mapped_column(Text)  # the request as JSON, credentials left out
    spec_document: Mapped[str | None] = mapped_column(Text)
    sealed_credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    phase: Mapped[str] = mapped_column(String(200), default="")
    progress: Mapped[int] = mapped_column(default=0)  # percent
    attempts: Mapped[int] = mapped_column(default=0)
    score: Mapped[int | None]
    grade: Mapped[str | None] = mapped_column(String(16))
    summary: Mapped[str | None] = mapped_column(Text)  # categories and coverage as JSON
    reason: Mapped[str | None] = mapped_column(Text)
    failure: Mapped[str | None] = mapped_column(String(16))  # unreachable, spec, usage, …
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]


class ScanEvent(Base):
    """A line of a scan's progress, from the engine's events, for the dashboard's live view."""

    __tablename__ = "scan_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)


class FindingRow(Base):
    """One finding of a finished scan, for filtering and counting; the report holds the rest."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    type_id: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[str] = mapped_column(String(16))
    operation: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)


class ReportRow(Base):
    """The full report of a finished scan, as the JSON the ``Report`` model reads back."""

    __tablename__ = "reports"

    scan_id: Mapped[str] = mapped_column(
        ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[str] = mapped_column(Text)


class Domain(Base):
    """A domain an organisation asked to verify, and whether (and how) it was verified."""

    __tablename__ = "domains"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(253))
    method: Mapped[str | None] = mapped_column(String(8))  # dns or file, once verified
    verified_at: Mapped[datetime | None]
    checked_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)  # what the last check found
    created_at: Mapped[datetime]


class Monitor(Base):
    """A target scanned on a schedule, each run compared with the previous scan."""

    __tablename__ = "monitors"
    __table_args__ = (Index("ix_monitors_due", "enabled", "next_run_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    schedule: Mapped[str] = mapped_column(String(100))
    options: Mapped[str] = mapped_column(Text)  # the scan's request as JSON, credentials left out
    spec_document: Mapped[str | None] = mapped_column(Text)
    sealed_credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    rules: Mapped[str] = mapped_column(Text)  # AlertRules as JSON
    enabled: Mapped[bool] = mapped_column(Boolean)
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class MonitorRun(Base):
    """One run of a monitor: its scan, the scan it was compared with, the diff, the events."""

    __tablename__ = "monitor_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), index=True
    )
    scan_id: Mapped[str | None] = mapped_column(
        ForeignKey("scans.id", ondelete="SET NULL"), index=True
    )
    previous_scan_id: Mapped[str | None] = mapped_column(
        ForeignKey("scans.id", ondelete="SET NULL")
    )
    trigger: Mapped[str] = mapped_column(String(16))  # schedule or manual
    status: Mapped[str] = mapped_column(String(16))  # running, completed, failed, skipped
    reason: Mapped[str | None] = mapped_column(Text)
    diff: Mapped[str | None] = mapped_column(Text)  # the diff document as JSON
    events: Mapped[str | None] = mapped_column(Text)  # event types raised, as JSON
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class WebhookEndpoint(Base):
    """Where an organisation's events go; the URL and secret are sealed together."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    origin: Mapped[str] = mapped_column(String(300))  # scheme://host:port, what pages show
    sealed: Mapped[bytes] = mapped_column(LargeBinary)  # {"url", "secret"} as a Fernet token
    format: Mapped[str] = mapped_column(String(8))
    events: Mapped[str | None] = mapped_column(Text)  # JSON list; None: every event type
    failures: Mapped[int] = mapped_column(default=0)  # deliveries failed in a row
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event sent to one endpoint, with its attempts; the body is kept for a re-send."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[str] = mapped_column(Text)  # JSON list of attempts
    resent_from: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
