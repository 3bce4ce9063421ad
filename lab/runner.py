"""Start and stop the whole lab: DynamoDB, seeded tables, every service × variant on loopback.

``start()`` returns a running ``Lab`` (its ``targets`` carry URL, spec URL and tokens); ``stop()``
ends every process it started. ``start(detach=True)`` leaves the processes running after this
Python process exits and records them in a state file, so that ``middlebrick lab up`` and
``middlebrick lab down`` can be separate commands: ``current()`` reads the state back and
``down()`` stops what it names.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab import SERVICES, VARIANTS, stores
from lab.dynamo import Dynamo, finish, resource
from lab.identities import WEAK_SECRET, TokenSet, drf_token, mint, strong_secret

REPO_ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = {
    "items": "fastapi",
    "tenants": "django",
    "profiles": "flask",
    "shop": "fastapi",
    "blog": "django",
}
AUTH_SCHEMES = {"blog": "Token"}  # DRF's TokenAuthentication keyword; "Bearer" elsewhere
TOKEN_LIFETIME_S = 86_400
_START_TIMEOUT_S = 30.0
_PORT_ATTEMPTS = 3
# Processes of a detached lab started by this interpreter, kept so that they are reaped here.
_DETACHED: dict[int, subprocess.Popen[bytes]] = {}


class LabError(RuntimeError):
    """The lab could not start, or a lab that is not running was asked to stop."""


@dataclass(frozen=True)
class Target:
    """One running service variant: where it listens and the bearer token of every lab user."""

    service: str
    variant: str
    url: str
    spec_url: str
    tokens: dict[str, str]
    framework: str
    auth_scheme: str = "Bearer"  # the Authorization header is "<auth_scheme> <token>"

    @property
    def name(self) -> str:
        """``"items/vulnerable"``."""
        return f"{self.service}/{self.variant}"


def state_path() -> Path:
    """Where a detached lab is recorded (``$MIDDLEBRICK_LAB_STATE`` or the temp folder)."""
    override = os.environ.get("MIDDLEBRICK_LAB_STATE")
    if override:
        return Path(override)
    return Path(tempfile.gettempdir()) / f"middlebrick-lab-{os.getuid()}.json"


def tokens_for(service: str, variant: str, secret: str) -> TokenSet:
    """Every user's token for one variant: the vulnerable items service's are weak and eternal."""
    if service == "items" and variant == "vulnerable":
        return {user: mint(user, secret=WEAK_SECRET, exp_seconds=None) for user in _users()}
    if AUTH_SCHEMES.get(service) == "Token":
        return {
            user: drf_token(user, secret=secret, scope=f"{service}/{variant}") for user in _users()
        }
    return {user: mint(user, secret=secret, exp_seconds=TOKEN_LIFETIME_S) for user in _users()}


def _users() -> tuple[str, ...]:
    from lab.identities import USERS

    return tuple(USERS)


@dataclass
class Lab:
    """A running lab. Use as a context manager, or call ``stop()``."""

    targets: list[Target]
    endpoint_url: str
    secret: str
    log_dir: Path
    pids: dict[str, int] = field(default_factory=dict)  # target name (or "dynalite") -> pid
    databases: dict[str, str] = field(default_factory=dict)  # target name -> database URL
    _dynamo: Dynamo | None = field(default=None, repr=False)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    def target(self, service: str, variant: str) -> Target:
        """The target of ``service``'s ``variant``."""
        for target in self.targets:
            if (target.service, target.variant) == (service, variant):
                return target
        raise KeyError(f"{service}/{variant} is not running in this lab")

    def snapshot(self, service: str, variant: str) -> dict[str, dict[str, Any]]:
        """Every table of one target's store, read whole (``lab.state``)."""
        from lab.state import snapshot, sql_snapshot

        database = self.databases.get(f"{service}/{variant}")
        if database is not None:
            return sql_snapshot(database)
        return snapshot(self.endpoint_url, f"{service}_{variant}_")

    def reseed(self, *services: str) -> None:
        """Write the seed data of ``services`` (every service when none is named) again: undoes
        what an active scan changed."""
        for target in self.targets:
            if not services or target.service in services:
                _seed(self, target.service, target.variant)

    def stop(self) -> None:
        """Stop every process this lab started; safe to call twice."""
        processes, self._processes = self._processes, []
        for process in processes:
            finish(process)
        if self._dynamo is not None:
            self._dynamo.stop()
            self._dynamo = None
        if not processes and self.pids:  # a lab read back from the state file
            for name, pid in self.pids.items():
                _kill_pid(pid, "dynalite" if name == "dynalite" else "lab.serve")
        self.pids = {}
        databases, self.databases = self.databases, {}
        for url in databases.values():
            stores.drop(url)
        path = state_path()
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("log_dir") == str(self.log_dir):
                path.unlink()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def to_state(self) -> dict[str, Any]:
        """The JSON-able record of this lab, as the state file holds it."""
        return {
            "targets": [asdict(t) for t in self.targets],
            "endpoint_url": self.endpoint_url,
            "secret": self.secret,
            "log_dir": str(self.log_dir),
            "pids": self.pids,
            "databases": self.databases,
        }


