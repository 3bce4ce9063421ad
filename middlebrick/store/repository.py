"""Every query of the service, and only here. Queries about an organisation's data take its id.

Scans, targets, reports and events are only ever read or changed through a query that names the
organisation, so one organisation's key or session cannot reach another's rows even by guessing
ids. The job methods (``claim``, ``beat``, ``finish``…) act on a scan id the service itself
handed to a worker, and are guarded by the attempt number so a worker that was given up on can
no longer write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from middlebrick.report import Report
from middlebrick.store.models import (
    ApiKey,
    FindingRow,
    Organisation,
    ReportRow,
    Scan,
    ScanEvent,
    Session,
    Target,
    User,
)
from middlebrick.store.records import (
    EventLine,
    FindingLine,
    HistoryPoint,
    Job,
    KeyInfo,
    ScanInfo,
    ScanStatus,
    SessionInfo,
    TargetInfo,
    now,
)

__all__ = ["Repository"]

_HISTORY = 50  # scans of a target's trend


class Repository:
    """The store's queries over one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def _tx(self) -> Iterator[OrmSession]:
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # -- organisations, keys, users, sessions ----------------------------------------------

    def organisation(self, name: str, *, create: bool = False) -> int | None:
        """The id of the organisation called ``name``; made first when ``create`` is set."""
        with self._tx() as s:
            found = s.scalar(select(Organisation.id).where(Organisation.name == name))
            if found is not None or not create:
                return found
            org = Organisation(name=name, created_at=now())
            s.add(org)
            s.flush()
            return org.id

    def add_key(
        self, org_id: int, *, name: str, prefix: str, digest: str, rate_limit: int, daily: int
    ) -> KeyInfo:
        """Record a new API key by its digest."""
        with self._tx() as s:
            key = ApiKey(
                org_id=org_id,
                name=name,
                prefix=prefix,
                digest=digest,
                rate_limit=rate_limit,
                daily_scans=daily,
                created_at=now(),
            )
            s.add(key)
            s.flush()
            return self._key_info(s, key)

    def key_by_digest(self, digest: str) -> KeyInfo | None:
        """The live (not revoked) key with this digest."""
        with self._tx() as s:
            key = s.scalar(
                select(ApiKey).where(ApiKey.digest == digest, ApiKey.revoked_at.is_(None))
            )
            return None if key is None else self._key_info(s, key)

    def keys(self, org_id: int) -> list[KeyInfo]:
        """The organisation's keys, revoked ones included."""
        with self._tx() as s:
            rows = s.scalars(select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.id))
            return [self._key_info(s, key) for key in rows]

    def revoke_key(self, org_id: int, key_id: int) -> bool:
        """Revoke one of the organisation's keys; False when it has no live key with that id."""
        with self._tx() as s:
            done = s.execute(
                update(ApiKey)
                .where(ApiKey.org_id == org_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def scans_by_key_since(self, key_id: int, since: datetime) -> int:
        """How many scans this key submitted since ``since`` (its quota)."""
        with self._tx() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(Scan)
                    .where(Scan.api_key_id == key_id, Scan.created_at >= since)
                )
                or 0
            )

    def add_user(self, org_id: int, email: str, password_hash: str) -> bool:
        """Record a dashboard log-in; False when the e-mail address is taken."""
        try:
            with self._tx() as s:
                s.add(
                    User(org_id=org_id, email=email, password_hash=password_hash, created_at=now())
                )
        except IntegrityError:
            return False
        return True

    def password_hash(self, email: str) -> tuple[int, str] | None:
        """The user id and password hash of the log-in ``email``."""
        with self._tx() as s:
            row = s.execute(select(User.id, User.password_hash).where(User.email == email)).first()
            return None if row is None else (row[0], row[1])

    def add_session(self, digest: str, user_id: int, csrf: str, expires_at: datetime) -> None:
        """Open a dashboard session (expired ones are swept at the same time)."""
        with self._tx() as s:
            s.execute(delete(Session).where(Session.expires_at < now()))
            s.add(Session(digest=digest, user_id=user_id, csrf=csrf, expires_at=expires_at))

    def session(self, digest: str) -> SessionInfo | None:
        """The live session with this digest."""
        with self._tx() as s:
            row = s.execute(
                select(Session.csrf, User.id, User.email, Organisation.id, Organisation.name)
                .join(User, User.id == Session.user_id)
                .join(Organisation, Organisation.id == User.org_id)
                .where(Session.digest == digest, Session.expires_at > now())
            ).first()
            if row is None:
                return None
            return SessionInfo(user_id=row[1], email=row[2], org_id=row[3], org=row[4], csrf=row[0])

    def end_session(self, digest: str) -> None:
        """Log out."""
        with self._tx() as s:
            s.execute(delete(Session).where(Session.digest == digest))

    # -- scans and targets (always scoped by organisation) ----------------------------------

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
            target = s.scalar(select(Target).where(Target.org_id == org_id, Target.url == url))
            if target is None:
                target = Target(org_id=org_id, url=url, created_at=now())
                s.add(target)
                s.flush()
            scan = Scan(
                id=scan_id,
                org_id=org_id,
                target_id=target.id,
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

    # -- jobs: what workers and the reaper do ------------------------------------------------

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

    @staticmethod
    def _key_info(s: OrmSession, key: ApiKey) -> KeyInfo:
        org = s.get(Organisation, key.org_id)
        return KeyInfo(
            id=key.id,
            org_id=key.org_id,
            org=org.name if org else "",
            name=key.name,
            prefix=key.prefix,
            rate_limit=key.rate_limit,
            daily_scans=key.daily_scans,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )


def _scans(org_id: int) -> Select[Scan, str]:
    return (
        select(Scan, Target.url)
        .join(Target, Target.id == Scan.target_id)
        .where(Scan.org_id == org_id)
    )


def _owned(scan_id: str, attempt: int) -> Any:
    return update(Scan).where(
        Scan.id == scan_id, Scan.status == "running", Scan.attempts == attempt
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
