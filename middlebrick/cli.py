"""The ``middlebrick`` command: parse, call the library, render, map errors to exit codes.

Exit codes: 0 ok; 1 the gate failed (score below ``--threshold`` or a finding at ``--fail-on``);
2 usage or configuration error (credentials the target rejects included);
3 target unreachable; 130 interrupted.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from middlebrick import __version__
from middlebrick.auth import parse_auth, parse_identity
from middlebrick.config import Context, Credential, ScanRequest, Tier
from middlebrick.configfile import ScanConfig, load_config
from middlebrick.errors import MiddlebrickError, UsageError
from middlebrick.findings import Severity
from middlebrick.gate import Gate, Verdict, fingerprints, judge, load_ignore_file, load_report
from middlebrick.progress import Progress
from middlebrick.render import formats, is_binary, render, render_bytes
from middlebrick.render.junit import render_junit
from middlebrick.report import Report
from middlebrick.report_diff import diff_reports, render_diff
from middlebrick.saved import find_report, save_report

app = typer.Typer(
    name="middlebrick",
    help="Self-hosted API security scanner: a 0-100 score, an A-F grade and findings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_BELOW_THRESHOLD = 0, 1


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


def _parse_header(raw: str) -> tuple[str, str]:
    name, sep, value = raw.partition(":")
    if not sep or not name.strip():
        raise UsageError(
            f"--header {raw!r} is not NAME:VALUE; write it like --header 'X-API-Key: abc'"
        )
    return name.strip(), value.strip()


@app.command()
def scan(
    url: Annotated[str, typer.Argument(help="Base URL of the API (or one endpoint of it).")],
    spec: Annotated[
        str | None,
        typer.Option(
            "--spec", help="OpenAPI/Swagger document: a file or URL.", envvar="MIDDLEBRICK_SPEC"
        ),
    ] = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            "-H",
            help="NAME:VALUE sent with every request (repeatable); values are never shown.",
        ),
    ] = None,
    auth: Annotated[
        str | None,
        typer.Option(
            "--auth",
            help="Credentials to scan with: bearer:TOKEN, basic:USER:PASS, "
            "apikey:HEADER:KEY, apikey:query:NAME:KEY, apikey:cookie:NAME:KEY, "
            "cookie:NAME=VALUE or header:NAME:VALUE.",
            envvar="MIDDLEBRICK_AUTH",
        ),
    ] = None,
    identity: Annotated[
        list[str] | None,
        typer.Option(
            "--identity",
            help="NAME=PROFILE, a named identity (repeatable); the first is the primary, the "
            "others are used for cross-identity (BOLA) tests.",
        ),
    ] = None,
    owns: Annotated[
        list[str] | None,
        typer.Option("--owns", help="NAME=ID[,ID…]: objects an identity owns (repeatable)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="YAML file with spec, headers and identities (${VAR} read from the environment).",
            envvar="MIDDLEBRICK_CONFIG",
        ),
    ] = None,
    fmt: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            help="NAME or NAME:FILE (repeatable): summary, table, json, sarif, junit, markdown, "
            "html or pdf; NAME:FILE writes that format to FILE.",
            envvar="MIDDLEBRICK_FORMAT",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the report (the one format without a FILE) here."
        ),
    ] = None,
    threshold: Annotated[
        int | None,
        typer.Option(
            "--threshold",
            min=0,
            max=100,
            help="Exit 1 when the score is below N.",
            envvar="MIDDLEBRICK_THRESHOLD",
        ),
    ] = None,
    fail_on: Annotated[
        Severity | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a (new) finding is at or above this severity.",
            envvar="MIDDLEBRICK_FAIL_ON",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="A previous JSON report: its findings are known and do not fail the gate.",
            envvar="MIDDLEBRICK_BASELINE",
        ),
    ] = None,
    ignore_file: Annotated[
        Path | None,
        typer.Option(
            "--ignore-file",
            help="YAML list of accepted findings (fingerprint, reason, expires).",
            envvar="MIDDLEBRICK_IGNORE_FILE",
        ),
    ] = None,
    save: Annotated[
        bool,
        typer.Option("--save/--no-save", help="Keep the report for `middlebrick results`."),
    ] = True,
    tier: Annotated[
        Tier, typer.Option("--tier", help="How deep the probes go.", envvar="MIDDLEBRICK_TIER")
    ] = Tier.standard,
    context: Annotated[
        Context,
        typer.Option(
            "--context",
            help="What kind of API this is; shifts weights.",
            envvar="MIDDLEBRICK_CONTEXT",
        ),
    ] = Context.general,
    active: Annotated[
        bool,
        typer.Option("--active", help="Also send the spec's write methods (staging targets only)."),
    ] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=256, envvar="MIDDLEBRICK_CONCURRENCY")
    ] = 8,
    rate: Annotated[
        float,
        typer.Option("--rate", min=0.1, help="Requests per second.", envvar="MIDDLEBRICK_RATE"),
    ] = 50.0,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=1,
            help="Time budget of the whole scan, seconds.",
            envvar="MIDDLEBRICK_TIMEOUT",
        ),
    ] = 120.0,
    budget: Annotated[
        int,
        typer.Option(
            "--budget", min=1, help="Most requests the scan may send.", envvar="MIDDLEBRICK_BUDGET"
        ),
    ] = 2000,
    spec_discovery: Annotated[
        bool,
        typer.Option(
            "--spec-discovery/--no-spec-discovery",
            help="Without --spec, look for an API description the target serves (default) or "
            "only crawl and probe.",
        ),
    ] = True,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            "-k",
            help="Do not verify the target's TLS certificate (the encryption checks still report "
            "it); credentials then go to a host whose identity is unproven.",
        ),
    ] = False,
    burst: Annotated[
        int,
        typer.Option(
            "--burst",
            min=0,
            max=100,
            help="Requests of the rate-limit burst (0: no burst).",
            envvar="MIDDLEBRICK_BURST",
        ),
    ] = 30,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain text output (also: NO_COLOR=1).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show each check as it finishes.")
    ] = False,
) -> None:
    """Scan URL and print its score, grade and findings."""
    outputs = _outputs(fmt or ["summary"], output)
    gate = Gate(
        threshold=threshold,
        fail_on=fail_on,
        known=fingerprints(load_report(baseline).findings) if baseline else frozenset(),
        ignore=load_ignore_file(ignore_file) if ignore_file else (),
    )
    settings = load_config(config) if config is not None else ScanConfig()
    request = _scan_request(
        target=url,
        spec=spec or settings.spec,
        headers=settings.headers + tuple(_parse_header(h) for h in header or ()),
        identities=_identities(settings, auth, identity or [], owns or []),
        tier=tier,
        context=context,
        mode="active" if active else "safe",
        verify_tls=not insecure,
        find_served_spec=spec_discovery,
        limits={
            "concurrency": concurrency,
            "rate": rate,
            "time_budget": timeout,
            "max_requests": budget,
            "burst": burst,
        },
    )
    report = run_scan(request, quiet=quiet, verbose=verbose)
    if save:
        save_report(report)
    _emit(report, outputs, color=_use_color(no_color, sys.stdout), quiet=quiet, fail_on=fail_on)
    _enforce(judge(report, gate), quiet=quiet)


def _outputs(specs: list[str], output: Path | None) -> list[tuple[str, Path | None]]:
    """(format, file or None for stdout) pairs from ``--format`` values and ``--output``."""
    known = formats()
    pairs: list[tuple[str, Path | None]] = []
    for spec_ in (part for value in specs for part in value.split(",") if part.strip()):
        name, sep, where = spec_.strip().partition(":")
        if name not in known:
            is_binary(name)  # raises the UsageError naming the formats, with a suggestion
        pairs.append((name, Path(where) if sep and where else None))
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


def _emit(
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


def _enforce(verdict: Verdict, *, quiet: bool) -> None:
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
        raise typer.Exit(EXIT_BELOW_THRESHOLD)


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
    outputs = _outputs(fmt or ["summary"], output)
    _emit(find_report(ref), outputs, color=_use_color(no_color, sys.stdout), quiet=False)


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
        raise typer.Exit(EXIT_BELOW_THRESHOLD)


def _identities(
    settings: ScanConfig, auth: str | None, named: list[str], owns: list[str]
) -> dict[str, Credential]:
    """The identities of a scan: ``--auth`` (as "primary"), the config file's, ``--identity``."""
    identities: dict[str, Credential] = {}
    if auth:
        identities["primary"] = parse_auth(auth)
    identities.update(settings.identities)
    for text in named:
        name, credential = parse_identity(text)
        if name in identities:
            raise UsageError(f"identity {name!r} is given twice; give each identity once")
        identities[name] = credential
    for text in owns:
        name, sep, ids = text.partition("=")
        if not sep or name.strip() not in identities:
            known = ", ".join(identities) or "none"
            raise UsageError(
                f"--owns {text!r} names no identity; write NAME=ID[,ID…] with NAME one of: {known}"
            )
        credential = identities[name.strip()]
        extra = tuple(i.strip() for i in ids.split(",") if i.strip())
        identities[name.strip()] = credential.model_copy(update={"owns": credential.owns + extra})
    return identities


