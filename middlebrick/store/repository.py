"""Every query of the service, and only here (with its parts: ``_accounts``, ``_jobs``,
``_monitors``, ``_webhooks`` and ``_domains``).

Queries about an organisation's data take its id: scans, targets, reports and events are only
ever read or changed through a query that names the organisation, so one organisation's key or
session cannot reach another's rows even by guessing ids. The job methods (``claim``, ``beat``,
``finish``…) act on a scan id the service itself handed to a worker, and are guarded by the
attempt number so a worker that was given up on can no longer write.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, delete, func, select

from middlebrick.report import Report
from middlebrick.store._accounts import Accounts
from middlebrick.store._base import ensure_target
from middlebrick.store._domains import Domains
from middlebrick.store._jobs import Jobs
from middlebrick.store._monitors import Monitors
from middlebrick.store._webhooks import Webhooks
from middlebrick.store.models import FindingRow, ReportRow, Scan, ScanEvent, Target
from middlebrick.store.records import (
    EventLine,
    FindingLine,
    HistoryPoint,
    ScanInfo,
    ScanStatus,
    TargetInfo,
    now,
)

__all__ = ["Repository"]

_HISTORY = 50  # scans of a target's trend


class Repository(Accounts, Jobs, Monitors, Webhooks, Domains):
    """The store's queries over one SQLAlchemy engine: accounts, jobs, scans and targets,
    monitors, webhooks and domains."""

    def add_scan(
        self,
        org_id: int,
        *,
        scan_id: str,
        url: str,
        key_id: int | None,
        options: dict[str, Any],
        spec_document: str | None,
        sealed: bytes | None,
    ) -> ScanInfo:
        """Queue a scan of ``url`` for the organisation (its target is made on first use)."""
        with self._tx() as s:
            scan = Scan(
                id=scan_id,
                org_id=org_id,
                target_id=ensure_target(s, org_id, url),
                api_key_id=key_id,
                status="queued",
                options=json.dumps(options),
                spec_document=spec_document,
                sealed_credentials=sealed,
                phase="queued",
                progress=0,
                attempts=0,
                created_at=now(),
            )
            s.add(scan)
            s.flush()
            return _scan_info(scan, url)

    def scan(self, org_id: int, scan_id: str) -> ScanInfo | None:
        """One of the organisation's scans."""
        with self._tx() as s:
            row = s.execute(_scans(org_id).where(Scan.id == scan_id)).first()
            return None if row is None else _scan_info(row[0], row[1])

    def scan_of_job(self, scan_id: str) -> ScanInfo | None:
        """A scan by the id the service handed to a worker (for the events of its end)."""
        with self._tx() as s:
            row = s.execute(
                select(Scan, Target.url)
                .join(Target, Target.id == Scan.target_id)
                .where(Scan.id == scan_id)
            ).first()
            return None if row is None else _scan_info(row[0], row[1])

    def scans(
        self,
        org_id: int,
        *,
        target: str | None = None,
        status: ScanStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[ScanInfo], int]:
        """The organisation's scans, newest first, and how many match in all."""
        query = _scans(org_id)
        if target is not None:
            query = query.where(
                Target.id == int(target) if target.isdigit() else Target.url == target
            )
        if status is not None:
            query = query.where(Scan.status == status)
        with self._tx() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.execute(
                query.order_by(Scan.created_at.desc(), Scan.id).limit(limit).offset(offset)
            )
            return [_scan_info(scan, url) for scan, url in rows], total

    def delete_scan(self, org_id: int, scan_id: str) -> bool:
        """Delete one of the organisation's scans with its report; False when it has none."""
        with self._tx() as s:
            scan = s.scalar(select(Scan).where(Scan.org_id == org_id, Scan.id == scan_id))
            if scan is None:
                return False
            for table in (ReportRow, FindingRow, ScanEvent):
                s.execute(delete(table).where(table.scan_id == scan_id))
            s.delete(scan)
            return True

    def report(self, org_id: int, scan_id: str) -> Report | None:
        """The report of one of the organisation's completed scans."""
        with self._tx() as s:
            body = s.scalar(
                select(ReportRow.body)
                .join(Scan, Scan.id == ReportRow.scan_id)
                .where(Scan.org_id == org_id, Scan.id == scan_id)
            )
        return None if body is None else Report.model_validate_json(body)

    def findings(self, org_id: int, scan_id: str) -> list[FindingLine]:
        """The findings of one of the organisation's completed scans, worst first."""
        with self._tx() as s:
            rows = s.scalars(
                select(FindingRow)
                .join(Scan, Scan.id == FindingRow.scan_id)
                .where(Scan.org_id == org_id, Scan.id == scan_id)
                .order_by(FindingRow.id)
            )
            return [
                FindingLine(
                    fingerprint=r.fingerprint,
                    type_id=r.type_id,
                    category=r.category,
                    severity=r.severity,
                    confidence=r.confidence,
                    operation=r.operation,
                    title=r.title,
                )
                for r in rows
            ]

    def events(self, org_id: int, scan_id: str, *, after: int = 0) -> list[EventLine]:
        """The progress lines of one of the organisation's scans, after the line ``after``."""
        with self._tx() as s:
            rows = s.execute(
                select(ScanEvent.id, ScanEvent.at, ScanEvent.text)
                .join(Scan, Scan.id == ScanEvent.scan_id)
                .where(Scan.org_id == org_id, Scan.id == scan_id, ScanEvent.id > after)
                .order_by(ScanEvent.id)
                .limit(500)
            )
            return [EventLine(id=r[0], at=r[1], text=r[2]) for r in rows]

    def targets(self, org_id: int, *, target_id: int | None = None) -> list[TargetInfo]:
        """The organisation's targets (or the one with ``target_id``) with their score history."""
        query = select(Target).where(Target.org_id == org_id).order_by(Target.url)
        if target_id is not None:
            query = query.where(Target.id == target_id)
        with self._tx() as s:
            found = []
            for target in s.scalars(query):
                rows = s.execute(
                    select(Scan.id, Scan.finished_at, Scan.score, Scan.grade)
                    .where(
                        Scan.org_id == org_id,
                        Scan.target_id == target.id,
                        Scan.status == "completed",
                    )
                    .order_by(Scan.finished_at.desc())
                    .limit(_HISTORY)
                ).all()
                history = tuple(
                    HistoryPoint(
                        scan_id=r[0], finished_at=r[1] or target.created_at, score=r[2], grade=r[3]
                    )
                    for r in reversed(rows)
                )
                found.append(
                    TargetInfo(
                        id=target.id, url=target.url, created_at=target.created_at, history=history
                    )
                )
            return found


def _scans(org_id: int) -> Select[Scan, str]:
    return (
        select(Scan, Target.url)
        .join(Target, Target.id == Scan.target_id)
        .where(Scan.org_id == org_id)
    )


def _scan_info(scan: Scan, url: str) -> ScanInfo:
    return ScanInfo(
        id=scan.id,
        org_id=scan.org_id,
        target_id=scan.target_id,
        target=url,
        status=scan.status,  # type: ignore[arg-type]
        options=ScanInfo.options_of(scan.options),
        phase=scan.phase,
        progress=scan.progress,
        attempts=scan.attempts,
        score=scan.score,
        grade=scan.grade,
        summary=json.loads(scan.summary) if scan.summary else None,
        reason=scan.reason,
        failure=scan.failure,
        created_at=scan.created_at,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
    )
