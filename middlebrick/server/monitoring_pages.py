"""The dashboard's pages of monitoring: monitors and their runs (with each run's diff), webhook
endpoints with their delivery log and re-send, verified domains. Forms carry the session's CSRF
token like every form of the dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from middlebrick.errors import MiddlebrickError
from middlebrick.findings import Severity
from middlebrick.jobs.schedule import INTERVALS
from middlebrick.server import monitoring as m
from middlebrick.server.auth import check_csrf
from middlebrick.server.dashboard import Svc, Who, page, scan_fields, sentence
from middlebrick.server.monitoring_schemas import EndpointCreate, MonitorCreate, MonitorUpdate
from middlebrick.server.problems import Problem
from middlebrick.server.service import Service
from middlebrick.store.records import EndpointInfo, SessionInfo
from middlebrick.webhooks import EVENT_TYPES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str | None, Form()]
_REFUSED = (MiddlebrickError, Problem, ValidationError)


def _see(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


@router.get("/monitors")
def monitors_page(request: Request, svc: Svc, who: Who, error: str | None = None) -> HTMLResponse:
    return page(
        request,
        "monitors.html",
        who,
        monitors=svc.repo.monitors(who.org_id),
        schedules=list(INTERVALS),
        severities=[s.value for s in sorted(Severity, key=lambda s: -s.rank)],
        error=error,
    )


@router.post("/monitors")
def create_monitor(
    request: Request,
    svc: Svc,
    who: Who,
    name: Annotated[str, Form(max_length=100)],
    url: Annotated[str, Form(max_length=2048)],
    csrf: Csrf = None,
    schedule: Annotated[str, Form(max_length=100)] = "daily",
    cron: Annotated[str, Form(max_length=100)] = "",
    spec_url: Annotated[str, Form(max_length=2048)] = "",
    mode: Annotated[str, Form()] = "safe",
    tier: Annotated[str, Form()] = "standard",
    context: Annotated[str, Form()] = "general",
    identities: Annotated[str, Form(max_length=20_000)] = "",
    score_drop: Annotated[str, Form(max_length=3)] = "",
    new_finding_at: Annotated[str, Form(max_length=10)] = "",
    grade_change: Annotated[str, Form(max_length=1)] = "",
    resolved: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    check_csrf(request, who, csrf)
    try:
        fields: dict[str, Any] = scan_fields(url, spec_url, mode, tier, context, identities)
        fields |= {
            "name": name,
            "schedule": cron if schedule == "cron" else schedule,
            "rules": {
                "score_drop": int(score_drop) if score_drop.strip() else None,
                "new_finding_at": new_finding_at or None,
                "grade_change": bool(grade_change),
                "resolved": bool(resolved),
            },
        }
        created = m.create_monitor(svc, who.org_id, MonitorCreate.model_validate(fields))
    except (*_REFUSED, ValueError) as exc:
        return monitors_page(request, svc, who, error=sentence(exc))
    return _see(f"/monitors/{created.id}")


@router.get("/monitors/{monitor_id}")
def monitor_page(request: Request, monitor_id: int, svc: Svc, who: Who) -> HTMLResponse:
    found = m.monitor(svc, who.org_id, monitor_id)
    runs = [m.run_detail(r) for r in svc.repo.runs(who.org_id, monitor_id)]
    return page(request, "monitor.html", who, monitor=found, runs=runs)


@router.post("/monitors/{monitor_id}/run")
def run_now(request: Request, monitor_id: int, svc: Svc, who: Who, csrf: Csrf = None) -> Response:
    check_csrf(request, who, csrf)
    svc.runner.start(m.monitor(svc, who.org_id, monitor_id), "manual")
    return _see(f"/monitors/{monitor_id}")


@router.post("/monitors/{monitor_id}/toggle")
def toggle(request: Request, monitor_id: int, svc: Svc, who: Who, csrf: Csrf = None) -> Response:
    check_csrf(request, who, csrf)
    found = m.monitor(svc, who.org_id, monitor_id)
    m.update_monitor(svc, who.org_id, monitor_id, MonitorUpdate(enabled=not found.enabled))
    return _see(f"/monitors/{monitor_id}")


@router.post("/monitors/{monitor_id}/delete")
def delete_monitor(
    request: Request, monitor_id: int, svc: Svc, who: Who, csrf: Csrf = None
) -> Response:
    check_csrf(request, who, csrf)
    m.monitor(svc, who.org_id, monitor_id)
    svc.repo.delete_monitor(who.org_id, monitor_id)
    return _see("/monitors")


@router.get("/monitors/{monitor_id}/runs/{run_id}")
def run_page(request: Request, monitor_id: int, run_id: int, svc: Svc, who: Who) -> HTMLResponse:
    found = m.monitor(svc, who.org_id, monitor_id)
    detail = m.run_detail(m.run(svc, who.org_id, monitor_id, run_id))
    if detail.diff is None:
        raise Problem(404, f"run {run_id} has no diff (a first run, or a run without a scan)")
    return page(request, "run.html", who, monitor=found, run=detail)


@router.get("/webhooks")
def webhooks_page(request: Request, svc: Svc, who: Who) -> HTMLResponse:
    return _webhooks(request, svc, who)


def _webhooks(
    request: Request,
    svc: Service,
    who: SessionInfo,
    *,
    error: str | None = None,
    created: EndpointInfo | None = None,
    secret: str | None = None,
) -> HTMLResponse:
    """The endpoints page; just after a creation, with the new endpoint's secret (once)."""
    return page(
        request,
        "webhooks.html",
        who,
        endpoints=svc.repo.endpoints(who.org_id),
        event_types=EVENT_TYPES,
        error=error,
        created=created,
        secret=secret,
    )


