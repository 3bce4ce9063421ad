"""Where a report goes (the terminal, files) and what the gate's verdict prints."""

from __future__ import annotations

from pathlib import Path

import typer

from middlebrick.cli._app import EXIT_GATE_FAILED
from middlebrick.errors import UsageError
from middlebrick.findings import Severity
from middlebrick.gate import Verdict
from middlebrick.render import formats, is_binary, render, render_bytes
from middlebrick.render.junit import render_junit
from middlebrick.report import Report


def outputs_of(specs: list[str], output: Path | None) -> list[tuple[str, Path | None]]:
    """(format, file or None for stdout) pairs from ``--format`` values and ``--output``."""
    pairs = [pair for value in specs for pair in _format_list(value)]
    bare = [index for index, (_, file) in enumerate(pairs) if file is None]
    if output is not None:
        if len(bare) != 1:
            raise UsageError(
                "--output needs exactly one --format without a FILE; "
                "write the others as --format NAME:FILE"
            )
        pairs[bare[0]] = (pairs[bare[0]][0], output)
    elif len(bare) > 1:
        raise UsageError(
            "only one format can go to the terminal; write the others as --format NAME:FILE"
        )
    for name, destination in pairs:
        if destination is None and is_binary(name):
            raise UsageError(
                f"format {name!r} is binary; write it to a file with --format {name}:FILE"
            )
    return pairs


def _format_list(value: str) -> list[tuple[str, Path | None]]:
    """``json,sarif:out.sarif``: the formats of one ``--format`` value, each with its file.

    A comma starts a new format only where a format's name follows it; otherwise it belongs to
    the file before it (``json:reports/a,b.json``).
    """
    known = formats()
    entries: list[tuple[str, str | None]] = []
    for part in value.split(","):
        name, sep, where = part.strip().partition(":")
        if entries and entries[-1][1] is not None and name not in known:
            entries[-1] = (entries[-1][0], f"{entries[-1][1]},{part}")
        elif part.strip():
            if name not in known:
                is_binary(name)  # raises the UsageError naming the formats, with a suggestion
            entries.append((name, where if sep else None))
    return [(name, Path(where) if where else None) for name, where in entries]


def emit(
    report: Report,
    outputs: list[tuple[str, Path | None]],
    *,
    color: bool,
    quiet: bool,
    fail_on: Severity | None = None,
) -> None:
    """Print the terminal format and write the file formats (JUnit fails at ``--fail-on``)."""
    to_terminal = [name for name, file in outputs if file is None]
    for name, file in outputs:
        if file is not None:
            try:
                if name == "junit" and fail_on is not None:
                    file.write_text(render_junit(report, fail_on=fail_on), encoding="utf-8")
                else:
                    file.write_bytes(render_bytes(report, name))
            except OSError as exc:
                raise UsageError(f"cannot write {file}: {exc.strerror}") from None
    if to_terminal:
        name = to_terminal[0]
        typer.echo(render(report, name, color=color and name in _COLORED), nl=False)
    elif not quiet:
        typer.echo(render(report, "summary", color=color), nl=False)
    if not quiet:
        for name, file in outputs:
            if file is not None:
                typer.echo(f"{name} report written to {file}")


_COLORED = frozenset({"summary", "table"})


def enforce(verdict: Verdict, *, quiet: bool) -> None:
    """Say what the gate saw and exit 1 when it failed."""
    if not quiet and (verdict.known or verdict.suppressed):
        typer.echo(
            f"gate: {len(verdict.new)} new, {len(verdict.known)} known (baseline), "
            f"{len(verdict.suppressed)} suppressed (ignore file)",
            err=True,
        )
    for sentence in verdict.stale:
        typer.echo(f"warning: {sentence}", err=True)
    for reason in verdict.reasons:
        typer.echo(reason, err=True)
    if verdict.failed:
        raise typer.Exit(EXIT_GATE_FAILED)
