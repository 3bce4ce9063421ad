"""Targets that answer nothing useful get no grade: the report says "incomplete" and why.

Once they got an A with ``complete: true`` (issue 12, item 10): HTTP/0.9 garbage, compression
bombs, 500 everywhere, a spec with no operations, a request budget of 2. The twin: the same
spec on a server whose every path answers JSON is graded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from middlebrick.config import Limits, ScanRequest
from middlebrick.engine import scan
from middlebrick.report import Report

from .server import HostileServer

LIMITS = Limits(read_timeout=1.0, connect_timeout=1.0, time_budget=8.0, max_body_bytes=65536)
PATHS = ["/users", "/orders", "/products", "/invoices", "/teams", "/projects"]


def _spec(tmp_path: Path, paths: list[str]) -> str:
    operations = {p: {"get": {"responses": {"200": {"description": "?"}}}} for p in paths}
    document = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": operations}
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document))
    return str(path)


async def _scan(otherwise: str, spec: str, limits: Limits = LIMITS) -> Report:
    async with HostileServer(otherwise=otherwise) as server:
        return await scan(ScanRequest(target=server.base_url + "/ok", spec=spec, limits=limits))


def _assert_incomplete(report: Report, reason: str) -> None:
    assert report.score is None and report.grade is None, report.score
    assert report.complete is False
    assert report.coverage is not None
    assert any(reason in why for why in report.coverage.incomplete), report.coverage
    assert report.verdict() == "incomplete"


@pytest.mark.parametrize(
    ("otherwise", "reason"),
    [
        ("/http09", "no answer"),
        ("/garbage", "no answer"),
        ("/error", "answered 5xx"),
        ("/bomb", "cut at the size cap"),
        ("/not-json", "unparseable"),
    ],
)
async def test_a_target_that_answers_nothing_useful_gets_no_grade(
    otherwise: str, reason: str, tmp_path: Path
) -> None:
    report = await _scan(otherwise, _spec(tmp_path, PATHS))

    _assert_incomplete(report, reason)
    assert report.coverage is not None and report.coverage.usable == 0


async def test_a_target_whose_paths_all_answer_404_gets_no_grade(tmp_path: Path) -> None:
    async with HostileServer() as server:  # unknown paths answer 404
        report = await scan(
            ScanRequest(target=server.base_url, spec=_spec(tmp_path, PATHS), limits=LIMITS)
        )

    _assert_incomplete(report, "answered 404")


async def test_a_spec_with_no_operations_gets_no_grade(tmp_path: Path) -> None:
    report = await _scan("/ok", _spec(tmp_path, []))

    _assert_incomplete(report, "no operation was found")


async def test_a_budget_of_two_requests_gets_no_grade(tmp_path: Path) -> None:
    report = await _scan(
        "/ok", _spec(tmp_path, PATHS), LIMITS.model_copy(update={"max_requests": 2})
    )

    _assert_incomplete(report, "request budget")


async def test_the_same_spec_answered_with_json_everywhere_is_graded(tmp_path: Path) -> None:
    report = await _scan("/ok", _spec(tmp_path, PATHS))

    assert report.coverage is not None and report.coverage.graded, report.coverage
    assert report.coverage.usable == len(PATHS)
    assert report.score is not None and report.grade is not None