@router.post("/webhooks")
async def create_endpoint(request: Request, svc: Svc, who: Who) -> Response:
    form = await request.form()
    check_csrf(request, who, str(form.get("csrf") or ""))
    try:
        body = EndpointCreate.model_validate(
            {
                "name": str(form.get("name") or ""),
                "url": str(form.get("url") or "").strip(),
                "format": str(form.get("format") or "json"),
                "events": [str(v) for v in form.getlist("events")] or None,
            }
        )
        info, secret = m.create_endpoint(svc, who.org_id, body)
    except _REFUSED as exc:
        return _webhooks(request, svc, who, error=_url_free(exc))
    return _webhooks(request, svc, who, created=info, secret=secret)


@router.get("/webhooks/{endpoint_id}")
def webhook_page(request: Request, endpoint_id: int, svc: Svc, who: Who) -> HTMLResponse:
    found = m.endpoint(svc, who.org_id, endpoint_id)
    deliveries = m.deliveries(svc, who.org_id, endpoint_id)
    return page(request, "webhook.html", who, endpoint=found, deliveries=deliveries)


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend")
def resend(
    request: Request, endpoint_id: int, delivery_id: str, svc: Svc, who: Who, csrf: Csrf = None
) -> Response:
    check_csrf(request, who, csrf)
    m.resend(svc, who.org_id, endpoint_id, delivery_id)
    return _see(f"/webhooks/{endpoint_id}")


@router.post("/webhooks/{endpoint_id}/delete")
def delete_endpoint(
    request: Request, endpoint_id: int, svc: Svc, who: Who, csrf: Csrf = None
) -> Response:
    check_csrf(request, who, csrf)
    m.endpoint(svc, who.org_id, endpoint_id)
    svc.repo.delete_endpoint(who.org_id, endpoint_id)
    return _see("/webhooks")


@router.get("/domains")
def domains_page(request: Request, svc: Svc, who: Who, error: str | None = None) -> HTMLResponse:
    return page(request, "domains.html", who, domains=m.domain_list(svc, who.org_id), error=error)


@router.post("/domains")
def add_domain(
    request: Request,
    svc: Svc,
    who: Who,
    domain: Annotated[str, Form(max_length=253)],
    csrf: Csrf = None,
) -> Response:
    check_csrf(request, who, csrf)
    try:
        m.add_domain(svc, who.org_id, domain)
    except Problem as exc:
        return domains_page(request, svc, who, error=exc.detail)
    return _see("/domains")


@router.post("/domains/{domain_id}/verify")
async def verify_domain(
    request: Request, domain_id: int, svc: Svc, who: Who, csrf: Csrf = None
) -> Response:
    check_csrf(request, who, csrf)
    await m.verify_domain(svc, who.org_id, domain_id)
    return _see("/domains")


@router.post("/domains/{domain_id}/delete")
def delete_domain(
    request: Request, domain_id: int, svc: Svc, who: Who, csrf: Csrf = None
) -> Response:
    check_csrf(request, who, csrf)
    svc.repo.delete_domain(who.org_id, domain_id)
    return _see("/domains")


def _url_free(exc: Exception) -> str:
    """A refused endpoint form's reason, never echoing the URL (it may be a secret)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return sentence(exc)
