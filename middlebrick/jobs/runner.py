"""The one task: claim a queued scan, run the engine on it, keep the store told, store the report.

``run_job`` is what the in-process pool and the Celery task both call. While the engine runs,
a heartbeat writes the scan's phase and progress (from the engine's events) every second; when
the store says the scan is no longer this worker's (deleted, or given up on and requeued), the
scan is cancelled. Credentials are opened from their sealed form only for the scan itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from middlebrick.config import Credential, ScanRequest
from middlebrick.engine import scan
from middlebrick.errors import MiddlebrickError, SpecError, TargetUnreachable
from middlebrick.events import (
    CheckFinished,
    CheckStarted,
    Event,
    OperationBaselined,
    ScanFinished,
    ScanStarted,
    SurfaceReady,
)
from middlebrick.report import Report
from middlebrick.store.records import Job, now
from middlebrick.store.repository import Repository
from middlebrick.store.sealing import Sealer

__all__ = ["BEAT_S", "Dispatcher", "JobSettings", "redacted", "report_summary", "run_job"]

log = logging.getLogger("middlebrick.jobs")

BEAT_S = 1.0  # how often a running scan tells the store it is alive
_SHORTEST_SECRET = 4  # shorter values are not searched for (they would match anything)


class Dispatcher(Protocol):
    """Hands a queued scan to a worker: the in-process pool or a Celery broker."""

    def submit(self, scan_id: str) -> None:
        """Have the scan ``scan_id`` run soon."""


@dataclass(frozen=True)
class JobSettings:
    """How jobs treat silent workers."""

    stale_after: timedelta = timedelta(seconds=30)  # no heartbeat for this long: worker is gone
    max_attempts: int = 3  # a scan whose worker died this often ends failed


def run_job(
    repo: Repository,
    sealer: Sealer,
    scan_id: str,
    *,
    settings: JobSettings | None = None,
    stop: threading.Event | None = None,
) -> str:
    """Run the scan ``scan_id`` if it is this worker's to run; return what became of it."""
    settings = settings or JobSettings()
    attempt = repo.claim(scan_id, stale_before=now() - settings.stale_after)
    if attempt is None:
        return "skipped"
    job = repo.job(scan_id)
    if job is None:
        return "skipped"
    with tempfile.TemporaryDirectory(prefix="middlebrick-job-") as folder:
        try:
            request = scan_request(job, sealer, Path(folder))
        except MiddlebrickError as exc:
            repo.fail(scan_id, str(exc), failure="credentials", attempt=attempt)
            return "failed"
        tracker = _Tracker(
            repo, scan_id, attempt, stop or threading.Event(), secrets=_secrets(request)
        )
        try:
            report = asyncio.run(tracker.run(request))
        except _Stopped as stopped:
            if stopped.requeue:
                repo.requeue(scan_id, attempt)
                return "requeued"
            return "abandoned"
        except MiddlebrickError as exc:
            tracker.flush()
            repo.fail(scan_id, str(exc), failure=failure_kind(exc), attempt=attempt)
            return "failed"
        except Exception as exc:  # the service must outlive any scan
            log.exception("scan %s stopped on an internal error", scan_id)
            tracker.flush()
            reason = f"the scan stopped on an internal error ({type(exc).__name__})"
            repo.fail(scan_id, reason, failure="internal", attempt=attempt)
            return "failed"
    tracker.flush()
    report = redacted(report.model_copy(update={"scan_id": scan_id}), request)
    return "completed" if repo.finish(scan_id, attempt, report, report_summary(report)) else "lost"


def scan_request(job: Job, sealer: Sealer, folder: Path) -> ScanRequest:
    """The engine's request for a stored job; the spec text goes to a file in ``folder``."""
    options = job.options
    headers: tuple[tuple[str, str], ...] = ()
    secret: dict[str, Credential] = {}
    if job.sealed_credentials is not None:
        headers, secret = sealer.open(job.sealed_credentials)
    spec = options.get("spec_url")
    if job.spec_document is not None:
        path = folder / "openapi.spec"
        path.write_text(job.spec_document, encoding="utf-8")
        spec = str(path)
    identities = {}
    for entry in options.get("identities", []):
        credential = secret.get(entry["name"], Credential())
        identities[entry["name"]] = credential.model_copy(update={"owns": tuple(entry["owns"])})
    return ScanRequest(
        target=job.target,
        spec=spec,
        headers=headers,
        identities=identities,
        tier=options.get("tier", "standard"),
        context=options.get("context", "general"),
        mode=options.get("mode", "safe"),
    )


