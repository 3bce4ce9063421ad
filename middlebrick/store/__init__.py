"""The service's store: SQLAlchemy models, the one repository of queries, Alembic migrations.

``open_store(url)`` applies the migrations and returns a ``Repository``; every query of the
service goes through it, and every query about scans or targets is scoped by organisation.
"""

from __future__ import annotations

from middlebrick.store.database import default_database_url, open_store
from middlebrick.store.repository import Repository

__all__ = ["Repository", "default_database_url", "open_store"]
