"""A running service per store (SQLite, PostgreSQL), organisations with keys, a loopback target.

Session-scoped so the whole suite shares one server per store: the PostgreSQL database is a
throw-away one made for this session on the machine's server (127.0.0.1:5432) and dropped after.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiohttp import web

from middlebrick.server import ServiceSettings, create_app
from middlebrick.server.auth import digest, hash_password, new_key
from middlebrick.store import Repository, open_store
from middlebrick.store.sealing import new_secret
from tests.integration.test_cli import _serve
from tests.integration.twin_app import TOKEN, make_app

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=postgres user=root"
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Org:
    """An organisation of the test service: its id, an API key and a dashboard log-in."""

    id: int
    name: str
    key: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}


@dataclass
class Running:
    """A service under test: its URL, its store, and two organisations."""

    url: str
    database_url: str
    repo: Repository
    a: Org
    b: Org

    def client(self, org: Org | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=org.headers if org else {}, timeout=60)

    def org(self, name: str, **limits: int) -> Org:
        """A new organisation with a key (and limits) and a log-in."""
        return make_org(self.repo, name, **limits)

    def wait(self, org: Org, scan_id: str, timeout: float = 90) -> dict[str, object]:
        """Poll the scan until it is completed or failed."""
        deadline = time.monotonic() + timeout
        with self.client(org) as http:
            while time.monotonic() < deadline:
                body: dict[str, object] = http.get(f"/api/v1/scans/{scan_id}").json()
                if body["status"] in ("completed", "failed"):
                    return body
                time.sleep(0.3)
        raise AssertionError(f"scan {scan_id} did not end within {timeout} s")


def make_org(
    repo: Repository,
    name: str,
    *,
    rate_limit: int = 10_000,
    daily: int = 1000,
    verified: tuple[str, ...] = ("127.0.0.1",),
) -> Org:
    """An organisation with a key and a log-in; ``verified`` are domains marked as verified
    (by file), so its authenticated scans of loopback targets are allowed. Verification itself
    is tested end to end in test_domains_service.py."""
    org_id = repo.organisation(name, create=True)
    assert org_id is not None
    key = new_key()
    repo.add_key(
        org_id,
        name="tests",
        prefix=key[:10],
        digest=digest(key),
        rate_limit=rate_limit,
        daily=daily,
    )
    email = f"{name.lower()}@example.org"
    repo.add_user(org_id, email, hash_password(PASSWORD))
    for domain in verified:
        added = repo.add_domain(org_id, domain)
        repo.record_check(org_id, added.id, verified=True, method="file", reason="file matches")
    return Org(id=org_id, name=name, key=key, email=email)


def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session, dropped afterwards."""
    import psycopg

    name = f"mb_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://root@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SECRET_KEY = new_secret()  # a lasting sealing key: monitors with credentials and webhooks need one


def service_settings(database_url: str, **changes: Any) -> ServiceSettings:
    """The test service's settings: every test target is on loopback, which the administrator
    allows here (``--allow-private``)."""
    values: dict[str, Any] = {"workers": 2, "allow_private": True, "secret_key": SECRET_KEY}
    return ServiceSettings(database_url=database_url, **(values | changes))


