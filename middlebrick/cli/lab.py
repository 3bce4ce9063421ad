"""``demo`` and ``lab up|down``: the bundled lab, started, scanned and stopped."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from middlebrick.auth import parse_auth
from middlebrick.cli._app import app
from middlebrick.cli._request import scan_request
from middlebrick.cli._runner import run_scan
from middlebrick.config import ScanRequest
from middlebrick.errors import TargetUnreachable, UsageError
from middlebrick.findings import Severity
from middlebrick.render import render_bytes
from middlebrick.report import Report

lab_app = typer.Typer(help="Start and stop the bundled lab (vulnerable services and twins).")
app.add_typer(lab_app, name="lab")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder the HTML report of each scan is written to.")
    ] = Path("demo-reports"),
) -> None:
    """Start the bundled lab on loopback, scan every service and its secure twin, write each
    HTML report to a folder, print one line per scan, then stop the lab."""
    from lab import runner

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the report folder {out}: {exc.strerror}") from None
    with _started(runner) as lab:
        typer.echo(
            f"Lab started on 127.0.0.1: {len(lab.targets)} targets. Scanning each in safe mode "
            "as its first user, the second as the other identity; reports go to "
            f"{out}{os.sep}\n"
        )
        typer.echo(demo_heading())
        for target in lab.targets:
            report, interrupted = run_scan(_lab_request(target), quiet=True)
            if interrupted:
                raise KeyboardInterrupt
            path = out / f"{target.service}-{target.variant}.html"
            try:
                path.write_bytes(render_bytes(report, "html"))
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror}") from None
            typer.echo(demo_row(target.service, target.variant, report, path))
    typer.echo(
        "\nOpen a report in a browser for every finding with its evidence, curl and fix; "
        "`middlebrick lab up` keeps the lab running for your own scans."
    )


_SEVERITY_COLUMNS = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))


def demo_heading() -> str:
    """The heading of the demo's table."""
    counts = " ".join(f"{s.value[:4]:>4}" for s in _SEVERITY_COLUMNS)
    return f"{'service':<9} {'variant':<10} {'score':<12} {counts}  report"


def demo_row(service: str, variant: str, report: Report, path: Path) -> str:
    """One line of the demo's table: the scan's verdict, findings by severity, its report."""
    by_severity = report.counts_by_severity()
    counts = " ".join(f"{by_severity[s]:>4}" for s in _SEVERITY_COLUMNS)
    return f"{service:<9} {variant:<10} {report.verdict():<12} {counts}  {path}"


@contextmanager
def _started(runner):  # type: ignore[no-untyped-def]
    """The running lab; a lab that cannot start is one error line (exit 3), not a traceback."""
    try:
        lab = runner.start()
    except runner.LabError as exc:
        raise TargetUnreachable(f"the lab did not start: {exc}") from None
    with lab:
        yield lab


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


def _print_lab(lab) -> None:  # type: ignore[no-untyped-def]
    for target in lab.targets:
        typer.echo(f"{target.service:<9} {target.variant:<11} {target.url}  ({target.framework})")
        for user, token in target.tokens.items():
            typer.echo(f"    {user:<6} Authorization: {target.auth_scheme} {token}")


def _lab_request(target) -> ScanRequest:  # type: ignore[no-untyped-def]
    users = list(target.tokens)[:2]
    identities = {
        user: parse_auth(f"header:Authorization:{target.auth_scheme} {target.tokens[user]}")
        for user in users
    }
    return scan_request(target=target.url, identities=identities)
