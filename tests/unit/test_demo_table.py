"""``middlebrick demo`` prints one short line per scan: verdict, findings by severity, report."""

from __future__ import annotations

from pathlib import Path

from middlebrick.cli.lab import demo_heading, demo_row
from middlebrick.coverage import Coverage
from tests.render.sample import sample_report


def test_demo_row_gives_the_grade_the_counts_by_severity_and_the_report_path() -> None:
    report = sample_report()

    row = demo_row("shop", "vulnerable", report, Path("demo-reports/shop-vulnerable.html"))

    assert row.split() == [
        "shop", "vulnerable", "59/100", "F", "1", "2", "1", "1", "0",
        "demo-reports/shop-vulnerable.html",
    ]  # fmt: skip
    assert demo_heading().split() == [
        "service", "variant", "score", "crit", "high", "medi", "low", "info", "report",
    ]  # fmt: skip
    assert demo_heading().index("report") == row.index("demo-reports")


def test_demo_row_says_incomplete_for_a_scan_without_a_grade() -> None:
    coverage = Coverage(operations=3, requested=3, usable=0, incomplete=["nothing answered"])
    report = sample_report().model_copy(update={"score": None, "grade": None, "coverage": coverage})

    row = demo_row("items", "secure", report, Path("r.html"))

    assert row.split()[2] == "incomplete"