def run_server(settings: ServiceSettings) -> Iterator[str]:
    """Serve the app on a free loopback port in a thread; yield its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test service did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


@pytest.fixture(scope="session")
def target_url() -> Iterator[str]:
    """A small API on loopback to scan (the fixed twin: quick, few findings)."""
    yield from _serve(make_app(vulnerable=False))


@pytest.fixture(scope="session")
def vulnerable_url() -> Iterator[str]:
    """The same API with its flaws (a low score, findings of every severity)."""
    yield from _serve(make_app(vulnerable=True))


def slow_app(*, vulnerable: bool = False, delay: float = 0.4) -> web.Application:
    """A twin answering each request after ``delay`` seconds: its scan lasts several seconds."""

    @web.middleware
    async def slow(request: web.Request, handler: Any) -> web.StreamResponse:
        await asyncio.sleep(delay)
        response: web.StreamResponse = await handler(request)
        return response

    app = make_app(vulnerable=vulnerable)
    app.middlewares.append(slow)
    return app


@pytest.fixture(scope="session")
def slow_url() -> Iterator[str]:
    """The fixed twin, slowed down."""
    yield from _serve(slow_app())


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'middlebrick.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url
    else:
        yield from postgres_database()


@pytest.fixture(scope="session")
def service(database_url: str) -> Iterator[Running]:
    repo = open_store(database_url)
    a, b = make_org(repo, "Acme"), make_org(repo, "Bravo")
    for url in run_server(service_settings(database_url)):
        yield Running(url=url, database_url=database_url, repo=repo, a=a, b=b)
    repo.close()


@pytest.fixture(scope="session")
def scans(service: Running, target_url: str) -> Iterator[dict[str, str]]:
    """Two completed scans of one target by Acme (the second with credentials), one by Bravo."""
    ids = {}
    with service.client(service.a) as http:
        first = http.post("/api/v1/scans", json={"url": target_url, "threshold": 50})
        assert first.status_code == 202, first.text
        assert first.json()["status"] == "queued"
        ids["a1"] = first.json()["id"]
        # The history is ordered by finishing time: the second scan starts after the first ends.
        assert service.wait(service.a, ids["a1"])["status"] == "completed"
        second = http.post(
            "/api/v1/scans",
            json={
                "url": target_url,
                "identities": [{"name": "alice", "auth": f"bearer:{TOKEN}"}],
                "headers": {"X-Tenant": "header-secret-4711"},
            },
        )
        ids["a2"] = second.json()["id"]
    with service.client(service.b) as http:
        ids["b1"] = http.post("/api/v1/scans", json={"url": target_url}).json()["id"]
    for name, scan_id in ids.items():
        org = service.b if name.startswith("b") else service.a
        assert service.wait(org, scan_id)["status"] == "completed"
    yield ids


def sqlite_files_hold(database_url: str, secret: str) -> bool:
    """Whether any file of the SQLite store holds ``secret``, read by another process: reading
    (and closing) the files in this one would drop the SQLite locks this process holds."""
    path = Path(database_url.removeprefix("sqlite:///"))
    files = [str(p) for p in path.parent.glob(path.name + "*")]
    found = subprocess.run(["grep", "-l", "-F", "-a", secret, *files], capture_output=True)
    return found.returncode == 0


@dataclass
class Hooks:
    """A webhook receiver on loopback: answers the statuses of ``script`` in turn (then 200)
    and keeps every request it got (headers and raw body)."""

    script: list[int] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            self.got.append((dict(request.headers), body))
            return web.Response(status=self.script.pop(0) if self.script else 200)

        app = web.Application()
        app.router.add_post("/hooks", handle)
        return app

    def wait(self, count: int, timeout: float = 60) -> list[tuple[dict[str, str], bytes]]:
        """The requests once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while len(self.got) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.got)} of {count} webhook requests arrived")
            time.sleep(0.1)
        return self.got


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    receiver = Hooks()
    for base in _serve(receiver.app()):
        receiver.url = f"{base}/hooks"
        yield receiver


class SwitchTarget:
    """The twin API on one loopback port, switched between its fixed and vulnerable variants
    (the same target getting worse or better between two monitor runs)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None

    def serve(self, *, vulnerable: bool) -> None:
        async def swap() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            self._runner = web.AppRunner(make_app(vulnerable=vulnerable), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            await site.start()

        asyncio.run_coroutine_threadsafe(swap(), self._loop).result(15)

    def close(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture
def switch_target() -> Iterator[SwitchTarget]:
    target = SwitchTarget()
    target.serve(vulnerable=False)
    yield target
    target.close()
