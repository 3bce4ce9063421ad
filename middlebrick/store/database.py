"""Where the store lives and how it is opened: the database URL, the engine, the migrations.

The default is a SQLite file in the user's data directory (``platformdirs``); any SQLAlchemy URL
can replace it, PostgreSQL as ``postgresql+psycopg://user@host/db``. Opening the store applies
the migrations shipped in this package, so a new version upgrades the schema on start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from middlebrick.errors import UsageError
from middlebrick.store.repository import Repository

__all__ = ["DATABASE_ENV", "default_database_url", "make_engine", "migrate", "open_store"]

DATABASE_ENV = "MIDDLEBRICK_DATABASE_URL"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def default_database_url() -> str:
    """``$MIDDLEBRICK_DATABASE_URL``, else a SQLite file in the user's data directory."""
    configured = os.environ.get(DATABASE_ENV, "").strip()
    if configured:
        return configured
    from platformdirs import user_data_path

    folder = user_data_path("middlebrick", appauthor=False)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return f"sqlite:///{folder / 'middlebrick.db'}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; a URL SQLAlchemy cannot use is a ``UsageError`` naming the forms."""
    try:
        parsed = make_url(url)
        options: dict[str, Any] = {"pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = create_engine(parsed, **options)
    except (ArgumentError, ImportError, ValueError) as exc:
        raise UsageError(
            f"the database URL is not usable ({type(exc).__name__}: {exc}); give one like "
            "sqlite:///path/to/middlebrick.db or postgresql+psycopg://user@host/dbname"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (from an empty database too)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_store(url: str | None = None) -> Repository:
    """Connect to the store at ``url`` (default: ``default_database_url()``), migrated."""
    engine = make_engine(url or default_database_url())
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise UsageError(
            f"the database {where} cannot be opened ({_cause(exc)}); "
            "check that it runs and that the URL names it"
        ) from None
    return Repository(engine)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _cause(exc: Exception) -> str:
    return type(getattr(exc, "orig", None) or exc).__name__
