"""How one service runs: store, workers, limits. Flags of ``middlebrick serve`` fill it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from middlebrick.domains import DomainVerifier
from middlebrick.jobs.runner import JobSettings

__all__ = ["ServiceSettings"]


def _stale_after() -> timedelta:
    return timedelta(seconds=float(os.environ.get("MIDDLEBRICK_STALE_AFTER", "30")))


@dataclass(frozen=True)
class ServiceSettings:
    """Where the store is, who runs the scans, and the limits of the API."""

    database_url: str | None = None  # None: default_database_url()
    broker: str | None = None  # None: the in-process pool
    workers: int = 2  # threads of the in-process pool
    rate_limit: int = 600  # requests per minute per API key (a new key's default)
    daily_scans: int = 500  # scans per key per 24 hours (a new key's default)
    session_hours: int = 12
    reap_every: float = 5.0
    jobs: JobSettings = field(default_factory=lambda: JobSettings(stale_after=_stale_after()))
    # The administrator's choice: scan targets, verify domains and deliver webhooks at loopback
    # and private addresses (docs/server.md).
    allow_private: bool = False
    verifier: DomainVerifier = field(default_factory=DomainVerifier)  # its DNS resolver
    secret_key: str | None = None  # None: MIDDLEBRICK_SECRET_KEY
    schedule_every: float = 30.0  # seconds between the in-process scheduler's passes
