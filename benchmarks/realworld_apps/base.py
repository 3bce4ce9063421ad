"""What every app of the real-world benchmark shares: install, start, seed, stop.

Each app is pinned to an exact release from PyPI and installed into its own virtualenv under a
cache folder (``$XDG_CACHE_HOME/middlebrick-realworld`` by default; never in git). ``start``
runs it on 127.0.0.1 on a free port with a fresh data folder, creates its users and data
through its own API or CLI, yields a ``Running`` (base URL, served OpenAPI document, identities
as ``--identity`` profiles) and stops it. Everything here talks to loopback only. The users and
passwords are throwaway values of a throwaway instance, not secrets.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PASSWORD = "s3cret-Pass-2024"  # every local user's password (a throwaway instance)
_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"


@dataclass
class Running:
    """An app started on loopback, with its data, ready to be scanned."""

    name: str
    base_url: str
    port: int
    data: Path
    venv: Path
    spec: str | None = None  # path of the served OpenAPI document, if any
    identities: dict[str, str] = field(default_factory=dict)  # name -> --identity profile
    spec_file: Path | None = None

    def url(self, path: str) -> str:
        """The absolute loopback URL of ``path``."""
        return self.base_url.rstrip("/") + path

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Send one request to the app (loopback only); (status, parsed JSON or text)."""
        data = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json"} if body is not None else {}
        request = urllib.request.Request(
            self.url(path), data=data, method=method, headers={**sent, **(headers or {})}
        )
        try:
            with _OPENER.open(request, timeout=30) as response:
                status, text = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """``call`` that fails unless the answer is 2xx; the parsed answer."""
        status, answer = self.call(method, path, **kwargs)
        if not 200 <= status < 300:
            raise RuntimeError(f"{self.name}: {method} {path} answered {status}: {answer!r:.300}")
        return answer

    def spec_source(self) -> str | None:
        """The served document: its URL when anyone may read it, else a copy fetched as the
        first identity (how a user hands the scanner a document that needs credentials)."""
        if self.spec is None:
            return None
        if self.spec_file is not None:
            return str(self.spec_file)
        return self.url(self.spec)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def basic(user: str, password: str = PASSWORD) -> dict[str, str]:
    """An Authorization header for HTTP basic auth."""
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def two_users(running: Running) -> None:
    """Scan as alice and bob with HTTP basic auth (the users the app's seed created)."""
    running.identities = {"alice": f"basic:alice:{PASSWORD}", "bob": f"basic:bob:{PASSWORD}"}


@dataclass(frozen=True)
class App:
    """One real API: what to install, how to start it, how to give it users and data."""

    name: str
    requirements: tuple[str, ...]
    license: str
    command: Callable[[Running], list[str]]  # argv; a bare first word is a venv script
    seed: Callable[[Running], None]  # users, data, identities (sets running.identities)
    ready: str = "/"  # answered below 500 once the app is up
    spec: str | None = None
    env: Callable[[Running], dict[str, str]] = lambda running: {}
    prepare: Callable[[Running], None] = lambda running: None  # files before the start
    start_timeout: float = 90.0


def default_cache() -> Path:
    """Where the virtualenvs live: ``$XDG_CACHE_HOME/middlebrick-realworld``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "middlebrick-realworld"


def install(app: App, cache: Path) -> Path:
    """The app's virtualenv, created and installed unless it already holds these pins."""
    venv = cache / app.name
    stamp = venv / ".realworld-installed"
    wanted = "\n".join(app.requirements)
    if stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return venv
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([_PYTHON, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    done = subprocess.run([*pip, *app.requirements], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"installing {app.name} failed: {done.stderr.strip()[-600:]}")
    stamp.write_text(wanted, encoding="utf-8")
    return venv


def venv_run(running: Running, argv: list[str], env: dict[str, str], cwd: Path) -> None:
    """Run one of the app's commands (a script of its virtualenv) to completion, or fail."""
    argv = [str(running.venv / "bin" / argv[0]), *argv[1:]]
    full = {"PATH": f"{running.venv / 'bin'}:/usr/bin:/bin", "HOME": str(cwd), **env}
    done = subprocess.run(argv, env=full, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        tail = (done.stderr or done.stdout).strip()[-600:]
        raise RuntimeError(f"{running.name}: {' '.join(argv[:3])} exited {done.returncode}: {tail}")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def start(app: App, venv: Path, data: Path) -> Iterator[Running]:
    """Start ``app`` on loopback with fresh data in ``data``, seed it, stop it afterwards."""
    port = free_port()
    running = Running(app.name, f"http://127.0.0.1:{port}", port, data, venv, app.spec)
    app.prepare(running)
    argv = app.command(running)
    if "/" not in argv[0]:
        argv[0] = str(venv / "bin" / argv[0])
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "HOME": str(data)}
    env.update(app.env(running))
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "http_proxy", "https_proxy", "HTTP_PROXY"):
        env.pop(name, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    log = (data / "server.log").open("wb")
    process = subprocess.Popen(
        argv, cwd=data, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        try:
            _wait_ready(running, app, process)
            app.seed(running)
            if running.spec and not is_openapi_document(*running.call("GET", running.spec)):
                _fetch_spec_as_first_identity(running)
        except (OSError, RuntimeError) as exc:
            tail = (data / "server.log").read_text(errors="replace")[-600:]
            raise RuntimeError(
                f"{app.name} could not be started and seeded: {exc}\n{tail}"
            ) from exc
        yield running
    finally:
        _stop(process)
        log.close()


def _wait_ready(running: Running, app: App, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + app.start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{app.name} exited {process.returncode} on start")
        with contextlib.suppress(OSError):
            if running.call("GET", app.ready)[0] < 500:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{app.name} did not answer {app.ready} within {app.start_timeout:.0f} s")


def is_openapi_document(status: int, answer: Any) -> bool:
    """Whether an answer is an OpenAPI/Swagger document (not, say, a login page)."""
    if status != 200:
        return False
    if isinstance(answer, str):
        try:
            answer = yaml.safe_load(answer)
        except yaml.YAMLError:
            return False
    return isinstance(answer, dict) and ("openapi" in answer or "swagger" in answer)


def _fetch_spec_as_first_identity(running: Running) -> None:
    profile = next(iter(running.identities.values()), None)
    headers = profile_headers(profile) if profile else {}
    status, text = running.call("GET", running.spec or "/", headers=headers)
    if not is_openapi_document(status, text):
        raise RuntimeError(f"{running.name}: the document at {running.spec} answered {status}")
    running.spec_file = running.data / "openapi.json"
    running.spec_file.write_text(text if isinstance(text, str) else json.dumps(text))


def profile_headers(profile: str) -> dict[str, str]:
    """The request headers of an ``--identity`` profile (basic, bearer or header)."""
    kind, _, rest = profile.partition(":")
    if kind == "basic":
        user, _, password = rest.partition(":")
        return basic(user, password)
    if kind == "bearer":
        return {"Authorization": f"Bearer {rest}"}
    if kind == "header":
        name, _, value = rest.partition(":")
        return {name: value}
    raise ValueError(f"no headers for a {kind!r} profile")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the app's process group (only the processes this module started)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
