"""The MCP tools: scan an API, read a scan, list scans, explain a finding."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from middlebrick.config import Context as ApiContext
from middlebrick.errors import UsageError
from middlebrick.mcp.registry import tool
from middlebrick.mcp.state import ToolContext, backend_of, state_of
from middlebrick.mcp.text import explain, ordered, scan_list, summary
from middlebrick.mcp.views import FindingView, ScanOrder, ScanView

ContextName = Literal["general", "financial", "medical", "public", "internal"]
Status = Literal["queued", "running", "completed", "failed"]


@tool(title="Scan an API for security flaws", read_only=False)
async def scan_api(
    url: Annotated[str, Field(description="Base URL of the API (http or https).")],
    ctx: ToolContext,
    spec_url: Annotated[
        str | None, Field(description="URL of its OpenAPI/Swagger document, if known.")
    ] = None,
    context: Annotated[
        ContextName, Field(description="What kind of API it is; shifts the category weights.")
    ] = "general",
    mode: Annotated[
        Literal["safe", "active"],
        Field(
            description="safe (default) sends only GET, HEAD and OPTIONS; active also sends "
            "write methods and is for staging targets whose owner asked for it."
        ),
    ] = "safe",
) -> str:
    """Scan a REST/JSON API: a 0-100 score, an A-F grade and findings by severity.

    Waits for the scan to finish (a minute or two at most); a scan still running after that is
    reported with its id, to read later with get_scan. Only scan APIs the user owns or may test.
    """
    backend = backend_of(ctx)
    order = ScanOrder(url=url, spec_url=spec_url, context=ApiContext(context), mode=mode)
    started = await backend.submit(order)
    view = await backend.wait(started.id, state_of(ctx).wait)
    if view.target is None:  # a service's status answer may leave the target out
        view = view.model_copy(update={"target": started.target})
    return summary(view)


@tool(title="Read a scan's results")
async def get_scan(
    scan_id: Annotated[str, Field(description="The id scan_api or list_scans gave.")],
    ctx: ToolContext,
) -> str:
    """A scan's status, or its score, grade and findings by severity once it has finished."""
    return summary(await backend_of(ctx).get(scan_id))


@tool(title="List recent scans")
async def list_scans(
    ctx: ToolContext,
    limit: Annotated[int, Field(ge=1, le=100, description="How many, newest first.")] = 10,
    status: Annotated[Status | None, Field(description="Only scans in this state.")] = None,
) -> str:
    """The latest scans, newest first: id, status, target, score and number of findings."""
    return scan_list(await backend_of(ctx).list(limit, status))


@tool(title="Explain a finding")
async def explain_finding(
    scan_id: Annotated[str, Field(description="The scan's id.")],
    finding: Annotated[
        str,
        Field(description="The finding's number in the scan summary, fingerprint or type id."),
    ],
    ctx: ToolContext,
) -> str:
    """One finding in full: what it means, what the scan saw, evidence, a curl command that
    reproduces it, its CWE / OWASP / PCI-DSS / SOC 2 mapping, and how to fix it."""
    view = await backend_of(ctx).get(scan_id)
    if view.status != "completed":
        raise UsageError(f"scan {scan_id} is {view.status}; its findings come once it completes")
    number, found = _pick(view, finding.strip())
    return explain(view, found, number=number)


def _pick(view: ScanView, wanted: str) -> tuple[int, FindingView]:
    findings = ordered(view)
    if wanted.isdigit() and 1 <= int(wanted) <= len(findings):
        return int(wanted), findings[int(wanted) - 1]
    for number, item in enumerate(findings, start=1):
        if wanted and (item.fingerprint.startswith(wanted) or item.type_id == wanted):
            return number, item
    raise UsageError(
        f"scan {view.id} has no finding {wanted!r}; give a number from its summary "
        f"(1 to {len(findings)}), a fingerprint or a type id"
    )