lab_app = typer.Typer(help="Start and stop the bundled lab (vulnerable services and twins).")
app.add_typer(lab_app, name="lab")


@app.command()
def demo(
    no_color: Annotated[bool, typer.Option("--no-color", help="Plain text output.")] = False,
) -> None:
    """Start the bundled lab on loopback, scan every service and its secure twin, then stop it."""
    from lab import runner

    color = _use_color(no_color, sys.stdout)
    rows: list[tuple[str, str, str, int]] = []
    with runner.start() as lab:
        _print_lab(lab, tokens=False)
        for target in lab.targets:
            report = run_scan(_lab_request(target), quiet=True)
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
            typer.echo(f"    {user:<6} Authorization: Bearer {token}")


def _lab_request(target) -> ScanRequest:  # type: ignore[no-untyped-def]
    users = list(target.tokens)[:2]
    identities = {user: parse_auth(f"bearer:{target.tokens[user]}") for user in users}
    return _scan_request(target=target.url, identities=identities)


def _scan_request(**values: object) -> ScanRequest:
    """Validate flags into a ScanRequest; a bad value becomes one clear UsageError."""
    try:
        return ScanRequest.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(f"invalid value for {where}: {first['msg']}") from None


def run_scan(request: ScanRequest, *, quiet: bool = False, verbose: bool = False):  # type: ignore[no-untyped-def]
    """Run a scan with a progress display on stderr (unless quiet) and return the report."""
    from middlebrick.engine import scan as scan_target

    stderr = Console(stderr=True, no_color=_no_color_env())
    with Progress(stderr, enabled=not quiet, verbose=verbose) as progress:
        return asyncio.run(scan_target(request, on_event=progress.handle))


def _no_color_env() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def _use_color(no_color: bool, stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    return not (no_color or _no_color_env()) and bool(isatty and isatty())


def main() -> None:
    """Console-script entry point: run the app and turn errors into exit codes."""
    try:
        code = app(standalone_mode=False)  # click returns Exit codes instead of raising here
    except MiddlebrickError as exc:
        Console(stderr=True, no_color=_no_color_env()).print(
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