def _seed(lab: Lab, service: str, variant: str) -> None:
    """Write one target's seed data again: its DynamoDB tables, or its relational database."""
    module = importlib.import_module(f"lab.{service}.seed")
    database = lab.databases.get(f"{service}/{variant}")
    if database is None:
        module.seed(resource(lab.endpoint_url), f"{service}_{variant}_")
    else:
        module.seed(database, secret=lab.secret, variant=variant)


def _spec_path(service: str) -> str:
    module = importlib.import_module(f"lab.{service}")
    return str(getattr(module, "SPEC_PATH", "/openapi.json"))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=1.0) as response:
            return bool(response.status)
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except OSError:
        return False


def _spawn(
    lab: Lab, service: str, variant: str, port: int, log: Path, detach: bool
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, LAB_SECRET=lab.secret, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "lab.serve", service, variant, "--port", str(port)]
    database = lab.databases.get(f"{service}/{variant}")
    where = ["--database", database] if database else ["--endpoint", lab.endpoint_url]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, *where],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )


def _kill_pid(pid: int, marker: str) -> None:
    """Stop ``pid`` only if it still is a lab process (its command line contains ``marker``)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        cmdline = marker if sys.platform != "linux" else ""
    if marker not in cmdline:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not _gone(pid):
            time.sleep(0.05)
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)
        _gone(pid)


def _gone(pid: int) -> bool:
    """True when ``pid`` has exited (reaping it if this interpreter started it)."""
    process = _DETACHED.get(pid)
    if process is not None:
        if process.poll() is None:
            return False
        del _DETACHED[pid]
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # somebody else's process: alive, and not ours to stop
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux): alive as far as we can tell
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"  # a zombie has exited


def _select(given: Iterable[str] | None, known: tuple[str, ...], what: str) -> list[str]:
    chosen = list(given) if given is not None else list(known)
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise LabError(f"unknown {what} {unknown}; choose from {list(known)}")
    return chosen


def _available(services: list[str]) -> list[str]:
    """The services whose package is present (the lab is built in parallel)."""
    return [s for s in services if (REPO_ROOT / "lab" / s / "app.py").exists()]


def _with_postgres(services: list[str], *, asked: bool) -> list[str]:
    """``services`` without those on PostgreSQL when it cannot be reached, saying so.

    Fails instead when the services were named (``asked``) or PostgreSQL is required
    (``MIDDLEBRICK_REQUIRE_POSTGRES=1``, as in CI).
    """
    needing = [s for s in services if stores.store(s) == "postgres"]
    problem = stores.postgres_problem() if needing else None
    if problem is None:
        return services
    if asked or stores.postgres_required():
        raise LabError(f"{', '.join(needing)} need PostgreSQL: {problem}")
    print(
        f"lab: skipping {', '.join(needing)}: {problem} "
        "(set MIDDLEBRICK_REQUIRE_POSTGRES=1 to make this an error)",
        file=sys.stderr,
    )
    return [s for s in services if s not in needing]


def start(
    services: Iterable[str] | None = None,
    variants: Iterable[str] | None = None,
    *,
    endpoint_url: str | None = None,
    detach: bool = False,
) -> Lab:
    """Start DynamoDB, seed, and serve every service × variant on 127.0.0.1 until healthy.

    ``services``/``variants`` default to all. ``endpoint_url`` (or ``$AWS_ENDPOINT_URL``) uses an
    existing DynamoDB instead of dynalite. With ``detach`` the processes outlive this one and
    the lab is recorded in ``state_path()``; otherwise they stop at exit at the latest.
    """
    chosen = _select(services, SERVICES, "services")
    if services is None:
        chosen = _available(chosen)
    chosen = _with_postgres(chosen, asked=services is not None)
    chosen_variants = _select(variants, VARIANTS, "variants")
    if detach and state_path().exists() and current() is not None:
        raise LabError(f"a lab is already running (see {state_path()}); stop it with `lab down`")
    log_dir = Path(tempfile.mkdtemp(prefix="middlebrick-lab-"))
    dynamo = Dynamo(endpoint_url, detach=detach)
    secret = strong_secret()
    lab = Lab(targets=[], endpoint_url="", secret=secret, log_dir=log_dir, _dynamo=dynamo)
    if not detach:
        atexit.register(lab.stop)
    try:
        dynamo.start()
        lab.endpoint_url = dynamo.endpoint_url
        if dynamo.pid is not None:
            lab.pids["dynalite"] = dynamo.pid
        pairs = [(s, v) for s in chosen for v in chosen_variants]
        for service, variant in pairs:
            kind = stores.store(service)
            if kind != "dynamodb":
                url = stores.database_url(kind, service, variant, log_dir)
                lab.databases[f"{service}/{variant}"] = url
            _seed(lab, service, variant)
        lab.targets = _serve_all(lab, pairs, detach)
    except BaseException:
        lab.stop()
        raise
    if detach:  # hand the processes over to the state file
        released = dynamo.release()
        for process in [*lab._processes, *([released] if released else [])]:
            _DETACHED[process.pid] = process
        lab._processes = []
        lab._dynamo = None
        path = state_path()
        path.write_text(json.dumps(lab.to_state(), indent=2))
        path.chmod(0o600)
    return lab


def _serve_all(lab: Lab, pairs: list[tuple[str, str]], detach: bool) -> list[Target]:
    pending: dict[tuple[str, str], tuple[subprocess.Popen[bytes], int, int]] = {}
    for service, variant in pairs:
        port = _free_port()
        log = lab.log_dir / f"{service}-{variant}.log"
        process = _spawn(lab, service, variant, port, log, detach)
        lab._processes.append(process)
        pending[(service, variant)] = (process, port, 1)
    ready: dict[tuple[str, str], int] = {}
    deadline = time.monotonic() + _START_TIMEOUT_S
    while pending:
        if time.monotonic() > deadline:
            names = ", ".join(f"{s}/{v}" for s, v in pending)
            raise LabError(
                f"{names} did not answer within {_START_TIMEOUT_S:.0f} s; logs in {lab.log_dir}"
            )
        for key, (process, port, attempt) in list(pending.items()):
            if _answers_http(f"http://127.0.0.1:{port}"):
                ready[key] = port
                lab.pids[f"{key[0]}/{key[1]}"] = process.pid
                del pending[key]
            elif process.poll() is not None:
                log = lab.log_dir / f"{key[0]}-{key[1]}.log"
                if attempt >= _PORT_ATTEMPTS:
                    tail = log.read_text(errors="replace")[-1500:]
                    raise LabError(f"{key[0]}/{key[1]} exited ({process.returncode}):\n{tail}")
                port = _free_port()  # most likely the port was taken meanwhile: try another
                process = _spawn(lab, key[0], key[1], port, log, detach)
                lab._processes.append(process)
                pending[key] = (process, port, attempt + 1)
        time.sleep(0.05)
    targets = []
    for service, variant in pairs:
        url = f"http://127.0.0.1:{ready[(service, variant)]}"
        targets.append(
            Target(
                service=service,
                variant=variant,
                url=url,
                spec_url=url + _spec_path(service),
                tokens=tokens_for(service, variant, lab.secret),
                framework=FRAMEWORKS[service],
                auth_scheme=AUTH_SCHEMES.get(service, "Bearer"),
            )
        )
    return targets


def current() -> Lab | None:
    """The detached lab recorded in the state file, if its processes still run."""
    try:
        state = json.loads(state_path().read_text())
    except (OSError, ValueError):
        return None
    pids: dict[str, int] = state.get("pids", {})
    alive = [pid for pid in pids.values() if not _gone(pid)]
    if not alive:
        return None
    return Lab(
        targets=[Target(**t) for t in state["targets"]],
        endpoint_url=state["endpoint_url"],
        secret=state["secret"],
        log_dir=Path(state["log_dir"]),
        pids=pids,
        databases=state.get("databases", {}),
    )


def down() -> bool:
    """Stop the detached lab recorded in the state file; False when none was running."""
    lab = current()
    path = state_path()
    if lab is None:
        path.unlink(missing_ok=True)
        return False
    lab.stop()
    path.unlink(missing_ok=True)
    shutil.rmtree(lab.log_dir, ignore_errors=True)
    return True
