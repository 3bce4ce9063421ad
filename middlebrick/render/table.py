"""The compact terminal view: a table of findings, their curl commands, and the categories."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from middlebrick.render import renderer
from middlebrick.render._rich import (
    badge,
    category_value,
    new_console,
    output,
    plural,
    score_text,
    where,
)
from middlebrick.render._text import one_line
from middlebrick.report import Report


@renderer("table")
def render_table(report: Report, *, color: bool) -> str:
    """Findings and categories of a report as two tables."""
    console = new_console(color)
    head = Text.assemble((one_line(report.target), "bold"), "  ")
    head.append_text(score_text(report))
    head.append(f"  · {plural(len(report.findings), 'finding')}")
    if not report.complete and report.graded:
        head.append("  · partial scan", style="bold yellow")
    console.print(head)
    for reason in report.incomplete_reasons():
        console.print(Text(f"no grade: {one_line(reason)}", style="yellow"))
    coverage = report.coverage_summary()
    if coverage is not None:
        console.print(Text(one_line(coverage)))
    if report.findings:
        _findings(console, report)
    else:
        console.print(Text("No findings in the categories that were checked."))
    _categories(console, report)
    for note in report.notes:
        console.print(Text(f"note: {one_line(note)}", style="dim"))
    return output(console)


def _findings(console: Console, report: Report) -> None:
    names = {c.id: c.name for c in report.categories}
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Severity", no_wrap=True)
    table.add_column("Category")
    table.add_column("Title", ratio=3, overflow="fold")
    table.add_column("Operation", ratio=2, overflow="fold")
    table.add_column("Confidence", no_wrap=True)
    for index, finding in enumerate(report.findings, start=1):
        table.add_row(
            str(index),
            badge(finding.severity),
            Text(names.get(finding.category, one_line(finding.category))),
            Text(one_line(finding.title)),
            Text(where(finding)),
            Text(finding.confidence.value),
        )
    console.print(table)
    console.print(Text("Reproduce", style="bold"))
    for index, finding in enumerate(report.findings, start=1):
        for curl in dict.fromkeys(one_line(item.curl) for item in finding.evidence):
            # One line however long, so that the command can be copied whole.
            line = Text.assemble((f"{index:>3}  ", "dim"), curl)
            console.print(line, soft_wrap=True)


def _categories(console: Console, report: Report) -> None:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Category")
    table.add_column("OWASP")
    table.add_column("Score", no_wrap=True)
    table.add_column("Findings", justify="right")
    table.add_column("Worst")
    table.add_column("Note")
    for result in report.categories:
        table.add_row(
            Text(result.name),
            Text(result.owasp),
            category_value(result),
            "-" if result.score is None else str(result.findings),
            Text(result.worst.value if result.worst else "-"),
            Text(one_line(result.note or "")),
        )
    console.print(table)
