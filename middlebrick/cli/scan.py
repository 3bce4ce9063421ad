"""The ``scan`` command: its flags, the scan, its reports, the webhook and the gate (flags and
config file become a ScanRequest in ``_request``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from middlebrick.cli._app import EXIT_INTERRUPTED, app, finite, use_color
from middlebrick.cli._output import emit, enforce, outputs_of
from middlebrick.cli._request import check_local_spec, identities_of, parse_header, scan_request
from middlebrick.cli._runner import run_scan
from middlebrick.cli._webhook import post, webhook_endpoint
from middlebrick.config import Context, Tier
from middlebrick.configfile import ScanConfig, load_config
from middlebrick.errors import MiddlebrickError
from middlebrick.files import check_writable
from middlebrick.findings import Severity
from middlebrick.gate import Gate, fingerprints, judge, load_ignore_file, load_report
from middlebrick.http.evidence import Redactor
from middlebrick.saved import save_report
from middlebrick.webhooks import scan_completed, scan_failed


@app.command()
def scan(
    url: Annotated[str, typer.Argument(help="Base URL of the API (or one endpoint of it).")],
    spec: Annotated[
        str | None,
        typer.Option(
            "--spec",
            help="OpenAPI/Swagger document or Postman collection (v2.0/v2.1): a file or URL.",
            envvar="MIDDLEBRICK_SPEC",
        ),
    ] = None,
    spec_root: Annotated[
        Path | None,
        typer.Option(
            "--spec-root",
            help="Folder the spec's file references may be in (default: the spec's own folder).",
            envvar="MIDDLEBRICK_SPEC_ROOT",
        ),
    ] = None,
    spec_header: Annotated[
        list[str] | None,
        typer.Option(
            "--spec-header",
            help="NAME:VALUE sent when fetching --spec URL (repeatable); --header and --auth "
            "go to the target's origin only.",
        ),
    ] = None,
    spec_limit: Annotated[
        int,
        typer.Option(
            "--spec-limit",
            min=1,
            help="Largest API description read, given or served, in MiB.",
            envvar="MIDDLEBRICK_SPEC_LIMIT",
        ),
    ] = 32,
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
        typer.Option(
            "--owns",
            help="NAME=[RESOURCE:]ID[,…]: objects an identity owns, e.g. alice=books:12 "
            "(repeatable).",
        ),
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
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete",
            help="Let an incomplete scan (too little of the API answered, or a step stopped "
            "early) pass --threshold and --fail-on on what it found; by default it fails them.",
            envvar="MIDDLEBRICK_ALLOW_INCOMPLETE",
        ),
    ] = False,
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
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            help="METHOD PATH-PATTERN or PATH-PATTERN (repeatable): call these operations even "
            "though their names say they change state, cannot be undone or write settings or "
            "accounts; in safe mode, also send them their own method.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            help="METHOD PATH-PATTERN or PATH-PATTERN (repeatable): never request these "
            "(wins over --include).",
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            max=256,
            help="Most requests in flight; the adaptive pace starts at 4.",
            envvar="MIDDLEBRICK_CONCURRENCY",
        ),
    ] = 32,
    rate: Annotated[
        float,
        typer.Option(
            "--rate",
            min=0.1,
            callback=finite,
            help="Most requests per second; the adaptive pace starts at 50.",
            envvar="MIDDLEBRICK_RATE",
        ),
    ] = 1000.0,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=1,
            callback=finite,
            help="Time budget of the whole scan, seconds.",
            envvar="MIDDLEBRICK_TIMEOUT",
        ),
    ] = 120.0,
    budget: Annotated[
        int | None,
        typer.Option(
            "--budget",
            min=1,
            help="Most requests the scan may send (default: what the checks may send on this "
            "API, at most 50,000).",
            envvar="MIDDLEBRICK_BUDGET",
        ),
    ] = None,
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
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            help="Post the scan.completed (or scan.failed) event to this http(s) URL.",
            envvar="MIDDLEBRICK_WEBHOOK",
        ),
    ] = None,
    webhook_secret_env: Annotated[
        str | None,
        typer.Option(
            "--webhook-secret-env",
            help="Name of the environment variable holding the webhook's signing secret.",
        ),
    ] = None,
    webhook_format: Annotated[
        str, typer.Option("--webhook-format", help="json (signed), slack or teams.")
    ] = "json",
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="Run the scan on this middlebrick service (URL) instead of here.",
            envvar="MIDDLEBRICK_SERVER",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", help="API key of the --server service.", envvar="MIDDLEBRICK_API_KEY"
        ),
    ] = None,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain text output (also: NO_COLOR=1).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show each check as it finishes.")
    ] = False,
) -> None:
    """Scan URL and print its score, grade and findings."""
    outputs = outputs_of(fmt or ["summary"], output)
    for _, file in outputs:
        if file is not None:
            check_writable(file)  # before the scan, not after it
    settings = load_config(config) if config is not None else ScanConfig()
    gate = Gate(
        threshold=threshold,
        fail_on=fail_on,
        known=fingerprints(load_report(baseline).findings) if baseline else frozenset(),
        ignore=load_ignore_file(ignore_file) if ignore_file else (),
        allow_incomplete=allow_incomplete or settings.allow_incomplete,
    )
    request = scan_request(
        target=url,
        spec=spec or settings.spec,
        spec_root=str(spec_root) if spec_root else settings.spec_root,
        spec_headers=settings.spec_headers + tuple(parse_header(h) for h in spec_header or ()),
        headers=settings.headers + tuple(parse_header(h) for h in header or ()),
        identities=identities_of(settings, auth, identity or [], owns or []),
        tier=tier,
        context=context,
        mode="active" if active else "safe",
        include=settings.include + tuple(include or ()),
        exclude=settings.exclude + tuple(exclude or ()),
        verify_tls=not insecure,
        find_served_spec=spec_discovery,
        limits={
            "concurrency": concurrency,
            "rate": rate,
            "time_budget": timeout,
            "max_requests": budget,
            "burst": burst,
            "max_spec_bytes": spec_limit * 1024 * 1024,
        },
    )
    check_local_spec(request.spec)
    endpoint = webhook_endpoint(webhook, webhook_secret_env, webhook_format)
    interrupted = False
    try:
        if server:
            from middlebrick.cli.remote import remote_scan

            report = remote_scan(server, api_key, request, quiet=quiet)
        else:
            report, interrupted = run_scan(request, quiet=quiet, verbose=verbose)
    except MiddlebrickError as exc:
        exc.args = (Redactor.for_scan(request)(str(exc)),)  # it may quote a URL or a value
        if endpoint is not None:
            post(endpoint, scan_failed(url, str(exc)), quiet=quiet)
        raise
    kept = save_report(report) if save else None
    emit(report, outputs, color=use_color(no_color, sys.stdout), quiet=quiet, fail_on=fail_on)
    if interrupted:  # no gate and no webhook for a scan that did not finish
        _say_where(outputs, kept)
        raise typer.Exit(EXIT_INTERRUPTED)
    if endpoint is not None:
        post(endpoint, scan_completed(report), quiet=quiet)
    enforce(judge(report, gate), quiet=quiet)


def _say_where(outputs: list[tuple[str, Path | None]], kept: Path | None) -> None:
    """One line on stderr: the scan was interrupted, and where its partial report went."""
    places = [str(file) for _, file in outputs if file is not None]
    if kept is not None:
        places.append(f"{kept} (middlebrick results {kept.stem})")
    where = f"written to {', '.join(places)}" if places else "shown above"
    typer.echo(f"interrupted: the partial report (incomplete) is {where}", err=True)
