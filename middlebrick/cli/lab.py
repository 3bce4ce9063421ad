"""``demo`` and ``lab up|down``: the bundled lab, started, scanned and stopped."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from middlebrick.auth import parse_auth
from middlebrick.cli._app import app, use_color
from middlebrick.cli._runner import run_scan
from middlebrick.cli.scan import scan_request
from middlebrick.config import ScanRequest
from middlebrick.render import render

lab_app = typer.Typer(help="Start and stop the bundled lab (vulnerable services and twins).")
app.add_typer(lab_app, name="lab")


@app.command()
def demo(
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain text output.")] = False,
) -> None:
    """Start the bundled lab on loopback, scan every service and its secure twin, then stop it."""
    from lab import runner

    color = use_color(no_color, sys.stdout)
    rows: list[tuple[str, str, str, int]] = []
    with runner.start() as lab:
        _print_lab(lab, tokens=False)
        for target in lab.targets:
            report, interrupted = run_scan(_lab_request(target), quiet=True)
            if interrupted:
                raise KeyboardInterrupt
            serious = sum(1 for f in report.findings if f.severity.rank >= 2)
            grade = f"{report.score}/100 {report.grade}"
            rows.append((f"{target.service} ({target.variant})", target.url, grade, serious))
            if target.variant == "vulnerable":
                typer.echo(f"\n=== {target.service} ({target.variant}) at {target.url} ===\n")
                typer.echo(render(report, "summary", color=color), nl=False)
    typer.echo("\nLab scanned (safe mode, as alice; bob as the second identity):")
    for name, url, grade, serious in rows:
        typer.echo(f"  {name:<26} {url:<24} {grade:<10} {serious} finding(s) medium or worse")


@lab_app.command("up")
def lab_up() -> None:
    """Start the lab in the background and print its URLs and tokens."""
    from lab import runner

    _print_lab(runner.start(detach=True))
    typer.echo("Stop it with: middlebrick lab down")


@lab_app.command("down")
def lab_down() -> None:
    """Stop the lab started by `middlebrick lab up`."""
    from lab import runner

    typer.echo("lab stopped" if runner.down() else "no lab was running")


def _print_lab(lab, *, tokens: bool = True) -> None:  # type: ignore[no-untyped-def]
    for target in lab.targets:
        typer.echo(f"{target.service:<9} {target.variant:<11} {target.url}  ({target.framework})")
        for user, token in target.tokens.items() if tokens else ():
            typer.echo(f"    {user:<6} Authorization: {target.auth_scheme} {token}")


def _lab_request(target) -> ScanRequest:  # type: ignore[no-untyped-def]
    users = list(target.tokens)[:2]
    identities = {
        user: parse_auth(f"header:Authorization:{target.auth_scheme} {target.tokens[user]}")
        for user in users
    }
    return scan_request(target=target.url, identities=identities)
