"""An assistant reads an incomplete scan as incomplete, with why and the coverage."""

from __future__ import annotations

from middlebrick.coverage import Coverage
from middlebrick.mcp.text import summary
from middlebrick.mcp.views import ScanView
from tests.render.sample import sample_report


def test_the_summary_of_an_incomplete_scan_says_so_and_why() -> None:
    coverage = Coverage(
        operations=8,
        requested=8,
        usable=1,
        unusable={"answered 404": 7},
        incomplete=["only 1 of 8 operations gave a usable answer (12 %; 7 answered 404)"],
    )
    report = sample_report().model_copy(
        update={"score": None, "grade": None, "coverage": coverage, "complete": False}
    )

    text = summary(ScanView.from_report(report))

    assert "Incomplete: no score or grade" in text
    assert "no grade: only 1 of 8 operations gave a usable answer" in text
    assert "Not scored" not in text


def test_the_summary_of_a_graded_scan_gives_its_score_and_coverage() -> None:
    text = summary(ScanView.from_report(sample_report()))

    assert "Score 59/100, grade F" in text and "coverage 90%" in text
