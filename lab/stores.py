"""The lab's relational stores: a SQLite file, or a throwaway PostgreSQL database, per target.

A service says which store it uses with ``STORE`` in its package (``"dynamodb"`` when it says
nothing). PostgreSQL is the server at ``$MIDDLEBRICK_LAB_POSTGRES`` (default: the local one on
127.0.0.1:5432, trust authentication); each lab run creates one database per target there and
drops it when the lab stops. Without a reachable server, PostgreSQL services are skipped with a
clear line, unless ``MIDDLEBRICK_REQUIRE_POSTGRES=1`` (CI) makes that an error.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

Store = Literal["dynamodb", "sqlite", "postgres"]

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
"""Where the lab creates its PostgreSQL databases unless ``$MIDDLEBRICK_LAB_POSTGRES`` says."""


def store(service: str) -> Store:
    """The store ``service`` keeps its data in."""
    module = importlib.import_module(f"lab.{service}")
    value: Store = getattr(module, "STORE", "dynamodb")
    return value


def admin_url() -> str:
    """The PostgreSQL server (and maintenance database) the lab uses."""
    return os.environ.get("MIDDLEBRICK_LAB_POSTGRES") or ADMIN_URL


def postgres_required() -> bool:
    """True when a missing PostgreSQL must fail the lab (``MIDDLEBRICK_REQUIRE_POSTGRES=1``)."""
    return os.environ.get("MIDDLEBRICK_REQUIRE_POSTGRES") == "1"


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, in one sentence; ``None`` when it can."""
    where = urlsplit(admin_url())
    if where.hostname not in ("127.0.0.1", "localhost", "::1", None):
        return f"the lab only uses a PostgreSQL on loopback, not {where.hostname}"
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[lab]')"
    try:
        with psycopg.connect(admin_url(), connect_timeout=3, autocommit=True):
            return None
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL is not reachable at {where.hostname}:{where.port or 5432} ({first})"


def database_url(store_kind: Store, service: str, variant: str, folder: Path) -> str:
    """A new, empty database for one target: a SQLite file in ``folder``, or a PostgreSQL one."""
    if store_kind == "sqlite":
        return f"sqlite:///{folder / f'{service}-{variant}.sqlite3'}"
    import psycopg

    name = f"mblab_{secrets.token_hex(4)}_{service}_{variant}"
    with psycopg.connect(admin_url(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url())
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop(url: str) -> None:
    """Drop a PostgreSQL database ``database_url`` created (nothing to do for SQLite)."""
    if not url.startswith("postgresql"):
        return
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("mblab_"):
        return
    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(admin_url(), autocommit=True) as connection,
    ):
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
