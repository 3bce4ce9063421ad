"""Scan time, requests and memory at the defaults, on generated APIs of growing size.

For each size it serves the generated API of ``benchmarks/generated_api.py`` on 127.0.0.1 (in
its own process), runs ``middlebrick scan URL --spec FILE`` at the defaults as a user would (its
own process: spec load, discovery, baseline, checks, filter, render) and prints: wall time of
the command, the scan's own duration, the time to load the spec alone, requests, requests per
operation, checks cut by a budget, and the command's peak RSS; then a raw aiohttp loop sends the
same number of GETs to the same server (32 at once): the physical limit on this machine.

Then the rate-limit case: the 15-operation API behind a limit of 20 requests per second (429
with ``Retry-After: 1`` past it), scanned at the defaults; it prints the 429 answers, the rate
of requests sent in the second half of the scan, and whether the findings equal those of the
same API without the limit (apart from ``rate_limiting.no-rate-limit``)::

    .venv/bin/python benchmarks/scale.py [--sizes 10,15,100,1000,10000] [--limit-rps 20]
        [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.generated_api import spec  # noqa: E402
from middlebrick.spec.load import load_spec  # noqa: E402

_NO_LIMIT = "rate_limiting.no-rate-limit"


@contextmanager
def _served(
    operations: int, limit_rps: float | None = None, answers: list[tuple[float, int]] | None = None
) -> Iterator[str]:
    """The generated API in its own process on a free loopback port; yields its base URL.

    When it stops, ``answers`` receives the time and status of every answer it gave.
    """
    command = [sys.executable, str(_REPO / "benchmarks" / "generated_api.py"), str(operations)]
    if limit_rps is not None:
        command += ["--limit-rps", str(limit_rps)]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None and server.stdin is not None
    try:
        yield f"http://127.0.0.1:{int(server.stdout.readline())}"
    finally:
        server.stdin.close()
        log = server.stdout.read()
        server.wait(timeout=30)
    if answers is not None:
        answers.extend((at, status) for at, status in json.loads(log))


def _scan(url: str, spec_file: Path, workdir: Path) -> dict[str, Any]:
    """``middlebrick scan`` at the defaults in its own process: its report, wall time, peak RSS."""
    out = workdir / "report.json"
    command = [
        str(Path(sys.executable).with_name("middlebrick")),
        "scan",
        url,
        "--spec",
        str(spec_file),
        "--format",
        f"json:{out}",
        "--no-save",
        "--quiet",
    ]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if not out.exists():
        assert child.stderr is not None
        raise RuntimeError(f"the scan of {url} failed: {child.stderr.read().decode()[-500:]}")
    report: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    return {"report": report, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024}


async def _raw(url: str, requests: int, concurrency: int = 32) -> float:
    """Seconds a plain aiohttp loop takes for ``requests`` GETs of the API's first list."""
    numbers = iter(range(requests))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for i in numbers:
                async with session.get(f"{url}/r0?i={i}") as resp:
                    await resp.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def _load_seconds(spec_file: Path) -> float:
    started = time.perf_counter()
    load_spec(spec_file)
    return time.perf_counter() - started


def _pace(report: dict[str, Any]) -> str:
    return next((n for n in report["notes"] if n.startswith("pace: ")), "")


def _size(operations: int, workdir: Path) -> dict[str, Any]:
    spec_file = workdir / f"openapi-{operations}.json"
    spec_file.write_text(json.dumps(spec(operations)), encoding="utf-8")
    with _served(operations) as url:
        run = _scan(url, spec_file, workdir)
        report = run["report"]
        raw = asyncio.run(_raw(url, report["requests"]))
    return {
        "operations": operations,
        "wall_s": run["wall_s"],
        "scan_s": report["duration_s"],
        "load_s": _load_seconds(spec_file),
        "requests": report["requests"],
        "requests_per_operation": report["requests"] / operations,
        "checks_cut": sum(cut["check"] != "baseline" for cut in report["cut"]),
        "baseline_cut": any(cut["check"] == "baseline" for cut in report["cut"]),
        "peak_rss_mb": run["peak_rss_mb"],
        "raw_aiohttp_s": raw,
        "pace": _pace(report),
        "findings": sorted((f["type_id"], f["fingerprint"]) for f in report["findings"]),
    }


def _limited(limit_rps: float, workdir: Path, free: list[tuple[str, str]]) -> dict[str, Any]:
    operations = 15
    spec_file = workdir / f"openapi-{operations}.json"
    spec_file.write_text(json.dumps(spec(operations)), encoding="utf-8")
    answers: list[tuple[float, int]] = []
    with _served(operations, limit_rps, answers) as url:
        run = _scan(url, spec_file, workdir)
    report = run["report"]
    half = answers[-1][0] / 2 if answers else 0.0
    late = [status for at, status in answers if at >= half]
    pace = _pace(report)
    ended = re.search(r"ended at ([\d.]+)/s", pace)
    found = sorted((f["type_id"], f["fingerprint"]) for f in report["findings"])
    return {
        "operations": operations,
        "limit_rps": limit_rps,
        "scan_s": report["duration_s"],
        "requests": report["requests"],
        "answered_429": sum(status == 429 for _, status in answers),
        "second_half_rps": len(late) / half if half else 0.0,
        "second_half_429": sum(status == 429 for status in late),
        "final_rate": float(ended.group(1)) if ended else None,
        "same_findings": found == [f for f in free if f[0] != _NO_LIMIT],
        "pace": pace,
    }


def main() -> int:
    """Run every size, then the rate-limited case; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,15,100,1000,10000")
    parser.add_argument("--limit-rps", type=float, default=20.0)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    figures: dict[str, Any] = {"sizes": [], "limited": None}
    print(
        f"{'operations':>10} {'wall s':>7} {'scan s':>7} {'load s':>7} {'requests':>9} "
        f"{'req/op':>7} {'cut':>4} {'RSS MB':>7} {'raw s':>6}"
    )
    with tempfile.TemporaryDirectory(prefix="middlebrick-scale-") as folder:
        workdir = Path(folder)
        for operations in sizes:
            row = _size(operations, workdir)
            figures["sizes"].append(row)
            cut = f"{row['checks_cut']}" + ("+b" if row["baseline_cut"] else "")
            print(
                f"{operations:>10} {row['wall_s']:>7.1f} {row['scan_s']:>7.1f} "
                f"{row['load_s']:>7.2f} {row['requests']:>9} {row['requests_per_operation']:>7.1f} "
                f"{cut:>4} {row['peak_rss_mb']:>7.0f} {row['raw_aiohttp_s']:>6.1f}"
            )
            print(f"{'':>10} {row['pace']}")
        free = next((row["findings"] for row in figures["sizes"] if row["operations"] == 15), None)
        if free is None:
            free = _size(15, workdir)["findings"]
        limited = figures["limited"] = _limited(args.limit_rps, workdir, free)
    print(
        f"\nbehind a limit of {limited['limit_rps']:g} requests/s, {limited['operations']} "
        f"operations: {limited['scan_s']:.1f} s, {limited['requests']} requests, "
        f"{limited['answered_429']} answered 429; second half of the scan: "
        f"{limited['second_half_rps']:.1f} requests/s, {limited['second_half_429']} answered 429; "
        f"same findings as without the limit: {'yes' if limited['same_findings'] else 'NO'}"
    )
    print(f"  {limited['pace']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
