"""``mcp``: the MCP server on stdio, for an AI assistant (docs/mcp.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from middlebrick.cli._app import app, finite
from middlebrick.errors import UsageError


@app.command("mcp")
def mcp_server(
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            help="URL of a middlebrick service to scan with, instead of scanning in-process.",
            envvar="MIDDLEBRICK_SERVER",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="The service's API key (better: MIDDLEBRICK_API_KEY in the environment).",
            envvar="MIDDLEBRICK_API_KEY",
            show_default=False,
        ),
    ] = None,
    allow_active: Annotated[
        bool,
        typer.Option(
            "--allow-active",
            help="Let the assistant ask for active mode (write methods) in-process; "
            "for staging targets only.",
        ),
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=1,
            max=3600,
            callback=finite,
            help="Seconds scan_api waits for a scan before answering.",
        ),
    ] = 150.0,
) -> None:
    """Run the MCP server on stdio: scan_api, get_scan, list_scans and explain_finding."""
    import anyio

    from middlebrick.mcp import LocalBackend, RemoteBackend, build_server

    backend: LocalBackend | RemoteBackend
    if server is not None:
        if allow_active:
            raise UsageError(
                "--allow-active is for in-process scans; with --server the service decides"
            )
        backend = RemoteBackend(server, api_key or "")
    elif api_key is not None:
        raise UsageError("--api-key needs --server URL")
    else:
        backend = LocalBackend(allow_active=allow_active)
    mcp = build_server(backend, wait=wait)

    async def run() -> None:
        try:
            await mcp.run_stdio_async()
        finally:
            if isinstance(backend, LocalBackend):
                await backend.aclose()  # cancel the scans still running

    anyio.run(run)
