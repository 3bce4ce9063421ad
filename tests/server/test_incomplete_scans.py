"""The service shows an incomplete scan as such, and it never passes its threshold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from middlebrick.server.api import _passed
from middlebrick.store.records import ScanInfo

INCOMPLETE = {"coverage": {"complete": False, "incomplete": ["only 0 of 4 operations …"]}}
GRADED = {"coverage": {"complete": True, "incomplete": []}}


def _info(summary: dict[str, Any] | None, score: int | None) -> ScanInfo:
    return ScanInfo(
        id="s1", org_id=1, target_id=1, target="http://127.0.0.1:8080", status="completed",
        options={}, phase="completed", progress=100, attempts=1, score=score,
        grade=None if score is None else "A", summary=summary, reason=None, failure=None,
        created_at=datetime(2026, 1, 1, tzinfo=UTC), started_at=None, finished_at=None,
    )  # fmt: skip


def test_a_scan_without_a_grade_for_lack_of_coverage_is_ungraded() -> None:
    assert _info(INCOMPLETE, None).ungraded
    assert not _info(GRADED, 95).ungraded
    assert not _info(None, None).ungraded  # running, or stored before coverage was measured


def test_an_incomplete_scan_never_passes_its_threshold() -> None:
    assert _passed(80, None, INCOMPLETE) is False
    assert _passed(80, 95, {"coverage": {"complete": False}}) is False  # a check was cut
    assert _passed(80, 95, GRADED) is True
    assert _passed(80, 70, GRADED) is False
    assert _passed(None, 95, GRADED) is None
