"""Shared pieces of the rich-based renderers: the console, styles and small formatted parts."""

from __future__ import annotations

import re
from io import StringIO

from rich.console import Console
from rich.text import Text

from middlebrick.findings import Finding, Severity
from middlebrick.render._text import one_line
from middlebrick.report import CategoryResult, Report

WIDTH = 100
BAR_CELLS = 20

SEVERITY_STYLE = {
    Severity.critical: "bold white on red",
    Severity.high: "bold red",
    Severity.medium: "bold yellow",
    Severity.low: "cyan",
    Severity.info: "dim",
}


def new_console(color: bool) -> Console:
    """A console writing to memory, fixed width; its output never depends on the environment."""
    return Console(
        file=StringIO(),
        width=WIDTH,
        force_terminal=color,
        force_jupyter=False,
        force_interactive=False,
        no_color=not color,
        color_system="standard" if color else None,
        legacy_windows=False,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )


def output(console: Console) -> str:
    """Everything printed to a console made by ``new_console``, without trailing spaces."""
    file = console.file
    assert isinstance(file, StringIO)
    return "".join(line.rstrip() + "\n" for line in file.getvalue().splitlines())


def score_style(score: int | None) -> str:
    """Green for 80 and above, yellow for 60 and above, red below; dim when not scored."""
    if score is None:
        return "dim"
    if score >= 80:
        return "green"
    return "yellow" if score >= 60 else "red"


def grade_style(grade: str | None) -> str:
    """The colour of a letter grade."""
    return {"A": "bold green", "B": "bold green", "C": "bold yellow"}.get(grade or "", "bold red")


def badge(severity: Severity) -> Text:
    """A fixed-width severity label, readable without colour."""
    return Text(f" {severity.value.upper():<8} ", style=SEVERITY_STYLE[severity])


def score_text(report: Report) -> Text:
    """``Score 62/100  grade D``, or why there is no score."""
    if report.score is None and not report.graded:
        return Text.assemble(
            ("Score: incomplete", "bold yellow"), " (no score or grade: too little was tested)"
        )
    if report.score is None:
        return Text("Score: not scored (no category was checked)", style="bold")
    return Text.assemble(
        ("Score ", "bold"),
        (f"{report.score}/100", "bold " + score_style(report.score)),
        "  grade ",
        (report.grade or "", grade_style(report.grade)),
    )


def category_bar(result: CategoryResult) -> Text:
    """A bar of ``BAR_CELLS`` cells filled in proportion to the score; never full when unscored."""
    if result.score is None:
        return Text("·" * BAR_CELLS, style="dim")
    filled = round(result.score * BAR_CELLS / 100)
    return Text.assemble(
        ("█" * filled, score_style(result.score)), ("░" * (BAR_CELLS - filled), "dim")
    )


def category_value(result: CategoryResult) -> Text:
    """The score of a category, or ``not checked``, marking partial ones."""
    if result.score is None:
        return Text("not checked", style="dim")
    text = Text(f"{result.score:>3}", style=score_style(result.score))
    if result.status == "partial":
        text.append(" (partial)", style="yellow")
    return text


def mappings(finding: Finding) -> str:
    """``CWE-639 · OWASP API1:2023 · PCI-DSS 6.2.4 · SOC 2 CC6.1`` for what the finding has."""
    parts = [f"CWE-{cwe}" for cwe in finding.cwe]
    if finding.owasp_api_2023:
        item = finding.owasp_api_2023
        parts.append(f"OWASP {item}:2023" if re.fullmatch(r"API\d+", item) else f"OWASP {item}")
    parts += [f"PCI-DSS {req}" for req in finding.pci_dss]
    parts += [f"SOC 2 {crit}" for crit in finding.soc2]
    return one_line(" · ".join(parts))


def where(finding: Finding) -> str:
    """The operation, and the parameter when there is one."""
    text = finding.operation if finding.operation != "*" else "whole target"
    if finding.parameter:
        text += f" · parameter {finding.parameter}"
    return one_line(text)


def plural(count: int, word: str) -> str:
    """``1 finding`` / ``3 findings``."""
    return f"{count} {word}{'' if count == 1 else 's'}"
