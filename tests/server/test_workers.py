"""A worker killed mid-scan loses no scan: the in-process pool (the service itself killed and
started again) and Celery workers on the machine's Redis (a worker killed, another started).
With a broker, Celery beat runs the monitors' scheduler and workers deliver the webhooks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from middlebrick.server import ServiceSettings
from middlebrick.store import Repository, open_store
from middlebrick.store.sealing import new_secret
from middlebrick.webhooks import HEADER, parse_event, verify
from tests.integration.twin_app import TOKEN
from tests.server.conftest import Hooks, Org, free_port, make_org, run_server, sqlite_files_hold

REDIS_DB = 11  # a database number of its own on the machine's Redis, emptied before and after
BROKER = f"redis://127.0.0.1:6379/{REDIS_DB}"
CLI = [sys.executable, "-c", "from middlebrick.cli import main; main()"]


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a command of the CLI in its own process group (its log: $MB_TEST_LOG)."""
    with open(os.environ.get("MB_TEST_LOG", os.devnull), "ab") as log:
        return subprocess.Popen(
            [*CLI, *args],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and every child it started (the prefork pool)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _poll(url: str, org: Org, scan_id: str, until: str, timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            body = httpx.get(f"{url}/api/v1/scans/{scan_id}", headers=org.headers).json()
        except httpx.TransportError:
            body = {}
        if body.get("status") == until and (until != "running" or int(str(body["progress"])) > 5):
            return body
        if body.get("status") == "failed":
            raise AssertionError(f"scan failed: {body.get('reason')}")
        time.sleep(0.2)
    raise AssertionError(f"scan {scan_id} not {until} within {timeout} s: {body}")


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/v1/openapi.json")
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not start")


def test_in_process_scan_survives_the_service_being_killed(tmp_path: Path, slow_url: str) -> None:
    database = f"sqlite:///{tmp_path / 'killed.db'}"
    repo = open_store(database)
    org = make_org(repo, "Acme")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MIDDLEBRICK_STALE_AFTER": "6"}
    args = ["serve", "--port", str(port), "--database-url", database, "--allow-private"]
    first = _start(args, env)
    try:
        _wait_up(url)
        scan_id = httpx.post(
            f"{url}/api/v1/scans", json={"url": slow_url}, headers=org.headers
        ).json()["id"]
        _poll(url, org, scan_id, "running")
    finally:
        _kill(first)
    second = _start(args, env)
    try:
        _wait_up(url)
        body = _poll(url, org, scan_id, "completed")
    finally:
        second.terminate()
        second.wait(20)
    job = repo.job(scan_id)
    assert job is not None and job.attempts == 2
    assert body["score"] is not None
    lines = [e.text for e in repo.events(org.id, scan_id)]
    assert "its worker went silent; the scan was queued again" in lines
    repo.close()


@pytest.fixture(scope="module")
def redis_db() -> Iterator[None]:
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at 127.0.0.1:6379 is required in CI: {exc}")
        pytest.skip(f"no Redis at 127.0.0.1:6379: {exc}")
    yield
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def celery_service(
    redis_db: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Repository, Org, dict[str, str]]]:
    database = f"sqlite:///{tmp_path_factory.mktemp('celery') / 'store.db'}"
    env = {"MIDDLEBRICK_SECRET_KEY": new_secret(), "MIDDLEBRICK_STALE_AFTER": "6"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    repo = open_store(database)
    org = make_org(repo, "Acme")
    settings = ServiceSettings(
        database_url=database, broker=BROKER, reap_every=1.0, allow_private=True
    )
    try:
        for url in run_server(settings):
            yield url, database, repo, org, env
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        repo.close()


def test_celery_worker_runs_a_scan_and_keeps_no_credential(
    celery_service: tuple[str, str, Repository, Org, dict[str, str]], target_url: str
) -> None:
    url, database, _, org, env = celery_service
    worker = _start(["worker", "--broker", BROKER, "--database-url", database], env)
    try:
        scan_id = httpx.post(
            f"{url}/api/v1/scans",
            json={"url": target_url, "identities": [{"name": "alice", "auth": f"bearer:{TOKEN}"}]},
            headers=org.headers,
        ).json()["id"]
        body = _poll(url, org, scan_id, "completed")
    finally:
        worker.terminate()
        worker.wait(30)
    assert body["identities"] == ["alice"] and body["score"] is not None
    assert not sqlite_files_hold(database, TOKEN)


def test_celery_scan_survives_its_worker_being_killed(
    celery_service: tuple[str, str, Repository, Org, dict[str, str]], slow_url: str
) -> None:
    url, database, repo, org, env = celery_service
    args = ["worker", "--broker", BROKER, "--database-url", database, "--concurrency", "1"]
    first = _start(args, env)
    try:
        scan_id = httpx.post(
            f"{url}/api/v1/scans", json={"url": slow_url}, headers=org.headers
        ).json()["id"]
        _poll(url, org, scan_id, "running")
    finally:
        _kill(first)
    second = _start(args, env)
    try:
        body = _poll(url, org, scan_id, "completed")
    finally:
        second.terminate()
        second.wait(30)
    job = repo.job(scan_id)
    assert job is not None and job.attempts >= 2 and body["score"] is not None


def test_celery_app_acknowledges_late_and_requeues_lost_tasks() -> None:
    from middlebrick.jobs.celery_app import VISIBILITY_TIMEOUT_S, make_celery

    app = make_celery(BROKER, database_url="sqlite://")
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options["visibility_timeout"] == VISIBILITY_TIMEOUT_S


def test_celery_beat_runs_a_due_monitor_and_a_worker_delivers_its_webhook(
    celery_service: tuple[str, str, Repository, Org, dict[str, str]],
    target_url: str,
    hooks: Hooks,
) -> None:
    url, database, _, org, env = celery_service
    with httpx.Client(base_url=url, headers=org.headers, timeout=30) as http:
        endpoint = http.post("/api/v1/webhooks", json={"name": "h", "url": hooks.url}).json()
        monitor = http.post(
            "/api/v1/monitors", json={"name": "beat", "url": target_url, "schedule": "daily"}
        ).json()
        assert http.get(f"/api/v1/monitors/{monitor['id']}/runs").json()["items"] == []
    args = ["worker", "--broker", BROKER, "--database-url", database, "--beat", "--allow-private"]
    worker = _start(args, {**env, "MIDDLEBRICK_BEAT_EVERY": "1"})
    try:
        [(headers, body)] = hooks.wait(1, timeout=120)
    finally:
        worker.terminate()
        worker.wait(30)
    verify(body, headers[HEADER], endpoint["secret"])
    event = parse_event(body)
    with httpx.Client(base_url=url, headers=org.headers, timeout=30) as http:
        runs = http.get(f"/api/v1/monitors/{monitor['id']}/runs").json()["items"]
    assert len(runs) == 1 and runs[0]["trigger"] == "schedule"
    assert event.type == "scan.completed" and event.data.scan_id == runs[0]["scan_id"]
