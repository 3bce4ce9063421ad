"""The ``middlebrick`` command: parse, call the library, render, map errors to exit codes.

Exit codes: 0 ok; 1 the gate failed (score below ``--threshold`` or a finding at ``--fail-on``);
2 usage or configuration error (credentials the target rejects included);
3 target unreachable; 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.exceptions import NoArgsIsHelpError
from typer._click.exceptions import UsageError as ClickUsageError

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
from middlebrick.cli._app import EXIT_INTERRUPTED, EXIT_USAGE, app, no_color_env
from middlebrick.errors import MiddlebrickError

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: run the app and turn errors into exit codes.

    Typer bundles its own click, whose exceptions all derive from ``typer.TyperException``:
    every one of them is a usage error here (exit 2), shown as one line without a traceback.
    """
    try:
        code = app(prog_name="middlebrick", standalone_mode=False)
    except MiddlebrickError as exc:
        _fail(str(exc), exc.exit_code)
    except NoArgsIsHelpError as exc:  # `middlebrick` alone: its help, as a usage error
        exc.show()
        sys.exit(EXIT_USAGE)
    except typer.TyperException as exc:  # unknown option, missing argument, bad value …
        _fail(_usage_sentence(exc), EXIT_USAGE)
    except (KeyboardInterrupt, typer.Abort):
        _fail("interrupted", EXIT_INTERRUPTED)
    except typer.Exit as exc:
        code = exc.exit_code
    code = code if isinstance(code, int) else 0
    if code == EXIT_INTERRUPTED:
        _quit_now(code)
    sys.exit(code)


def _usage_sentence(exc: typer.TyperException) -> str:
    """The bundled click's message on one line, with where to read the command's usage."""
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None) if isinstance(exc, ClickUsageError) else None
    if ctx is None:
        return message
    return f"{message} (see `{ctx.command_path} --help`)"


def _fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` as one line on stderr (never wrapped) and exit with ``code``."""
    console = Console(stderr=True, no_color=no_color_env(), soft_wrap=True)
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    if code == EXIT_INTERRUPTED:
        _quit_now(code)
    sys.exit(code)


def _quit_now(code: int) -> NoReturn:
    """Exit at once after Ctrl-C: every output is written and closed, and tearing down the
    objects of a scan of 20,000 operations alone takes over a second."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
