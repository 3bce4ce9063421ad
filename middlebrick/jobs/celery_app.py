"""Scans on Celery workers (``middlebrick worker``), with a Redis (or any Celery) broker.

The task carries only the scan id; the worker reads the rest from the store and opens the
credentials with the shared ``MIDDLEBRICK_SECRET_KEY``. A worker killed mid-scan loses no scan:
tasks are acknowledged late and rejected back to the queue when their worker process dies, the
broker redelivers what a vanished worker held after the visibility timeout, and the service's
reaper requeues a scan whose heartbeat stopped sooner than that. The task is idempotent.

Two more tasks: ``middlebrick.deliver`` (one webhook delivery, the same job as the embedded
service's) and ``middlebrick.run_monitors`` (the scheduler's pass), which Celery beat sends every
30 seconds (``MIDDLEBRICK_BEAT_EVERY``) when one worker runs with ``--beat``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from middlebrick.errors import UsageError
from middlebrick.jobs.monitors import MonitorRunner, due
from middlebrick.jobs.notify import deliver, scan_ended
from middlebrick.jobs.policy import TargetPolicy
from middlebrick.jobs.runner import JobSettings, run_job
from middlebrick.store.database import open_store
from middlebrick.store.records import now
from middlebrick.store.repository import Repository
from middlebrick.store.sealing import Sealer

__all__ = [
    "DELIVER",
    "MONITORS",
    "TASK",
    "VISIBILITY_TIMEOUT_S",
    "CeleryDispatcher",
    "CeleryOutbox",
    "make_celery",
    "start_worker",
]

TASK = "middlebrick.run_scan"
DELIVER = "middlebrick.deliver"
MONITORS = "middlebrick.run_monitors"
BEAT_EVERY_ENV = "MIDDLEBRICK_BEAT_EVERY"  # seconds between two passes (default 30)
VISIBILITY_TIMEOUT_S = 3600  # longer than any scan's time budget


def _celery() -> Any:
    try:
        import celery
    except ImportError:
        raise UsageError(
            "a broker needs Celery: pip install 'middlebrick[team]' (Celery, Redis, PostgreSQL)"
        ) from None
    return celery


def make_celery(
    broker: str,
    *,
    database_url: str,
    settings: JobSettings | None = None,
    allow_private: bool = False,
) -> Any:
    """The Celery app of the service: ``run_scan(scan_id)``, ``deliver(endpoint_id, event,
    resend)`` and ``run_monitors()``; ``allow_private`` is the administrator's choice about
    loopback and private addresses (monitor targets, webhook receivers)."""
    app = _celery().Celery("middlebrick", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_default_queue="middlebrick",
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_S},
        beat_scheduler="celery.beat:Scheduler",  # the schedule lives in the store, not a file
        beat_schedule={"middlebrick-monitors": {"task": MONITORS, "schedule": _beat_every()}},
    )
    state: dict[str, Any] = {}

    def store() -> tuple[Repository, Sealer]:
        # Opened on first use in each worker process (after the prefork pool forks).
        if "repo" not in state:
            state["repo"] = open_store(database_url)
            state["sealer"] = Sealer(required=True)
        return state["repo"], state["sealer"]

    outbox = CeleryOutbox(app)

    @app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def run_scan(scan_id: str) -> str:
        repo, sealer = store()
        result = run_job(repo, sealer, scan_id, settings=settings)
        if result in ("completed", "failed"):
            scan_ended(repo, outbox, scan_id)
        return result

    @app.task(name=DELIVER, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def deliver_event(endpoint_id: int, event: str | None, resend: str | None) -> str:
        repo, sealer = store()
        job = deliver(
            repo, sealer, endpoint_id, event=event, resend=resend, allow_private=allow_private
        )
        return asyncio.run(job)

    @app.task(name=MONITORS)  # type: ignore[untyped-decorator]
    def run_monitors() -> int:
        repo, _sealer = store()
        runner = MonitorRunner(repo, CeleryDispatcher(app), outbox, TargetPolicy(allow_private))
        return len(due(repo, runner, now()))

    return app


def _beat_every() -> float:
    try:
        return max(1.0, float(os.environ.get(BEAT_EVERY_ENV, "30")))
    except ValueError:
        raise UsageError(f"{BEAT_EVERY_ENV} must be a number of seconds") from None


class CeleryDispatcher:
    """Sends queued scans to the workers through the broker."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def submit(self, scan_id: str) -> None:
        """Queue the task for ``scan_id``."""
        self.app.send_task(TASK, args=[scan_id])


class CeleryOutbox:
    """Sends webhook deliveries to the workers through the broker."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def deliver(self, endpoint_id: int, event: str) -> None:
        """Queue the delivery of ``event`` to the endpoint."""
        self.app.send_task(DELIVER, args=[endpoint_id, event, None])

    def resend(self, endpoint_id: int, delivery_id: str) -> None:
        """Queue a re-send of a logged delivery."""
        self.app.send_task(DELIVER, args=[endpoint_id, None, delivery_id])


def start_worker(
    broker: str,
    *,
    database_url: str,
    concurrency: int,
    beat: bool = False,
    allow_private: bool = False,
) -> None:
    """Run a Celery worker in this process until it is stopped (with the scheduler of monitors
    when ``beat``: run exactly one such worker)."""
    Sealer(required=True)  # fail now, not at the first task, when the key is missing
    app = make_celery(broker, database_url=database_url, allow_private=allow_private)
    args = [
        "worker",
        "--loglevel=INFO",
        f"--concurrency={concurrency}",
        "--without-gossip",
        "--without-mingle",
        "-Q",
        "middlebrick",
    ]
    app.worker_main([*args, "--beat"] if beat else args)
