"""Throughput and latency of ``middlebrick serve``: lab scans per hour through the REST API with
the in-process pool and with 1 and 2 Celery workers, and GET-scan latency while scans run.

Starts the lab, then for each set-up a fresh store (SQLite in a temporary folder), the service
(``middlebrick serve``, plus ``middlebrick worker`` processes on the machine's Redis, database
number 12, emptied before and after), submits ``--scans`` lab scans at once (safe mode, the
spec given, two identities) and times them from the first submission to the last completion.
Meanwhile one client asks ``GET /api/v1/scans/{id}`` of a running scan in a loop; its latencies
give p50 and p99. Everything stays on 127.0.0.1::

    .venv/bin/python benchmarks/service.py [--scans 12] [--setups inprocess,celery1,celery2]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:  # the lab is not installed with the scanner
    sys.path.insert(0, str(_REPO))

from lab import runner  # noqa: E402
from middlebrick.server.auth import digest, new_key  # noqa: E402
from middlebrick.store import open_store  # noqa: E402
from middlebrick.store.sealing import new_secret  # noqa: E402

BROKER = "redis://127.0.0.1:6379/12"
CLI = [sys.executable, "-c", "from middlebrick.cli import main; main()"]
SETUPS = {"inprocess": 0, "celery1": 1, "celery2": 2}  # Celery worker processes (0: in-process)


@dataclass
class Outcome:
    setup: str
    scans: int
    failed: int
    seconds: float
    latencies: list[float]

    @property
    def per_hour(self) -> float:
        return (self.scans - self.failed) / self.seconds * 3600

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _flush_redis() -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=12)
    client.flushdb()
    client.close()


def run_setup(name: str, workers: int, lab: runner.Lab, count: int) -> Outcome:
    folder = Path(tempfile.mkdtemp(prefix="middlebrick-bench-"))
    database = f"sqlite:///{folder / 'store.db'}"
    repo = open_store(database)
    org = repo.organisation("bench", create=True)
    assert org is not None
    key = new_key()
    repo.add_key(
        org, name="bench", prefix=key[:10], digest=digest(key), rate_limit=10**7, daily=10**6
    )
    loopback = repo.add_domain(org, "127.0.0.1")  # the lab is on loopback: verified by hand
    repo.record_check(org, loopback.id, verified=True, method="file", reason="benchmark")
    repo.close()
    env = {"MIDDLEBRICK_SECRET_KEY": new_secret()}
    port = _port()
    url = f"http://127.0.0.1:{port}"
    serve = ["serve", "--port", str(port), "--database-url", database, "--allow-private"]
    if workers:
        _flush_redis()
        serve += ["--broker", BROKER]
    processes = [_start(serve, env)]
    processes += [
        _start(["worker", "--broker", BROKER, "--database-url", database], env)
        for _ in range(workers)
    ]
    headers = {"X-API-Key": key}
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            _wait_up(http)
            if workers:
                time.sleep(5)  # the workers connect to the broker
            bodies = []
            for index in range(count):
                target = lab.targets[index % len(lab.targets)]
                users = list(target.tokens)[:2]
                bodies.append(
                    {
                        "url": target.url,
                        "spec_url": target.spec_url,
                        "identities": [
                            {"name": u, "auth": f"bearer:{target.tokens[u]}"} for u in users
                        ],
                    }
                )
            started = time.perf_counter()
            ids = [http.post("/api/v1/scans", json=body).json()["id"] for body in bodies]
            latencies: list[float] = []
            done = threading.Event()
            prober = threading.Thread(target=_probe, args=(url, headers, ids, latencies, done))
            prober.start()
            statuses = _wait_all(http, ids)
            seconds = time.perf_counter() - started
            done.set()
            prober.join()
    finally:
        for process in reversed(processes):
            _stop(process)
        if workers:
            _flush_redis()
    failed = sum(1 for s in statuses.values() if s != "completed")
    return Outcome(name, count, failed, seconds, latencies)


def _wait_up(http: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if http.get("/api/v1/openapi.json").status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit("the service did not start")


def _wait_all(http: httpx.Client, ids: list[str]) -> dict[str, str]:
    statuses: dict[str, str] = {}
    deadline = time.monotonic() + 1800
    while len(statuses) < len(ids) and time.monotonic() < deadline:
        for scan_id in ids:
            if scan_id not in statuses:
                status = http.get(f"/api/v1/scans/{scan_id}").json()["status"]
                if status in ("completed", "failed"):
                    statuses[scan_id] = status
        time.sleep(0.5)
    return statuses


def _probe(
    url: str, headers: dict[str, str], ids: list[str], latencies: list[float], done: threading.Event
) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        index = 0
        while not done.is_set():
            scan_id = ids[index % len(ids)]
            index += 1
            begun = time.perf_counter()
            http.get(f"/api/v1/scans/{scan_id}")
            latencies.append(time.perf_counter() - begun)
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=12, help="lab scans per set-up")
    parser.add_argument("--setups", default=",".join(SETUPS), help="inprocess,celery1,celery2")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.setups.split(",") if s.strip()]
    print(f"middlebrick serve: {args.scans} lab scans per set-up, {os.cpu_count()} cores")
    outcomes = []
    with runner.start() as lab:
        for name in chosen:
            outcome = run_setup(name, SETUPS[name], lab, args.scans)
            outcomes.append(outcome)
            print(
                f"  {name:<10} {outcome.scans - outcome.failed}/{outcome.scans} completed in "
                f"{outcome.seconds:6.1f} s  {outcome.per_hour:7.0f} scans/hour  GET scan "
                f"p50 {outcome.percentile(0.5):6.1f} ms  p99 {outcome.percentile(0.99):6.1f} ms "
                f"({len(outcome.latencies)} requests)",
                flush=True,
            )
    base = outcomes[0].per_hour if outcomes else 0
    for outcome in outcomes[1:]:
        print(f"  {outcome.setup} / {outcomes[0].setup}: {outcome.per_hour / base:.2f}x")


if __name__ == "__main__":
    main()
