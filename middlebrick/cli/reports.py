"""``results`` and ``diff``: reports kept or saved, rendered again or compared."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from middlebrick.cli._app import EXIT_GATE_FAILED, app, use_color
from middlebrick.cli._output import emit, outputs_of
from middlebrick.errors import UsageError
from middlebrick.findings import Severity
from middlebrick.report_diff import diff_reports, render_diff
from middlebrick.saved import find_report


@app.command()
def results(
    ref: Annotated[
        str, typer.Argument(help="A scan id (or prefix) kept by `scan`, or a JSON report file.")
    ],
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="NAME or NAME:FILE (repeatable), as for scan."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write it here.")] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain text output.")] = False,
) -> None:
    """Render a kept or saved report again, in any format."""
    outputs = outputs_of(fmt or ["summary"], output)
    emit(find_report(ref), outputs, color=use_color(no_color, sys.stdout), quiet=False)


@app.command()
def diff(
    old: Annotated[str, typer.Argument(help="The earlier report: JSON file or scan id.")],
    new: Annotated[str, typer.Argument(help="The later report: JSON file or scan id.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, json or markdown.")] = "text",
    fail_on: Annotated[
        Severity | None,
        typer.Option("--fail-on", help="Exit 1 when a new finding is at or above this severity."),
    ] = None,
) -> None:
    """List new, resolved and unchanged findings between two reports, and the score change."""
    if fmt not in ("text", "json", "markdown"):
        raise UsageError(f"--format {fmt!r} is not one of text, json, markdown")
    changes = diff_reports(find_report(old), find_report(new))
    typer.echo(render_diff(changes, fmt), nl=False)
    if fail_on is not None and any(f.severity.rank >= fail_on.rank for f in changes.added):
        typer.echo(f"new finding(s) at or above {fail_on.value}", err=True)
        raise typer.Exit(EXIT_GATE_FAILED)
