"""The repository's queries about monitors and their runs.

Queries that name an organisation serve the API and the dashboard; ``due_monitors``,
``advance_monitor``, ``run_of_scan`` and ``end_run`` serve the scheduler and the workers, which
act on ids the service itself handed out. ``advance_monitor`` is a compare-and-set on the next
run time, so two schedulers (a restart, two beat processes) never start the same run twice.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import aliased

from middlebrick.store._base import Store, ensure_target
from middlebrick.store.models import Monitor, MonitorRun, Scan, Target
from middlebrick.store.records import MonitorInfo, RunInfo, now


class Monitors(Store):
    """Monitors, their schedule and their runs."""

    def add_monitor(
        self,
        org_id: int,
        *,
        url: str,
        name: str,
        schedule: str,
        options: dict[str, Any],
        spec_document: str | None,
        sealed: bytes | None,
        rules: dict[str, Any],
        next_run_at: datetime,
        enabled: bool = True,
    ) -> MonitorInfo:
        """Create a monitor of ``url`` for the organisation (its target is made on first use)."""
        with self._tx() as s:
            row = Monitor(
                org_id=org_id,
                target_id=ensure_target(s, org_id, url),
                name=name,
                schedule=schedule,
                options=json.dumps(options),
                spec_document=spec_document,
                sealed_credentials=sealed,
                rules=json.dumps(rules),
                enabled=enabled,
                next_run_at=next_run_at,
                created_at=now(),
            )
            s.add(row)
            s.flush()
            return _monitor(row, url)

    def monitors(self, org_id: int) -> list[MonitorInfo]:
        """The organisation's monitors, by name."""
        with self._tx() as s:
            rows = s.execute(_monitors().where(Monitor.org_id == org_id).order_by(Monitor.name))
            return [_monitor(m, url) for m, url in rows]

    def monitor(self, org_id: int, monitor_id: int) -> MonitorInfo | None:
        """One of the organisation's monitors."""
        with self._tx() as s:
            row = s.execute(
                _monitors().where(Monitor.org_id == org_id, Monitor.id == monitor_id)
            ).first()
            return None if row is None else _monitor(row[0], row[1])

    def update_monitor(self, org_id: int, monitor_id: int, **values: Any) -> MonitorInfo | None:
        """Change a monitor's ``name``, ``schedule``, ``rules``, ``enabled`` or ``next_run_at``."""
        allowed = {"name", "schedule", "rules", "enabled", "next_run_at"}
        assert set(values) <= allowed, set(values) - allowed
        if "rules" in values:
            values["rules"] = json.dumps(values["rules"])
        if values:
            with self._tx() as s:
                s.execute(
                    update(Monitor)
                    .where(Monitor.org_id == org_id, Monitor.id == monitor_id)
                    .values(**values)
                )
        return self.monitor(org_id, monitor_id)

    def delete_monitor(self, org_id: int, monitor_id: int) -> bool:
        """Delete a monitor and its runs (their scans stay in the history)."""
        with self._tx() as s:
            row = s.scalar(
                select(Monitor).where(Monitor.org_id == org_id, Monitor.id == monitor_id)
            )
            if row is None:
                return False
            s.execute(delete(MonitorRun).where(MonitorRun.monitor_id == monitor_id))
            s.delete(row)
            return True

    def due_monitors(self, moment: datetime) -> list[MonitorInfo]:
        """Enabled monitors of every organisation whose next run is at or before ``moment``."""
        with self._tx() as s:
            rows = s.execute(
                _monitors()
                .where(Monitor.enabled.is_(True), Monitor.next_run_at <= moment)
                .order_by(Monitor.next_run_at)
            )
            return [_monitor(m, url) for m, url in rows]

    def advance_monitor(self, monitor_id: int, expected: datetime, next_run_at: datetime) -> bool:
        """Move the next run from ``expected`` to ``next_run_at``; False when another scheduler
        moved it first (the run is then theirs to start)."""
        with self._tx() as s:
            done = s.execute(
                update(Monitor)
                .where(Monitor.id == monitor_id, Monitor.next_run_at == expected)
                .values(next_run_at=next_run_at, last_run_at=now())
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def add_run(
        self,
        monitor_id: int,
        *,
        trigger: str,
        scan_id: str | None,
        status: str = "running",
        reason: str | None = None,
    ) -> RunInfo:
        """Record a run of the monitor (a skipped one has no scan and says why)."""
        moment = now()
        with self._tx() as s:
            row = MonitorRun(
                monitor_id=monitor_id,
                scan_id=scan_id,
                trigger=trigger,
                status=status,
                reason=reason,
                created_at=moment,
                finished_at=None if status == "running" else moment,
            )
            s.add(row)
            s.flush()
            return _run(row)

    def runs(self, org_id: int, monitor_id: int, *, limit: int = 50) -> list[RunInfo]:
        """The monitor's runs, newest first, with their scans' scores."""
        with self._tx() as s:
            rows = s.execute(
                _runs(org_id)
                .where(MonitorRun.monitor_id == monitor_id)
                .order_by(MonitorRun.id.desc())
                .limit(limit)
            )
            return [_run(r, score, grade) for r, score, grade in rows]

    def run(self, org_id: int, monitor_id: int, run_id: int) -> RunInfo | None:
        """One run of one of the organisation's monitors."""
        with self._tx() as s:
            row = s.execute(
                _runs(org_id).where(MonitorRun.monitor_id == monitor_id, MonitorRun.id == run_id)
            ).first()
            return None if row is None else _run(row[0], row[1], row[2])

    def busy(self, monitor_id: int) -> bool:
        """Whether a run of the monitor still waits for its scan."""
        with self._tx() as s:
            found = s.scalar(
                select(MonitorRun.id)
                .join(Scan, Scan.id == MonitorRun.scan_id)
                .where(
                    MonitorRun.monitor_id == monitor_id,
                    MonitorRun.status == "running",
                    Scan.status.in_(("queued", "running")),
                )
                .limit(1)
            )
            return found is not None

    def run_of_scan(self, scan_id: str) -> tuple[RunInfo, MonitorInfo] | None:
        """The monitor run a scan belongs to, and its monitor."""
        with self._tx() as s:
            run = s.scalar(select(MonitorRun).where(MonitorRun.scan_id == scan_id))
            if run is None:
                return None
            row = s.execute(_monitors().where(Monitor.id == run.monitor_id)).first()
            return None if row is None else (_run(run), _monitor(row[0], row[1]))

    def end_run(
        self,
        run_id: int,
        status: str,
        *,
        previous_scan_id: str | None = None,
        diff: dict[str, Any] | None = None,
        events: list[str] | None = None,
        reason: str | None = None,
    ) -> None:
        """Record how a run ended: the scan it was compared with, the diff, the events raised."""
        with self._tx() as s:
            s.execute(
                update(MonitorRun)
                .where(MonitorRun.id == run_id, MonitorRun.status == "running")
                .values(
                    status=status,
                    previous_scan_id=previous_scan_id,
                    diff=None if diff is None else json.dumps(diff),
                    events=json.dumps(events or []),
                    reason=None if reason is None else reason[:2000],
                    finished_at=now(),
                )
            )

    def previous_scan(self, org_id: int, target_id: int, scan_id: str) -> str | None:
        """The target's latest completed scan submitted before ``scan_id``."""
        with self._tx() as s:
            created = s.scalar(
                select(Scan.created_at).where(Scan.org_id == org_id, Scan.id == scan_id)
            )
            if created is None:
                return None
            return s.scalar(
                select(Scan.id)
                .where(
                    Scan.org_id == org_id,
                    Scan.target_id == target_id,
                    Scan.status == "completed",
                    Scan.id != scan_id,
                    Scan.created_at <= created,
                )
                .order_by(Scan.created_at.desc(), Scan.id.desc())
                .limit(1)
            )


def _monitors() -> Select[Monitor, str]:
    return select(Monitor, Target.url).join(Target, Target.id == Monitor.target_id)


def _runs(org_id: int) -> Select[MonitorRun, int | None, str | None]:
    scan = aliased(Scan)
    return (
        select(MonitorRun, scan.score, scan.grade)
        .join(Monitor, Monitor.id == MonitorRun.monitor_id)
        .outerjoin(scan, scan.id == MonitorRun.scan_id)
        .where(Monitor.org_id == org_id)
    )


def _monitor(row: Monitor, url: str) -> MonitorInfo:
    return MonitorInfo(
        id=row.id,
        org_id=row.org_id,
        target_id=row.target_id,
        target=url,
        name=row.name,
        schedule=row.schedule,
        options=json.loads(row.options),
        rules=json.loads(row.rules),
        enabled=row.enabled,
        next_run_at=row.next_run_at,
        last_run_at=row.last_run_at,
        created_at=row.created_at,
        spec_document=row.spec_document,
        sealed_credentials=row.sealed_credentials,
    )


def _run(row: MonitorRun, score: int | None = None, grade: str | None = None) -> RunInfo:
    return RunInfo(
        id=row.id,
        monitor_id=row.monitor_id,
        scan_id=row.scan_id,
        previous_scan_id=row.previous_scan_id,
        trigger=row.trigger,
        status=row.status,  # type: ignore[arg-type]
        reason=row.reason,
        diff=json.loads(row.diff) if row.diff else None,
        events=tuple(json.loads(row.events)) if row.events else (),
        created_at=row.created_at,
        finished_at=row.finished_at,
        score=score,
        grade=grade,
    )
