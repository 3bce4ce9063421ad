"""The Markdown renderer: escaping of target text, severity groups, and GitHub's length limit."""

from __future__ import annotations

import re

from middlebrick.findings import Confidence
from middlebrick.render import render
from middlebrick.render.markdown import MAX_CHARS
from tests.render.sample import SCRIPT, evidence, finding, hostile_finding, sample_report


def _table_rows(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]


def _cells(row: str) -> list[str]:
    """The cells of a GFM table row: split on pipes that are not backslash-escaped."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_markdown_shows_score_grade_categories_and_findings_by_severity() -> None:
    out = render(sample_report(), "markdown")

    assert "**Score 59/100 · grade F**" in out
    assert "| LLM / AI | LLM Top 10 | not checked | - | - | no AI endpoint detected |" in out
    groups = re.findall(r"^#### (\w+) \((\d+)\)$", out, flags=re.M)
    assert groups == [("Critical", "1"), ("High", "2"), ("Medium", "1"), ("Low", "1")]
    assert out.count("<details>") == out.count("</details>") == 5
    assert "```sh\ncurl -sS -X GET 'http://127.0.0.1:8080/config'\n```" in out


def test_markdown_escapes_html_pipes_backticks_links_and_mentions_from_the_target() -> None:
    out = render(sample_report(hostile_finding()), "markdown")
    outside_fences = re.sub(r"(`{3,})\w*\n.*?\n\1\n", "", out, flags=re.S)

    assert SCRIPT not in outside_fences and "<img" not in outside_fences
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in outside_fences
    assert "[link](http://evil.test)" not in outside_fences
    assert "@octocat" not in outside_fences
    assert "\\| \\`tick\\`" in outside_fences
    for row in _table_rows(out):
        assert len(_cells(row)) in (4, 5, 6), row  # no cell was split by a target pipe


def test_markdown_code_fence_outnumbers_the_backticks_of_the_excerpt() -> None:
    out = render(sample_report(hostile_finding()), "markdown")

    block = re.search(r"^(`+)text\n(.*?)\n\1$", out.split("Echo &lt;script&gt;")[2], re.M | re.S)

    assert block is not None
    assert len(block.group(1)) == 5  # the excerpt holds a run of four
    assert SCRIPT in block.group(2) and "\x1b" not in block.group(2)


def test_markdown_stays_within_githubs_comment_limit_and_says_what_was_left_out() -> None:
    many = [
        finding(
            "data_exposure.ssn",
            f"GET /users/{index}",
            confidence=Confidence.firm,
            detail="x" * 1_500,
            evidence=(evidence(f"/users/{index}", label="baseline", excerpt="y" * 1_400),),
        )
        for index in range(200)
    ]

    out = render(sample_report(*many), "markdown")

    assert len(out) <= MAX_CHARS
    shown = out.count("<details>")
    assert 0 < shown < 205
    assert f"**{205 - shown} more findings left out**" in out
    assert out.rstrip().endswith("a critical finding is confirmed")  # notes kept


def test_markdown_keeps_every_finding_when_they_fit() -> None:
    out = render(sample_report(), "markdown")

    assert "left out" not in out
    assert len(out) < MAX_CHARS


def test_markdown_summary_lists_the_worst_findings_escaped_and_without_evidence() -> None:
    from middlebrick.render.markdown import render_markdown_summary

    out = render_markdown_summary(sample_report(hostile_finding()), limit=3)
    assert "**Score 59/100 · grade F**" in out and "### Categories" in out
    rows = [_cells(r) for r in _table_rows(out) if _cells(r)[0] in ("critical", "high", "medium")]
    assert [r[0] for r in rows] == ["critical", "high", "high"]
    assert "…and 3 more findings in the full report." in out
    assert "<details>" not in out and "curl" not in out
    everything = render_markdown_summary(sample_report(hostile_finding()))
    assert SCRIPT not in everything and "&lt;script&gt;" in everything
