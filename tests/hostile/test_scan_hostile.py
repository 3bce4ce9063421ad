"""Whole scans of a hostile target end within their time budget with a partial report and notes."""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import pytest
from aiohttp import web

from middlebrick.config import Limits, ScanRequest
from middlebrick.engine import scan
from middlebrick.errors import TargetUnreachable
from middlebrick.testing import LiveApp

HOSTILE_PATHS = [
    "/bomb", "/endless", "/huge", "/loop", "/redirect-chain/0", "/stall", "/stall-body",
    "/trickle", "/invalid-utf8", "/deep-json", "/severed", "/severed-early", "/garbage",
    "/deflate-garbage",
]  # fmt: skip

LIMITS = Limits(read_timeout=1.0, connect_timeout=1.0, time_budget=8.0, max_body_bytes=65536)


def _spec(tmp_path: Path) -> str:
    paths = {p: {"get": {"responses": {"200": {"description": "?"}}}} for p in HOSTILE_PATHS}
    document = {"openapi": "3.0.3", "info": {"title": "hostile", "version": "1"}, "paths": paths}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(document))
    return str(path)


async def test_scan_of_every_hostile_route_ends_in_budget_with_a_partial_report(
    hostile_server: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    report = await scan(ScanRequest(target=hostile_server, spec=_spec(tmp_path), limits=LIMITS))
    elapsed = time.monotonic() - started

    assert elapsed < LIMITS.time_budget + 10
    assert report.operations == len(HOSTILE_PATHS)
    assert any("cut" in note or "budget" in note or "stopped" in note for note in report.notes), (
        report.notes
    )
    assert len(report.categories) == 12


@pytest.mark.parametrize("path", ["/deep-json", "/invalid-utf8", "/bomb", "/endless", "/loop"])
async def test_scan_of_a_hostile_root_gives_an_incomplete_report(
    hostile_server: str, path: str
) -> None:
    report = await scan(ScanRequest(target=hostile_server + path, limits=LIMITS))

    assert report.target.endswith(path)
    assert report.grade is None and report.score is None and not report.complete
    assert report.coverage is not None and report.coverage.incomplete


@pytest.mark.parametrize("path", ["/garbage", "/severed-early", "/stall"])
async def test_scan_of_a_root_that_never_answers_says_unreachable(
    hostile_server: str, path: str
) -> None:
    with pytest.raises(TargetUnreachable, match="did not answer"):
        await scan(ScanRequest(target=hostile_server + path, limits=LIMITS))


async def test_a_target_that_serves_a_bomb_on_every_path_gives_one_note_per_cause() -> None:
    bomb = gzip.compress(bytes(1024 * 1024))  # 1 MiB of zeros in about 1 KB

    async def everywhere(_request: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=bomb, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", everywhere)
    async with LiveApp(app) as url:
        report = await scan(ScanRequest(target=url, limits=LIMITS))

    cut = [note for note in report.notes if "cut at 65536 bytes" in note]
    assert len(report.notes) < 12, report.notes
    grouped = re.fullmatch(
        r"body of (\d+) requests cut at 65536 bytes \(GET /, GET [^,]+, GET [^,]+ and (\d+) more\)",
        cut[0],
    )
    assert grouped is not None, cut
    assert int(grouped.group(1)) > 50 and int(grouped.group(2)) == int(grouped.group(1)) - 3


async def test_a_root_that_outlasts_the_time_budget_is_unreachable_not_an_escape(
    hostile_server: str,
) -> None:
    limits = LIMITS.model_copy(update={"time_budget": 1.5, "read_timeout": 5.0})

    with pytest.raises(TargetUnreachable, match="did not answer"):
        await scan(ScanRequest(target=hostile_server + "/stall", limits=limits))
