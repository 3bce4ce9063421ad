"""A DynamoDB-speaking server for the lab: dynalite on loopback, or ``AWS_ENDPOINT_URL``.

``Dynamo`` starts dynalite (npm, pinned by ``lab/package-lock.json``) bound to 127.0.0.1 with an
in-memory store, waits until it answers, and stops it again; when ``AWS_ENDPOINT_URL`` is set the
lab uses that endpoint instead (DynamoDB Local, or a real account) and starts nothing.
``resource(endpoint_url)`` gives the boto3 resource every service and seeder uses.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

LAB_DIR = Path(__file__).resolve().parent
DYNALITE_CLI = LAB_DIR / "node_modules" / "dynalite" / "cli.js"
REGION = "us-east-1"
_START_TIMEOUT_S = 20.0
_PORT_ATTEMPTS = 5
_DYNALITE_FLAGS = ("--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")


class DynamoError(RuntimeError):
    """dynalite could not be installed or started."""


def ensure_dynalite_installed() -> Path:
    """Install dynalite from the lockfile (``npm ci --prefix lab``) if missing; return its CLI."""
    if DYNALITE_CLI.exists():
        return DYNALITE_CLI
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoError(
            "the lab needs Node.js >= 20 and npm for dynalite, or AWS_ENDPOINT_URL pointing at "
            "a DynamoDB endpoint; npm was not found on PATH"
        )
    done = subprocess.run(
        [npm, "ci", "--prefix", str(LAB_DIR), "--no-audit", "--no-fund"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not DYNALITE_CLI.exists():
        raise DynamoError(
            f"`npm ci --prefix lab` failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return DYNALITE_CLI


def _session_and_config(parameter_validation: bool) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=3,
        read_timeout=10,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=32,
        parameter_validation=parameter_validation,
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or REGION
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return boto3.session.Session(region_name=region), config
    session = boto3.session.Session(
        aws_access_key_id="lab",
        aws_secret_access_key="lab",  # dummy credentials for a local server
        region_name=region,
    )
    return session, config


def resource(endpoint_url: str, *, parameter_validation: bool = True) -> Any:
    """Return a boto3 DynamoDB resource for ``endpoint_url`` (us-east-1; dummy credentials if none).

    Credentials come from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` or ``AWS_PROFILE`` when
    set; otherwise fixed dummy ones, so that boto3 never looks for instance credentials on the
    network. ``parameter_validation=False`` lets DynamoDB itself reject bad parameters (with its
    own messages) instead of botocore.
    """
    session, config = _session_and_config(parameter_validation)
    return session.resource("dynamodb", endpoint_url=endpoint_url, config=config)


def client(endpoint_url: str, *, parameter_validation: bool = True) -> Any:
    """Return a low-level boto3 DynamoDB client (raw AttributeValues), set up like ``resource``."""
    session, config = _session_and_config(parameter_validation)
    return session.client("dynamodb", endpoint_url=endpoint_url, config=config)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Dynamo:
    """dynalite on a free 127.0.0.1 port (or ``AWS_ENDPOINT_URL``); use as a context manager.

    ``endpoint_url`` is set once ``start()`` returns. ``stop()`` ends the process it started and
    is safe to call twice.
    """

    def __init__(self, endpoint_url: str | None = None, *, detach: bool = False) -> None:
        self._given = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        self._detach = detach  # in its own session, so that it outlives this process
        self._process: subprocess.Popen[bytes] | None = None
        self.endpoint_url: str = self._given or ""

    @property
    def pid(self) -> int | None:
        """The dynalite process id, or None when an external endpoint is used."""
        return self._process.pid if self._process is not None else None

    def start(self) -> Dynamo:
        """Start dynalite (unless an endpoint was given) and wait until it answers."""
        if self._given or self._process is not None:
            return self
        cli = ensure_dynalite_installed()
        node = shutil.which("node")
        if node is None:
            raise DynamoError("the lab needs Node.js >= 20 for dynalite; node was not found")
        last_error = ""
        for _ in range(_PORT_ATTEMPTS):
            port = _free_port()
            with tempfile.TemporaryFile() as errors:
                process = subprocess.Popen(
                    [node, str(cli), "--host", "127.0.0.1", "--port", str(port), *_DYNALITE_FLAGS],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    start_new_session=self._detach,
                )
                if _wait_until_answering(process, port):
                    self._process = process
                    self.endpoint_url = f"http://127.0.0.1:{port}"
                    return self
                finish(process)
                errors.seek(0)
                last_error = errors.read().decode("utf-8", "replace")[-500:]
        raise DynamoError(f"dynalite did not start on 127.0.0.1: {last_error}")

    def release(self) -> subprocess.Popen[bytes] | None:
        """Forget the dynalite process without stopping it (a detached lab); return it."""
        process, self._process = self._process, None
        return process

    def stop(self) -> None:
        """Stop the dynalite process this object started (no-op for an external endpoint)."""
        process, self._process = self._process, None
        if process is not None:
            finish(process)

    def __enter__(self) -> Dynamo:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _wait_until_answering(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline and process.poll() is None:
        if _answers(port):
            return True
        time.sleep(0.05)
    return False


def finish(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process`` (kill after 5 s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def plain(value: Any) -> Any:
    """``value`` with DynamoDB's Decimals and sets turned into JSON numbers and sorted lists."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(item) for item in value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
