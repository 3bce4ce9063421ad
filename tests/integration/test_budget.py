"""End to end: the default budget follows the surface, and a cut says what it left unchecked."""

from __future__ import annotations

from benchmarks.generated_api import app, spec
from middlebrick.checks.registry import load_all
from middlebrick.config import Limits, ScanRequest
from middlebrick.engine import allowance, scan
from middlebrick.render import render
from middlebrick.report import Report
from middlebrick.testing import LiveApp


async def _scan(operations: int, limits: Limits | None = None) -> Report:
    async with LiveApp(app(operations)) as url:
        request = ScanRequest(target=url, spec=f"{url}/openapi.json", limits=limits or Limits())
        return await scan(request)


async def test_scan_at_the_defaults_cuts_no_check_of_a_large_api() -> None:
    report = await _scan(150)

    assert report.cut == [] and report.complete
    safe = [check for check in load_all().values() if check.mode == "safe"]
    assert report.requests < allowance(safe, 150)


async def test_scan_cut_by_the_request_budget_names_the_checks_and_operations_left() -> None:
    report = await _scan(40, Limits(max_requests=150))

    assert report.cut and not report.complete
    assert {cut.reason for cut in report.cut} == {"request budget"}
    listed = {op for cut in report.cut for op in cut.operations}
    assert listed and listed <= {f"GET {path}" for path in spec(40)["paths"]}
    summary = render(report, "summary", color=False)
    assert f"cut short by the request budget: {len(report.cut)} check" in summary
