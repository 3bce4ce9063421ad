"""Time to read API descriptions of growing size: a JSON file, a YAML file, a served document.

For each size it writes the document of ``benchmarks/generated_api.py`` as JSON and as YAML,
loads each file as ``--spec FILE`` does, then serves the API on 127.0.0.1 and finds and parses
its ``/openapi.json`` as discovery does (through the scan's client, read up to the 32 MiB
document limit, not the 1 MiB cap of other answers). It prints the document's size, each time,
and the time per 1,000 operations, which stays flat when every step is linear. Last, the
538-byte merge-key YAML bomb: how long its refusal takes::

    .venv/bin/python benchmarks/spec_load.py [--sizes 100,1000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from benchmarks.generated_api import app, spec  # noqa: E402
from middlebrick.config import ScanRequest  # noqa: E402
from middlebrick.discovery.wellknown import find_spec  # noqa: E402
from middlebrick.errors import SpecError  # noqa: E402
from middlebrick.http.client import HttpClient  # noqa: E402
from middlebrick.spec.load import load_spec  # noqa: E402
from middlebrick.testing import LiveApp  # noqa: E402


def _timed_load(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    loaded = load_spec(path)
    return time.perf_counter() - started, len(loaded.operations)


async def _timed_served(operations: int) -> tuple[float, int]:
    async with LiveApp(app(operations)) as url, HttpClient(ScanRequest(target=url)) as client:
        started = time.perf_counter()
        search = await find_spec(client, url)
        seconds = time.perf_counter() - started
    found = search.found.spec.operations if search.found is not None else ()
    return seconds, len(found)


def _merge_bomb() -> str:
    lines = ["openapi: 3.0.0", "a0: &a0 {k0: 1, k1: 1, k2: 1, k3: 1}"]
    for level in range(1, 9):
        merged = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} {{<<: [{merged}]}}")
    return "\n".join([*lines, "paths: {}", ""])


def main() -> int:
    """Print the table, then the bomb's refusal time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    print(
        f"{'operations':>10} {'JSON MB':>8} {'JSON s':>7} {'YAML MB':>8} {'YAML s':>7} "
        f"{'served s':>9} {'found':>6} {'s/1000 ops (JSON, YAML, served)':>34}"
    )
    with tempfile.TemporaryDirectory(prefix="middlebrick-spec-load-") as folder:
        for operations in (int(n) for n in args.sizes.split(",")):
            document = spec(operations)
            as_json = Path(folder) / f"openapi-{operations}.json"
            as_json.write_text(json.dumps(document), encoding="utf-8")
            as_yaml = Path(folder) / f"openapi-{operations}.yaml"
            as_yaml.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
            json_s, loaded = _timed_load(as_json)
            yaml_s, _ = _timed_load(as_yaml)
            served_s, found = asyncio.run(_timed_served(operations))
            assert loaded == operations
            per = ", ".join(f"{1000 * s / operations:.3f}" for s in (json_s, yaml_s, served_s))
            print(
                f"{operations:>10} {as_json.stat().st_size / 1e6:>8.2f} {json_s:>7.2f} "
                f"{as_yaml.stat().st_size / 1e6:>8.2f} {yaml_s:>7.2f} {served_s:>9.2f} "
                f"{found:>6} {per:>34}"
            )
        bomb = Path(folder) / "bomb.yaml"
        bomb.write_text(_merge_bomb(), encoding="utf-8")
        started = time.perf_counter()
        try:
            load_spec(bomb)
            verdict = "LOADED"
        except SpecError:
            verdict = "refused"
        print(
            f"\nmerge-key bomb ({bomb.stat().st_size} bytes): {verdict} in "
            f"{(time.perf_counter() - started) * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
