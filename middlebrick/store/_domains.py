"""The repository's queries about verified domains and the organisation's verification token."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from middlebrick.store._base import Store
from middlebrick.store.models import Domain, Organisation
from middlebrick.store.records import DomainInfo, now


class Domains(Store):
    """Domains an organisation verified, by DNS or by file, with its one token."""

    def domain_token(self, org_id: int, make: Callable[[], str]) -> str:
        """The organisation's verification token, made with ``make`` on first use."""
        with self._tx() as s:
            org = s.get(Organisation, org_id, with_for_update=True)
            assert org is not None
            if org.domain_token is None:
                org.domain_token = make()
            return org.domain_token

    def add_domain(self, org_id: int, name: str) -> DomainInfo:
        """Record a domain to verify (the existing record when it was added before)."""
        try:
            with self._tx() as s:
                s.add(Domain(org_id=org_id, name=name, created_at=now()))
        except IntegrityError:
            pass
        found = [d for d in self.domains(org_id) if d.name == name]
        return found[0]

    def domains(self, org_id: int) -> list[DomainInfo]:
        """The organisation's domains, by name."""
        with self._tx() as s:
            rows = s.scalars(select(Domain).where(Domain.org_id == org_id).order_by(Domain.name))
            return [_info(d) for d in rows]

    def domain(self, org_id: int, domain_id: int) -> DomainInfo | None:
        """One of the organisation's domains."""
        with self._tx() as s:
            row = s.scalar(select(Domain).where(Domain.org_id == org_id, Domain.id == domain_id))
            return None if row is None else _info(row)

    def record_check(
        self, org_id: int, domain_id: int, *, verified: bool, method: str | None, reason: str
    ) -> DomainInfo | None:
        """Keep the outcome of a check: the last check decides whether the domain is verified."""
        with self._tx() as s:
            row = s.scalar(select(Domain).where(Domain.org_id == org_id, Domain.id == domain_id))
            if row is None:
                return None
            moment = now()
            row.checked_at, row.reason = moment, reason[:2000]
            row.method = method if verified else None
            row.verified_at = moment if verified else None
            return _info(row)

    def delete_domain(self, org_id: int, domain_id: int) -> bool:
        """Forget one of the organisation's domains."""
        with self._tx() as s:
            done = s.execute(delete(Domain).where(Domain.org_id == org_id, Domain.id == domain_id))
            return bool(done.rowcount)  # type: ignore[attr-defined]

    def verified_domains(self, org_id: int) -> list[DomainInfo]:
        """The organisation's verified domains."""
        return [d for d in self.domains(org_id) if d.verified]


def _info(row: Domain) -> DomainInfo:
    return DomainInfo(
        id=row.id,
        name=row.name,
        method=row.method,
        verified_at=row.verified_at,
        checked_at=row.checked_at,
        reason=row.reason,
        created_at=row.created_at,
    )
