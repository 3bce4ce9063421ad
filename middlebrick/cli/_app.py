"""The one Typer application every command module registers on, and shared terminal helpers."""

from __future__ import annotations

import math
import os
from typing import Annotated

import typer

from middlebrick import __version__

app = typer.Typer(
    name="middlebrick",
    help="Self-hosted API security scanner: a 0-100 score, an A-F grade and findings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help is plain text: `apikey:cookie:` is no emoji, `[x]` no markup
)

EXIT_OK, EXIT_GATE_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _version(value: bool) -> None:
    if value:
        typer.echo(f"middlebrick {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Scan an API for security flaws."""


def no_color_env() -> bool:
    """Whether ``NO_COLOR`` asks for plain output."""
    return bool(os.environ.get("NO_COLOR"))


def use_color(no_color: bool, stream: object) -> bool:
    """Colour only on a terminal, and unless ``--no-color`` or ``NO_COLOR`` says otherwise."""
    isatty = getattr(stream, "isatty", None)
    return not (no_color or no_color_env()) and bool(isatty and isatty())


def finite(value: float | None) -> float | None:
    """Option callback: refuse ``nan`` and ``inf`` (a budget or a pace must be a real number)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value