def failure_kind(exc: MiddlebrickError) -> str:
    """The kind of a scan's failure, as the API shows it."""
    if isinstance(exc, TargetUnreachable):
        return "unreachable"
    return "spec" if isinstance(exc, SpecError) else "usage"


def redacted(report: Report, request: ScanRequest) -> Report:
    """The report with every credential value of ``request`` replaced, wherever it appears.

    The engine redacts evidence itself; this is the store's own guarantee on top of it.
    """
    text = report.model_dump_json()
    changed = text
    for value in _secrets(request):
        changed = changed.replace(json.dumps(value)[1:-1], "[REDACTED]")
    return report if changed == text else Report.model_validate_json(changed)


def _secrets(request: ScanRequest) -> tuple[str, ...]:
    """The credential values of ``request``, longest first (short ones would match anything)."""
    values = {v for _, v in request.headers} | {
        v for c in request.identities.values() for v in c.secrets
    }
    return tuple(sorted((v for v in values if len(v) >= _SHORTEST_SECRET), key=len, reverse=True))


def report_summary(report: Report) -> dict[str, Any]:
    """What the scan's status shows besides score and grade: categories, coverage, counts."""
    return {
        "categories": {
            c.id: {"score": c.score, "status": c.status, "findings": c.findings}
            for c in report.categories
        },
        "coverage": {
            "operations": report.operations,
            "requests": report.requests,
            "complete": report.complete,
            **(
                {
                    "requested": report.coverage.requested,
                    "usable": report.coverage.usable,
                    "incomplete": report.coverage.incomplete,
                }
                if report.coverage is not None
                else {}
            ),
        },
        "severities": {s.value: n for s, n in report.counts_by_severity().items()},
    }


class _Stopped(Exception):
    def __init__(self, requeue: bool) -> None:
        super().__init__("stopped")
        self.requeue = requeue


@dataclass
class _Tracker:
    """Turns engine events into progress and lines, and keeps the heartbeat."""

    repo: Repository
    scan_id: str
    attempt: int
    stop: threading.Event
    operations: int = 0
    baselined: int = 0
    started: int = 0
    finished: int = 0
    phase: str = "starting"
    secrets: tuple[str, ...] = ()
    lines: deque[str] = field(default_factory=deque)
    owned: bool = True

    async def run(self, request: ScanRequest) -> Report:
        task = asyncio.create_task(scan(request, on_event=self.handle))
        while not task.done():
            await asyncio.wait({task}, timeout=BEAT_S)
            if task.done():
                break
            owned = await asyncio.to_thread(self.flush)
            if not owned or self.stop.is_set():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise _Stopped(requeue=owned)
        return task.result()

    def handle(self, event: Event) -> None:
        if isinstance(event, ScanStarted):
            self.phase = "surface"
            self.lines.append(f"scanning {event.target} ({event.mode} mode, {event.tier} tier)")
        elif isinstance(event, SurfaceReady):
            self.operations, self.phase = event.operations, "baseline"
            self.lines.append(f"surface: {event.operations} operation(s) ({event.origin})")
        elif isinstance(event, OperationBaselined):
            self.baselined += 1
        elif isinstance(event, CheckStarted):
            self.started += 1
            self.phase = "checks"
        elif isinstance(event, CheckFinished):
            self.finished += 1
            note = f" — {event.note}" if event.note else ""
            self.lines.append(
                f"check {event.check}: {event.status}, {event.findings} finding(s), "
                f"{event.requests} request(s){note}"
            )
        elif isinstance(event, ScanFinished):
            self.phase = "report"
            self.lines.append(
                f"done: {event.report.requests} requests in {event.report.duration_s:.1f} s, "
                f"{len(event.report.findings)} finding(s)"
            )

    @property
    def progress(self) -> int:
        baseline = self.baselined / self.operations if self.operations else 0.0
        checks = self.finished / self.started if self.started else 0.0
        return int(5 + 25 * min(baseline, 1.0) + 69 * checks)

    def flush(self) -> bool:
        """Write the pending lines and the heartbeat; False once the scan is not ours."""
        while self.lines:
            line = self.lines.popleft()
            for value in self.secrets:
                line = line.replace(value, "[REDACTED]")
            self.repo.add_event(self.scan_id, line)
        phase = f"{self.phase} ({self.finished}/{self.started} checks)" if self.started else None
        self.owned = self.repo.beat(
            self.scan_id, self.attempt, phase=phase or self.phase, progress=self.progress
        )
        return self.owned
