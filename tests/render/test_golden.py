"""Golden files of the SARIF, JUnit, Markdown and HTML renderers on the fixed sample report.

Set ``MIDDLEBRICK_UPDATE_SNAPSHOTS=1`` to rewrite the golden files after a reviewed change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from middlebrick.coverage import Coverage
from middlebrick.knowledge.models import FindingType
from middlebrick.render import render, render_bytes
from tests.render.sample import sample_report

SNAPSHOTS = Path(__file__).parent.parent / "snapshots"
GOLDEN = {
    "sarif": "report.sarif.json",
    "junit": "report_junit.xml",
    "markdown": "report.md",
    "html": "report.html",
}


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_renderer_output_matches_its_golden_file(
    fmt: str, frozen_catalogue: dict[str, FindingType]
) -> None:
    actual = render(sample_report(), fmt, color=False)

    path = SNAPSHOTS / GOLDEN[fmt]
    if os.environ.get("MIDDLEBRICK_UPDATE_SNAPSHOTS") == "1":
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{path.name} differs from its golden file"


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_renderer_output_is_the_same_on_every_call_and_as_bytes(
    fmt: str, frozen_catalogue: dict[str, FindingType]
) -> None:
    report = sample_report()

    first = render(report, fmt, color=True)

    assert first == render(sample_report(), fmt, color=False)
    assert render_bytes(report, fmt) == first.encode("utf-8")


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_every_curl_command_is_in_the_output(
    fmt: str, frozen_catalogue: dict[str, FindingType]
) -> None:
    report = sample_report()
    out = render(report, fmt, color=False)
    if fmt == "html":
        out = out.replace("&#x27;", "'")
    if fmt == "sarif":  # SARIF carries the first exchange's command of each finding
        commands = [f.evidence[0].curl for f in report.findings]
    else:
        commands = [e.curl for f in report.findings for e in f.evidence]

    assert all(command in out for command in commands)


UNSCORED = {
    "sarif": '"score": null',
    "junit": 'tests="12" failures="0" errors="0" skipped="12"',
    "markdown": "**Not scored**: no category was checked",
    "html": ">not scored</text>",
}


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_renderer_handles_a_report_without_findings_or_score(fmt: str) -> None:
    unchecked = {"score": None, "status": "not_checked", "findings": 0, "worst": None}
    report = sample_report().model_copy(
        update={
            "findings": [],
            "score": None,
            "grade": None,
            "notes": [],
            "coverage": None,
            "categories": [c.model_copy(update=unchecked) for c in sample_report().categories],
        }
    )

    out = render(report, fmt, color=False)

    assert UNSCORED[fmt] in out
    assert "59" not in out


INCOMPLETE = {
    "sarif": "scan incomplete, no score or grade: only 0 of 6 operations gave a usable answer",
    "junit": '<failure type="incomplete" message="scan incomplete, no score or grade: only 0',
    "markdown": "**Incomplete**: no score or grade, too little was tested",
    "html": ">incomplete</text>",
}


@pytest.mark.parametrize("fmt", sorted(GOLDEN))
def test_renderer_says_incomplete_when_too_little_was_tested(fmt: str) -> None:
    coverage = Coverage(
        operations=6,
        requested=6,
        usable=0,
        unusable={"answered 5xx": 6},
        incomplete=["only 0 of 6 operations gave a usable answer (0 %; 6 answered 5xx)"],
    )
    report = sample_report().model_copy(update={"score": None, "grade": None, "coverage": coverage})

    out = render(report, fmt, color=False)

    assert INCOMPLETE[fmt] in out
    assert "6 answered 5xx" in out
    assert "grade F" not in out and "59/100" not in out
