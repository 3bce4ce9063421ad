"""A very large API ends within its time budget and answers Ctrl-C in every phase.

20,000 operations once took minutes in a quadratic step that blocked the event loop, so neither
the time budget nor SIGINT could stop the scan (issue 12, item 7).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from benchmarks.generated_api import app, spec
from middlebrick.config import Limits, ScanRequest
from middlebrick.discovery.undocumented import probe_undocumented
from middlebrick.engine import scan
from middlebrick.errors import ScanInterrupted, SpecError
from middlebrick.spec.load import load_spec, parse_spec
from middlebrick.spec.model import Surface
from middlebrick.testing import BASE, FakeSender, LiveApp

OPERATIONS = 20_000
GRACE_S = 5.0  # how long past the budget, or past Ctrl-C, the scan may take to stop

CLI = [sys.executable, "-c", "from middlebrick.cli import main; main()"]


@pytest.fixture(scope="module")
def spec_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The OpenAPI document of the generated API of each size, written on first use."""
    folder = tmp_path_factory.mktemp("large")

    class Files(dict[int, Path]):
        def __missing__(self, operations: int) -> Path:
            path = self[operations] = folder / f"openapi-{operations}.json"
            path.write_text(json.dumps(spec(operations)), encoding="utf-8")
            return path

    return Files()


async def test_scan_of_a_very_large_api_ends_within_its_time_budget(
    spec_files: dict[int, Path],
) -> None:
    budget = 8.0
    async with LiveApp(app(OPERATIONS)) as url:
        started = time.monotonic()
        document = str(spec_files[OPERATIONS])
        request = ScanRequest(target=url, spec=document, limits=Limits(time_budget=budget))
        report = await scan(request)
        elapsed = time.monotonic() - started

    assert elapsed < budget + GRACE_S
    assert not report.complete and report.cut
    assert {cut.reason for cut in report.cut} == {"time budget"}


async def test_a_spec_that_does_not_load_within_the_time_budget_is_a_clear_error(
    spec_files: dict[int, Path],
) -> None:
    document = str(spec_files[OPERATIONS])
    request = ScanRequest(
        target="http://127.0.0.1:9", spec=document, limits=Limits(time_budget=0.2)
    )
    started = time.monotonic()
    with pytest.raises(SpecError, match=r"did not load within the time budget of 0\.2 s"):
        await scan(request)
    assert time.monotonic() - started < GRACE_S


@pytest.mark.parametrize(
    ("phase", "operations", "line", "after_s"),
    [
        ("spec load", OPERATIONS, "scanning ", 0.3),  # 20,000 operations take seconds to load
        ("baseline", OPERATIONS, "surface: ", 0.5),  # 20,000 requests of baseline
        ("checks", 3000, "check ", 0.0),  # the first check has finished, the walks go on
    ],
)
async def test_ctrl_c_stops_the_scan_of_a_very_large_api_in_every_phase(
    spec_files: dict[int, Path], phase: str, operations: int, line: str, after_s: float
) -> None:
    async with LiveApp(app(operations)) as url:
        document = str(spec_files[operations])
        command = [*CLI, "scan", url, "--spec", document, "--no-save", "--verbose"]
        child = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        assert child.stderr is not None
        seen = ""
        while line not in seen:
            raw = await asyncio.wait_for(child.stderr.readline(), timeout=120)
            assert raw, f"the scan ended before the {phase}"
            seen = raw.decode()
        await asyncio.sleep(after_s)
        child.send_signal(signal.SIGINT)
        interrupted = time.monotonic()
        code = await asyncio.wait_for(child.wait(), timeout=60)
        stopped_after = time.monotonic() - interrupted

    assert code == 130
    assert stopped_after < GRACE_S, f"Ctrl-C during the {phase} took {stopped_after:.1f} s"


