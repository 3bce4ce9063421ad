"""The store's connection: an engine and one transaction per query method."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from middlebrick.store.models import Target
from middlebrick.store.records import now


class Store:
    """An engine and its sessions; the query classes of the repository build on it."""

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


def ensure_target(session: OrmSession, org_id: int, url: str) -> int:
    """The id of the organisation's target ``url``, made on first use."""
    found = session.scalar(select(Target.id).where(Target.org_id == org_id, Target.url == url))
    if found is not None:
        return found
    target = Target(org_id=org_id, url=url, created_at=now())
    session.add(target)
    session.flush()
    return target.id
