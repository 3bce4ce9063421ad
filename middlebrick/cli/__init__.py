"""The ``middlebrick`` command: parse, call the library, render, map errors to exit codes.

Exit codes: 0 ok; 1 the gate failed (score below ``--threshold`` or a finding at ``--fail-on``);
2 usage or configuration error (credentials the target rejects included);
3 target unreachable; 130 interrupted.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

# Importing a command module registers its commands, in this order in --help.
from middlebrick.cli import scan  # noqa: F401

# isort: split
from middlebrick.cli import reports  # noqa: F401

# isort: split
from middlebrick.cli import lab  # noqa: F401

# isort: split
from middlebrick.cli import serve  # noqa: F401

# isort: split
from middlebrick.cli import mcp  # noqa: F401
from middlebrick.cli._app import app, no_color_env
from middlebrick.errors import MiddlebrickError

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: run the app and turn errors into exit codes."""
    try:
        code = app(standalone_mode=False)  # click returns Exit codes instead of raising here
    except MiddlebrickError as exc:
        Console(stderr=True, no_color=no_color_env()).print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False
        )
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        raise
    sys.exit(code if isinstance(code, int) else 0)
