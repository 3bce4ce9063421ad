"""The repository's queries for workers and the reaper: claim, heartbeat, finish, fail, requeue.

They act on a scan id the service itself handed out, and each write is guarded by the attempt
number, so a worker that was given up on can no longer write.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from middlebrick.report import Report
from middlebrick.store._base import Store
from middlebrick.store.models import FindingRow, ReportRow, Scan, ScanEvent, Target
from middlebrick.store.records import Job, ScanInfo, now


class Jobs(Store):
    """What workers and the reaper do to scans."""

    def job(self, scan_id: str) -> Job | None:
        """What a worker needs to run the scan ``scan_id``."""
        with self._tx() as s:
            row = s.execute(
                select(Scan, Target.url)
                .join(Target, Target.id == Scan.target_id)
                .where(Scan.id == scan_id)
            ).first()
            if row is None:
                return None
            scan, url = row
            return Job(
                scan_id=scan.id,
                target=url,
                status=scan.status,  # type: ignore[arg-type]
                attempts=scan.attempts,
                options=ScanInfo.options_of(scan.options),
                spec_document=scan.spec_document,
                sealed_credentials=scan.sealed_credentials,
            )

    def claim(self, scan_id: str, *, stale_before: datetime) -> int | None:
        """Start the scan if it is queued (or running on a worker silent since ``stale_before``).

        Returns the attempt number that owns it now, or None when another owns or ended it.
        """
        with self._tx() as s:
            scan = s.scalar(select(Scan).where(Scan.id == scan_id).with_for_update())
            if scan is None:
                return None
            silent = scan.heartbeat_at is None or scan.heartbeat_at < stale_before
            if not (scan.status == "queued" or (scan.status == "running" and silent)):
                return None
            moment = now()
            scan.status, scan.attempts = "running", scan.attempts + 1
            scan.started_at = scan.started_at or moment
            scan.heartbeat_at, scan.phase = moment, "starting"
            return scan.attempts

    def beat(
        self, scan_id: str, attempt: int, *, phase: str | None = None, progress: int | None = None
    ) -> bool:
        """Record that the worker is alive (and where it is); False when it no longer owns it."""
        values: dict[str, Any] = {"heartbeat_at": now()}
        if phase is not None:
            values["phase"] = phase[:200]
        if progress is not None:
            values["progress"] = max(0, min(100, progress))
        with self._tx() as s:
            done = s.execute(_owned(scan_id, attempt).values(**values))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def add_event(self, scan_id: str, text: str) -> None:
        """Append a line to a scan's progress."""
        with self._tx() as s:
            if s.get(Scan, scan_id) is not None:
                s.add(ScanEvent(scan_id=scan_id, at=now(), text=text[:2000]))

    def finish(self, scan_id: str, attempt: int, report: Report, summary: dict[str, Any]) -> bool:
        """Store the report of a completed scan and forget its credentials."""
        with self._tx() as s:
            done = s.execute(
                _owned(scan_id, attempt).values(
                    status="completed",
                    progress=100,
                    phase="completed",
                    score=report.score,
                    grade=report.grade,
                    summary=json.dumps(summary),
                    finished_at=now(),
                    sealed_credentials=None,
                )
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                return False
            s.add(ReportRow(scan_id=scan_id, body=report.model_dump_json()))
            s.add_all(
                FindingRow(
                    scan_id=scan_id,
                    fingerprint=f.fingerprint,
                    type_id=f.type_id,
                    category=f.category,
                    severity=f.severity.value,
                    confidence=f.confidence.value,
                    operation=f.operation,
                    title=f.title,
                )
                for f in report.findings
            )
            return True

    def fail(
        self, scan_id: str, reason: str, *, failure: str = "error", attempt: int | None = None
    ) -> bool:
        """End the scan as failed with ``reason`` (a ``failure`` kind) and forget its
        credentials."""
        query = update(Scan).where(Scan.id == scan_id, Scan.status.in_(("queued", "running")))
        if attempt is not None:
            query = _owned(scan_id, attempt)
        with self._tx() as s:
            done = s.execute(
                query.values(
                    status="failed",
                    phase="failed",
                    reason=reason[:2000],
                    failure=failure,
                    finished_at=now(),
                    sealed_credentials=None,
                )
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def requeue(self, scan_id: str, attempt: int) -> bool:
        """Put a scan whose worker went silent back in the queue."""
        with self._tx() as s:
            done = s.execute(_owned(scan_id, attempt).values(status="queued", phase="requeued"))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def silent(self, before: datetime) -> list[tuple[str, int]]:
        """Running scans whose worker has not been heard of since ``before``: (id, attempt)."""
        with self._tx() as s:
            rows = s.execute(
                select(Scan.id, Scan.attempts).where(
                    Scan.status == "running", Scan.heartbeat_at < before
                )
            )
            return [(r[0], r[1]) for r in rows]

    def queued(self) -> list[str]:
        """Ids of the queued scans, oldest first."""
        with self._tx() as s:
            return list(
                s.scalars(select(Scan.id).where(Scan.status == "queued").order_by(Scan.created_at))
            )


def _owned(scan_id: str, attempt: int) -> Any:
    return update(Scan).where(
        Scan.id == scan_id, Scan.status == "running", Scan.attempts == attempt
    )
