"""Throughput of ``HttpClient.send`` against a raw aiohttp loop, on the same local server.

The server (aiohttp.web, trivial JSON handler) runs in a separate process on 127.0.0.1 so only
the client side is measured here. Each round runs the raw loop and the scanner's client with the
same concurrency and the same number of distinct URLs (``?i=N``, so the cache never answers),
interleaved in slices (raw, scanner, scanner, raw, …) so that noise from other processes falls
on both alike. Prints every round and the medians::

    .venv/bin/python benchmarks/http_throughput.py [--rounds 5] [--requests 3000]
        [--concurrency 16] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from middlebrick.config import Limits, ScanRequest
from middlebrick.http.client import HttpClient
from middlebrick.http.exchange import Request

TARGET = 0.70  # the scanner's client should reach at least this share of the raw loop
_SLICES = 4  # each round interleaves the two clients in this many slices per side


def _serve() -> None:
    """Run the trivial server; print its port on stdout, serve until stdin closes."""
    from aiohttp import web

    payload = json.dumps({"id": 1, "name": "item", "tags": ["a", "b"]}).encode()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=payload, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        print(server.sockets[0].getsockname()[1], flush=True)  # type: ignore[attr-defined]
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())


async def _drive(
    first: int, count: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> float:
    """Run ``one(i)`` for ``count`` values of i on ``concurrency`` workers; return seconds."""
    numbers = iter(range(first, first + count))

    async def worker() -> None:
        for i in numbers:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


@asynccontextmanager
async def _raw(base: str, concurrency: int) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """A plain aiohttp loop: one pooled session, body read whole."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> None:
            async with session.get(f"{base}/items?i={i}") as resp:
                await resp.read()
                assert resp.status == 200

        yield one


@asynccontextmanager
async def _scanner(base: str, concurrency: int) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """The scanner's HttpClient with limits far out of the way."""
    limits = Limits(
        concurrency=concurrency, rate=1e6, max_requests=10**9, time_budget=3600.0, retries=0
    )
    async with HttpClient(ScanRequest(target=base, limits=limits)) as client:

        async def one(i: int) -> None:
            exchange = await client.send(Request("GET", f"{base}/items?i={i}"))
            assert exchange.response is not None and exchange.response.status == 200

        yield one


async def _round(base: str, args: argparse.Namespace, first: int) -> dict[str, float]:
    """One round: both clients, their requests in alternating slices (ABBA) to share the noise."""
    seconds = {"raw": 0.0, "scanner": 0.0}
    size = args.requests // _SLICES
    async with _raw(base, args.concurrency) as raw, _scanner(base, args.concurrency) as scanner:
        senders = {"raw": raw, "scanner": scanner}
        for name in senders:  # warm the pools, not counted
            await _drive(first, args.concurrency * 4, args.concurrency, senders[name])
            first += args.concurrency * 4
        for index in range(_SLICES):
            order = ["raw", "scanner"] if index % 2 == first % 2 else ["scanner", "raw"]
            for name in order:
                seconds[name] += await _drive(first, size, args.concurrency, senders[name])
                first += size
    return {name: size * _SLICES / spent for name, spent in seconds.items()}


async def _rounds(base: str, args: argparse.Namespace) -> dict[str, Any]:
    raw: list[float] = []
    scanner: list[float] = []
    for index in range(args.rounds):
        result = await _round(base, args, first=(index + 1) * 10 * args.requests + index)
        raw.append(result["raw"])
        scanner.append(result["scanner"])
        print(
            f"round {index + 1}: raw {result['raw']:8.0f} req/s   scanner {result['scanner']:8.0f}"
            f" req/s   ratio {result['scanner'] / result['raw']:.2f}"
        )
    raw_median, scanner_median = statistics.median(raw), statistics.median(scanner)
    return {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "raw_rps": raw,
        "scanner_rps": scanner,
        "raw_median_rps": raw_median,
        "scanner_median_rps": scanner_median,
        "ratio": scanner_median / raw_median,
        "median_round_ratio": statistics.median(s / r for s, r in zip(scanner, raw, strict=True)),
        "target_ratio": TARGET,
    }


def main() -> int:
    """Start the server process, run the rounds, print medians; exit 1 below the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve()
        return 0
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        figures = asyncio.run(_rounds(f"http://127.0.0.1:{port}", args))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    print(
        f"median: raw {figures['raw_median_rps']:.0f} req/s, scanner "
        f"{figures['scanner_median_rps']:.0f} req/s, ratio {figures['ratio']:.2f} "
        f"(median of round ratios {figures['median_round_ratio']:.2f}; target ≥ {TARGET:.2f})"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return 0 if figures["ratio"] >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
