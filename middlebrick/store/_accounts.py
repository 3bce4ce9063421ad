"""The repository's queries about organisations, API keys, log-ins and dashboard sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from middlebrick.store._base import Store
from middlebrick.store.models import ApiKey, Organisation, Scan, Session, User
from middlebrick.store.records import KeyInfo, SessionInfo, now


class Accounts(Store):
    """Organisations, keys, users and sessions."""

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
