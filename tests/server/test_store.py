"""The store: migrations from empty on SQLite and PostgreSQL, models equal to migrations, and the
job rules (claim once, the reaper requeues a silent scan and gives up after the last attempt)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text, update

from middlebrick.config import Credential
from middlebrick.jobs.pool import Reaper
from middlebrick.jobs.runner import JobSettings, run_job
from middlebrick.store import Repository, open_store
from middlebrick.store.models import Base, Scan
from middlebrick.store.records import now
from middlebrick.store.sealing import Sealer
from tests.server.conftest import postgres_database

TABLES = {
    "organisations",
    "users",
    "sessions",
    "api_keys",
    "targets",
    "scans",
    "scan_events",
    "findings",
    "reports",
    "domains",
    "monitors",
    "monitor_runs",
    "webhook_endpoints",
    "webhook_deliveries",
    "alembic_version",
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def empty_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('empty') / 'store.db'}"
    else:
        yield from postgres_database()


@pytest.fixture(scope="module")
def repo(empty_url: str) -> Iterator[Repository]:
    store = open_store(empty_url)
    yield store
    store.close()


def test_migrations_upgrade_an_empty_database_to_the_models(
    repo: Repository, empty_url: str
) -> None:
    with repo.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= TABLES
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
        )
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    open_store(empty_url).close()  # a second start finds nothing to do


def test_migration_0002_upgrades_a_store_of_the_first_version_keeping_its_rows(
    tmp_path: Path,
) -> None:
    from alembic import command
    from alembic.config import Config

    from middlebrick.store.database import _MIGRATIONS, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'v1.db'}")
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text("INSERT INTO organisations (name, created_at) VALUES ('old', '2026-01-01')")
        )
    engine.dispose()
    repo = open_store(f"sqlite:///{tmp_path / 'v1.db'}")
    org = repo.organisation("old")
    assert org is not None and repo.domains(org) == []
    assert repo.domain_token(org, lambda: "token-1") == "token-1"
    assert repo.domain_token(org, lambda: "token-2") == "token-1"  # made once, then kept
    repo.close()


class _Recorder:
    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, scan_id: str) -> None:
        self.submitted.append(scan_id)


def _queued(repo: Repository, *, sealed: bytes | None = None) -> str:
    org = repo.organisation(f"org-{uuid.uuid4().hex[:8]}", create=True)
    assert org is not None
    scan = repo.add_scan(
        org,
        scan_id=uuid.uuid4().hex,
        url="http://127.0.0.1:9/",
        key_id=None,
        options={"identities": [{"name": "alice", "owns": []}]} if sealed else {},
        spec_document=None,
        sealed=sealed,
    )
    return scan.id


def _silence(repo: Repository, scan_id: str) -> None:
    with repo.engine.begin() as connection:
        connection.execute(
            update(Scan).where(Scan.id == scan_id).values(heartbeat_at=now() - timedelta(hours=1))
        )


def test_a_scan_is_claimed_once_while_its_worker_is_alive(repo: Repository) -> None:
    scan_id = _queued(repo)
    assert repo.claim(scan_id, stale_before=now() - timedelta(seconds=30)) == 1
    assert repo.claim(scan_id, stale_before=now() - timedelta(seconds=30)) is None
    _silence(repo, scan_id)
    assert repo.claim(scan_id, stale_before=now() - timedelta(seconds=30)) == 2
    assert not repo.beat(scan_id, 1)  # the first worker no longer owns it
    assert repo.beat(scan_id, 2, phase="checks", progress=40)


def test_reaper_requeues_a_silent_scan_then_gives_up_after_the_last_attempt(
    repo: Repository,
) -> None:
    settings = JobSettings(stale_after=timedelta(seconds=30), max_attempts=2)
    dispatcher = _Recorder()
    reaper = Reaper(repo, dispatcher, settings=settings)
    scan_id = _queued(repo)
    repo.claim(scan_id, stale_before=now())
    _silence(repo, scan_id)
    assert (scan_id, "requeued") in reaper.reap()
    assert dispatcher.submitted == [scan_id]
    assert repo.claim(scan_id, stale_before=now()) == 2
    _silence(repo, scan_id)
    assert (scan_id, "failed") in reaper.reap()
    job = repo.job(scan_id)
    assert job is not None and job.status == "failed"
    with repo.engine.connect() as connection:
        reason = connection.execute(text("SELECT reason FROM scans WHERE id = :i"), {"i": scan_id})
        assert "stopped 2 times" in str(reason.scalar())


def test_job_of_a_finished_scan_is_skipped(repo: Repository) -> None:
    scan_id = _queued(repo)
    assert repo.fail(scan_id, "given up")
    assert run_job(repo, Sealer(), scan_id) == "skipped"


def test_credentials_sealed_by_a_lost_key_fail_the_scan_with_the_reason(repo: Repository) -> None:
    sealed = Sealer().seal((), {"alice": Credential(headers=(("Authorization", "Bearer x"),))})
    scan_id = _queued(repo, sealed=sealed)
    assert run_job(repo, Sealer(), scan_id) == "failed"
    with repo.engine.connect() as connection:
        row = connection.execute(
            text("SELECT reason, sealed_credentials FROM scans WHERE id = :i"), {"i": scan_id}
        ).one()
    assert "submit the scan again" in row[0] and row[1] is None


def test_sealed_credentials_are_not_plain_text(tmp_path: Path) -> None:
    sealer = Sealer()
    token = sealer.seal((("X-Tenant", "plain-4711"),), {"a": Credential(query=(("key", "q-99"),))})
    assert b"plain-4711" not in token and b"q-99" not in token
    headers, identities = sealer.open(token)
    assert headers == (("X-Tenant", "plain-4711"),)
    assert identities["a"].query == (("key", "q-99"),)
