"""Running scans for the service: one job function, the in-process pool, Celery tasks.

``run_job`` is the whole task: the in-process pool (default) and the Celery task call it alike.
It is idempotent: a scan that is already running on a live worker, finished or deleted is left
alone, and a worker that was given up on can no longer write.
"""

from __future__ import annotations

from middlebrick.jobs.runner import Dispatcher, run_job

__all__ = ["Dispatcher", "run_job"]
