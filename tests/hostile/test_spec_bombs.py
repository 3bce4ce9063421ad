"""A YAML merge-key bomb is refused before it expands: from a file, from --spec URL, when served.

538 bytes whose merge keys (``<<: [*a, *a, …]``) copy the merged mappings once cost 1.9 GB and
91 s before they were refused (issue 12, item 8). Each load runs in a child process with a
memory ceiling and a timeout, so a regression fails here instead of taking the machine down.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from middlebrick.testing import LiveApp

MEMORY_CEILING = 1024 * 1024 * 1024  # bytes of address space the child may map
TIMEOUT_S = 30.0


def merge_bomb() -> str:
    """Nine levels, each merging the one before nine times: 4 · 9^8 (172 million) pairs."""
    lines = ["openapi: 3.0.0", "a0: &a0 {k0: 1, k1: 1, k2: 1, k3: 1}"]
    for level in range(1, 9):
        merged = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} {{<<: [{merged}]}}")
    return "\n".join([*lines, "paths: {}", ""])


def _child(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a Python child limited to ``MEMORY_CEILING`` and ``TIMEOUT_S``."""
    prelude = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CEILING}, {MEMORY_CEILING}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_a_merge_key_bomb_file_is_refused_at_once_with_little_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "openapi.yaml"
    bomb.write_text(merge_bomb(), encoding="utf-8")
    assert bomb.stat().st_size < 600

    result = _child(
        "import json, resource, time\n"
        "from middlebrick.errors import SpecError\n"
        "from middlebrick.spec.load import load_spec\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "started = time.perf_counter()\n"
        "try:\n"
        f"    load_spec({str(bomb)!r})\n"
        "    error = None\n"
        "except SpecError as exc:\n"
        "    error = str(exc)\n"
        "seconds = time.perf_counter() - started\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(json.dumps({'error': error, 'seconds': seconds, 'grown_kib': grown}))\n"
    )

    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout)
    assert outcome["error"] is not None and "YAML bomb" in outcome["error"]
    assert outcome["seconds"] < 0.5
    assert outcome["grown_kib"] < 50 * 1024  # under 50 MiB more than before the load


@pytest.mark.parametrize(
    "bomb",
    [
        merge_bomb(),
        # the same in JSON-like flow style, where an anchor follows a colon with no space
        "{"
        + ", ".join(
            ['"openapi":"3.0.0"', '"a0":&a0 ["x","x","x","x","x","x","x","x","x"]']
            + [f'"a{i}":&a{i} [{", ".join([f"*a{i - 1}"] * 9)}]' for i in range(1, 9)]
        )
        + "}",
    ],
    ids=["merge-keys", "flow-style"],
)
def test_a_bomb_is_refused_in_any_style(tmp_path: Path, bomb: str) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text(bomb, encoding="utf-8")

    result = _child(
        "from middlebrick.errors import SpecError\n"
        "from middlebrick.spec.load import load_spec\n"
        "try:\n"
        f"    load_spec({str(path)!r})\n"
        "except SpecError as exc:\n"
        "    print(exc)\n"
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "YAML bomb" in result.stdout


def _serving(document: str, path: str = "/openapi.yaml") -> web.Application:
    async def spec(_request: web.Request) -> web.Response:
        return web.Response(text=document, content_type="application/yaml")

    async def root(_request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    app = web.Application()
    app.router.add_get(path, spec)
    app.router.add_get("/", root)
    return app


def _cli(*args: str) -> str:
    return (
        "import sys\n"
        "from middlebrick.cli import main\n"
        f"sys.argv = ['middlebrick', *{list(args)!r}]\n"
        "main()\n"
    )


async def test_a_merge_key_bomb_given_as_spec_url_is_a_clear_usage_error() -> None:
    async with LiveApp(_serving(merge_bomb())) as url:
        result = await _in_thread(_cli("scan", url, "--spec", f"{url}/openapi.yaml", "--no-save"))

    assert result.returncode == 2, result.stderr[-2000:]
    assert "YAML bomb" in result.stderr


async def test_a_merge_key_bomb_served_by_the_target_is_refused_and_said(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    async with LiveApp(_serving(merge_bomb())) as url:
        result = await _in_thread(
            _cli("scan", url, "--no-save", "--timeout", "20", "--format", f"json:{report}")
        )

    assert result.returncode == 0, result.stderr[-2000:]
    notes = json.loads(report.read_text(encoding="utf-8"))["notes"]
    assert any("openapi.yaml" in note and "YAML bomb" in note for note in notes), notes


async def _in_thread(code: str) -> subprocess.CompletedProcess[str]:
    """The child runs while this loop keeps serving the test app."""
    import asyncio

    return await asyncio.to_thread(_child, code)


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
