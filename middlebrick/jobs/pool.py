"""The embedded service's workers: a pool of threads in the service's own process, and the reaper.

The pool runs ``run_job`` on a few threads (each scan in its own event loop). On start it takes
up the scans left queued; on stop it hands its running scans back to the queue. The reaper runs
with either dispatcher: a ``running`` scan whose worker has been silent for longer than the
stale window is queued again, or ends ``failed`` with the reason after ``max_attempts``.
Both call ``on_end(scan_id)`` for a scan that ended (its events and webhooks).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from middlebrick.jobs.runner import Dispatcher, JobSettings, run_job
from middlebrick.store.records import now
from middlebrick.store.repository import Repository
from middlebrick.store.sealing import Sealer

__all__ = ["InProcessPool", "Reaper"]

log = logging.getLogger("middlebrick.jobs")

OnEnd = Callable[[str], object]


def _ended(on_end: OnEnd | None, scan_id: str) -> None:
    if on_end is None:
        return
    try:
        on_end(scan_id)
    except Exception:  # the scan is stored; its notifications must not take the worker down
        log.exception("the events of scan %s could not be sent", scan_id)


class InProcessPool:
    """Runs scans on threads of this process."""

    def __init__(
        self,
        repo: Repository,
        sealer: Sealer,
        *,
        workers: int = 2,
        settings: JobSettings,
        on_end: OnEnd | None = None,
    ) -> None:
        self.repo, self.sealer, self.settings, self.on_end = repo, sealer, settings, on_end
        self._stop = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mb-scan")
        self._futures: set[Future[str]] = set()

    def start(self) -> None:
        """Take up the scans the store holds as queued."""
        for scan_id in self.repo.queued():
            self.submit(scan_id)

    def submit(self, scan_id: str) -> None:
        """Run the scan on the next free thread."""
        if self._stop.is_set():
            return
        future = self._executor.submit(self._run, scan_id)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)

    def _run(self, scan_id: str) -> str:
        try:
            result = run_job(
                self.repo, self.sealer, scan_id, settings=self.settings, stop=self._stop
            )
        except Exception:  # a store outage must not kill the thread silently
            log.exception("job %s could not run", scan_id)
            return "error"
        if result in ("completed", "failed"):
            _ended(self.on_end, scan_id)
        return result

    def stop(self) -> None:
        """Hand the running scans back to the queue and end the threads."""
        self._stop.set()
        self._executor.shutdown(wait=True, cancel_futures=True)


class Reaper:
    """Requeues or fails scans whose worker went silent, every ``every`` seconds."""

    def __init__(
        self,
        repo: Repository,
        dispatcher: Dispatcher,
        *,
        settings: JobSettings,
        every: float = 5.0,
        on_end: OnEnd | None = None,
    ) -> None:
        self.repo, self.dispatcher, self.settings, self.every = repo, dispatcher, settings, every
        self.on_end = on_end
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mb-reaper", daemon=True)

    def start(self) -> None:
        """Begin reaping in the background."""
        self._thread.start()

    def stop(self) -> None:
        """End the background thread."""
        self._stop.set()
        self._thread.join(timeout=10)

    def reap(self) -> list[tuple[str, str]]:
        """One pass: (scan id, "requeued" or "failed") for each silent scan."""
        done = []
        for scan_id, attempt in self.repo.silent(now() - self.settings.stale_after):
            if attempt >= self.settings.max_attempts:
                reason = (
                    f"the worker running this scan stopped {attempt} times (killed, or out of "
                    "memory) without finishing it; the scan was given up"
                )
                if self.repo.fail(scan_id, reason, failure="worker_lost", attempt=attempt):
                    done.append((scan_id, "failed"))
                    _ended(self.on_end, scan_id)
            elif self.repo.requeue(scan_id, attempt):
                self.repo.add_event(scan_id, "its worker went silent; the scan was queued again")
                self.dispatcher.submit(scan_id)
                done.append((scan_id, "requeued"))
        return done

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.reap()
            except Exception:  # the store may be away for a moment; try again next pass
                log.exception("reaper pass failed")
