"""Scans on Celery workers (``middlebrick worker``), with a Redis (or any Celery) broker.

The task carries only the scan id; the worker reads the rest from the store and opens the
credentials with the shared ``MIDDLEBRICK_SECRET_KEY``. A worker killed mid-scan loses no scan:
tasks are acknowledged late and rejected back to the queue when their worker process dies, the
broker redelivers what a vanished worker held after the visibility timeout, and the service's
reaper requeues a scan whose heartbeat stopped sooner than that. The task is idempotent.
"""

from __future__ import annotations

from typing import Any

from middlebrick.errors import UsageError
from middlebrick.jobs.runner import JobSettings, run_job
from middlebrick.store.database import open_store
from middlebrick.store.repository import Repository
from middlebrick.store.sealing import Sealer

__all__ = ["TASK", "VISIBILITY_TIMEOUT_S", "CeleryDispatcher", "make_celery", "start_worker"]

TASK = "middlebrick.run_scan"
VISIBILITY_TIMEOUT_S = 3600  # longer than any scan's time budget


def _celery() -> Any:
    try:
        import celery
    except ImportError:
        raise UsageError(
            "a broker needs Celery: pip install 'middlebrick[team]' (Celery, Redis, PostgreSQL)"
        ) from None
    return celery


def make_celery(broker: str, *, database_url: str, settings: JobSettings | None = None) -> Any:
    """The Celery app of the service: one task, ``middlebrick.run_scan(scan_id)``."""
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
    )
    state: dict[str, Any] = {}

    def store() -> tuple[Repository, Sealer]:
        # Opened on first use in each worker process (after the prefork pool forks).
        if "repo" not in state:
            state["repo"] = open_store(database_url)
            state["sealer"] = Sealer(required=True)
        return state["repo"], state["sealer"]

    @app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def run_scan(scan_id: str) -> str:
        repo, sealer = store()
        return run_job(repo, sealer, scan_id, settings=settings)

    return app


class CeleryDispatcher:
    """Sends queued scans to the workers through the broker."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def submit(self, scan_id: str) -> None:
        """Queue the task for ``scan_id``."""
        self.app.send_task(TASK, args=[scan_id])


def start_worker(broker: str, *, database_url: str, concurrency: int) -> None:
    """Run a Celery worker in this process until it is stopped."""
    Sealer(required=True)  # fail now, not at the first task, when the key is missing
    app = make_celery(broker, database_url=database_url)
    app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            "middlebrick",
        ]
    )