async def test_a_scan_stopped_while_a_served_document_is_parsed_leaves_nothing_to_wait_for() -> (
    None
):
    """The parse of a served document runs in a daemon thread: a thread of the loop's executor
    (``asyncio.to_thread``) would hold the exit of a Ctrl-C'd scan until the parse ended."""
    served = asyncio.Event()
    application = app(2 * OPERATIONS)  # a 9.5 MB document that takes seconds to parse

    async def on_prepare(request: web.Request, _response: web.StreamResponse) -> None:
        if request.path == "/openapi.json":
            served.set()

    application.on_response_prepare.append(on_prepare)
    async with LiveApp(application) as url:
        task = asyncio.create_task(scan(ScanRequest(target=url)))
        await asyncio.wait_for(served.wait(), timeout=60)
        await asyncio.sleep(0.5)  # the document is being parsed now
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        started = time.monotonic()
        await asyncio.get_running_loop().shutdown_default_executor()  # what asyncio.run awaits
        waited = time.monotonic() - started

    assert waited < 1.0, f"stopping waited {waited:.1f} s for the parse"


def _calls_to_load(path: Path) -> int:
    """Python function calls made while loading ``path``: the work, whatever the machine."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        load_spec(path)
    finally:
        profile.disable()
    return pstats.Stats(profile).total_calls  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize(("form", "small"), [("json", 2000), ("yaml", 500)])
def test_loading_a_description_ten_times_larger_does_ten_times_the_work(
    tmp_path: Path, form: str, small: int
) -> None:
    """Linear: ten times the operations cost ten times the calls (a quadratic step would cost
    a hundred times), counted rather than timed so a busy machine cannot blur it."""
    calls = {}
    for operations in (small, 10 * small):
        document = spec(operations)
        path = tmp_path / f"openapi-{operations}.{form}"
        text = json.dumps(document) if form == "json" else yaml.safe_dump(document)
        path.write_text(text, encoding="utf-8")
        calls[operations] = _calls_to_load(path)

    ratio = calls[10 * small] / calls[small]
    assert ratio < 12, f"{form}: {calls} (x{ratio:.1f})"


async def test_probing_a_surface_ten_times_larger_does_at_most_ten_times_the_work() -> None:
    """The undocumented-route probe once ranked folders in quadratic time (``_parents``): a
    quadratic step costs a hundred times the calls here (93 measured), a linear one ten."""
    calls = {}
    for operations in (500, 5000):
        loaded = parse_spec(json.dumps(spec(operations)), source="openapi.json")
        surface = Surface(base_url=BASE, operations=loaded.operations, spec=loaded)
        profile = cProfile.Profile()
        profile.enable()
        try:
            await probe_undocumented(FakeSender(), surface)
        finally:
            profile.disable()
        calls[operations] = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]

    ratio = calls[5000] / calls[500]
    assert ratio < 12, f"{calls} (x{ratio:.1f})"


async def test_a_served_document_still_parsing_when_the_time_budget_ends_stops_the_scan() -> None:
    """Discovery keeps the time budget too: a 9.5 MB served document takes seconds to parse,
    and the scan stops when its budget ends, not at the hard stop seconds later."""
    budget = 2.0
    await _no_parse_left_running()  # a parse a test before stopped would share the CPU
    async with LiveApp(app(2 * OPERATIONS)) as url:
        started = time.monotonic()
        try:
            report = await scan(ScanRequest(target=url, limits=Limits(time_budget=budget)))
            said = [*report.notes, *(cut.reason for cut in report.cut)]
        except ScanInterrupted as exc:  # discovery's interruptions end the scan (issue 12, 2)
            said = [str(exc)]
        elapsed = time.monotonic() - started

    assert elapsed < budget + 5.0, f"stopped after {elapsed:.1f} s"  # the hard stop: + 10 s
    assert any("time budget" in sentence for sentence in said), said


async def _no_parse_left_running(timeout: float = 60.0) -> None:
    """Wait until no parse thread a stopped scan left behind is still running."""
    deadline = time.monotonic() + timeout
    while any(t.name == "middlebrick-load" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a parse thread is still running"
        await asyncio.sleep(0.1)
