"""Monitors: starting their runs, and the scheduler that starts them when they are due.

``due`` is the scheduler's one pass, called by the embedded service's ``Scheduler`` thread and
by the Celery beat task alike: for each enabled monitor whose next run time has passed, it moves
the next run time past *now* (so runs missed while the service was down run once, not once per
missed slot) and, if it was this pass that moved it, starts the run. A run is a scan queued like
any other, under the same rules (``policy``); it is skipped while the monitor's previous run is
still waiting for its scan.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from middlebrick.jobs.notify import Outbox, publish
from middlebrick.jobs.policy import TargetPolicy, needs_verified_domain
from middlebrick.jobs.runner import Dispatcher
from middlebrick.jobs.schedule import Schedule, ScheduleError
from middlebrick.store.records import MonitorInfo, RunInfo, now
from middlebrick.store.repository import Repository
from middlebrick.webhooks import scan_failed

__all__ = ["MonitorRunner", "Scheduler", "due"]

log = logging.getLogger("middlebrick.jobs")


@dataclass
class MonitorRunner:
    """Starts a monitor's run: queues its scan, or records why it could not."""

    repo: Repository
    dispatcher: Dispatcher
    outbox: Outbox
    policy: TargetPolicy

    def start(self, monitor: MonitorInfo, trigger: str) -> RunInfo:
        """Queue the monitor's scan now (``trigger``: schedule or manual)."""
        if self.repo.busy(monitor.id):
            return self.repo.add_run(
                monitor.id,
                trigger=trigger,
                scan_id=None,
                status="skipped",
                reason="the previous run is still waiting for its scan",
            )
        needs = needs_verified_domain(
            monitor.options, credentials=monitor.sealed_credentials is not None
        )
        refusal = self.policy.refusal(
            monitor.target,
            spec_url=monitor.options.get("spec_url"),
            verified=self.repo.verified_domains(monitor.org_id) if needs else None,
        )
        if refusal is not None:
            run = self.repo.add_run(
                monitor.id, trigger=trigger, scan_id=None, status="failed", reason=refusal
            )
            publish(self.repo, self.outbox, monitor.org_id, [scan_failed(monitor.target, refusal)])
            return run
        scan = self.repo.add_scan(
            monitor.org_id,
            scan_id=uuid.uuid4().hex,
            url=monitor.target,
            key_id=None,
            options=monitor.options,
            spec_document=monitor.spec_document,
            sealed=monitor.sealed_credentials,
        )
        run = self.repo.add_run(monitor.id, trigger=trigger, scan_id=scan.id)
        self.dispatcher.submit(scan.id)
        return run


def due(repo: Repository, runner: MonitorRunner, moment: datetime) -> list[RunInfo]:
    """Start the runs due at ``moment``: at most one per monitor, however many were missed."""
    started = []
    for monitor in repo.due_monitors(moment):
        try:
            following = Schedule.parse(monitor.schedule, monitor.created_at).next_after(moment)
        except ScheduleError as exc:  # stored before a rule changed: stop it and say why
            log.warning("monitor %s has an unusable schedule: %s", monitor.id, exc)
            repo.update_monitor(monitor.org_id, monitor.id, enabled=False)
            continue
        if repo.advance_monitor(monitor.id, monitor.next_run_at, following):
            started.append(runner.start(monitor, "schedule"))
    return started


class Scheduler:
    """The embedded service's scheduler: a pass every ``every`` seconds on a thread.

    ``clock`` gives the time (naive UTC); tests hand it a fake one and call ``tick``.
    """

    def __init__(
        self,
        repo: Repository,
        runner: MonitorRunner,
        *,
        every: float = 30.0,
        clock: Callable[[], datetime] = now,
    ) -> None:
        self.repo, self.runner, self.every, self.clock = repo, runner, every, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mb-scheduler", daemon=True)

    def tick(self) -> list[RunInfo]:
        """One pass at the clock's time."""
        return due(self.repo, self.runner, self.clock())

    def start(self) -> None:
        """Begin the passes in the background (the first one at once)."""
        self._thread.start()

    def stop(self) -> None:
        """End the background thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the store may be away for a moment; try again next pass
                log.exception("scheduler pass failed")
            self._stop.wait(self.every)
