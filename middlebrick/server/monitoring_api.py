"""The REST API of monitoring under ``/api/v1``: monitors and their runs, webhook endpoints and
their deliveries, verified domains. Authenticated and scoped like the rest of the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from middlebrick.server import monitoring as m
from middlebrick.server.api import _ERRORS, Svc, Who
from middlebrick.server.monitoring_schemas import (
    DeliveryList,
    DomainCreate,
    DomainList,
    DomainOut,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointOut,
    MonitorCreate,
    MonitorList,
    MonitorOut,
    MonitorUpdate,
    RunDetail,
    RunList,
    RunOut,
)
from middlebrick.server.problems import Problem

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", responses={**_ERRORS, 403: _ERRORS[401]})


@router.post("/monitors", status_code=201, response_model=MonitorOut, tags=["monitors"])
def create_monitor(body: MonitorCreate, svc: Svc, who: Who) -> MonitorOut:
    """Create a monitor; its first run starts at once, the next ones by its schedule."""
    return m.monitor_out(m.create_monitor(svc, who.org_id, body))


@router.get("/monitors", response_model=MonitorList, tags=["monitors"])
def list_monitors(svc: Svc, who: Who) -> MonitorList:
    """Your organisation's monitors."""
    return MonitorList(items=[m.monitor_out(x) for x in svc.repo.monitors(who.org_id)])


@router.get("/monitors/{monitor_id}", response_model=MonitorOut, tags=["monitors"])
def get_monitor(monitor_id: int, svc: Svc, who: Who) -> MonitorOut:
    """One monitor."""
    return m.monitor_out(m.monitor(svc, who.org_id, monitor_id))


@router.patch("/monitors/{monitor_id}", response_model=MonitorOut, tags=["monitors"])
def update_monitor(monitor_id: int, body: MonitorUpdate, svc: Svc, who: Who) -> MonitorOut:
    """Rename, reschedule, change the alert rules, enable or disable a monitor."""
    return m.monitor_out(m.update_monitor(svc, who.org_id, monitor_id, body))


@router.delete("/monitors/{monitor_id}", status_code=204, tags=["monitors"])
def delete_monitor(monitor_id: int, svc: Svc, who: Who) -> Response:
    """Delete a monitor and its runs (their scans stay in the history)."""
    m.monitor(svc, who.org_id, monitor_id)
    svc.repo.delete_monitor(who.org_id, monitor_id)
    return Response(status_code=204)


@router.post(
    "/monitors/{monitor_id}/runs", status_code=202, response_model=RunOut, tags=["monitors"]
)
def run_monitor(monitor_id: int, svc: Svc, who: Who) -> RunOut:
    """Run the monitor now (a run that cannot start says why in ``status`` and ``reason``)."""
    return m.run_out(svc.runner.start(m.monitor(svc, who.org_id, monitor_id), "manual"))


@router.get("/monitors/{monitor_id}/runs", response_model=RunList, tags=["monitors"])
def list_runs(
    monitor_id: int, svc: Svc, who: Who, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> RunList:
    """The monitor's runs, newest first, with the counts of each diff."""
    m.monitor(svc, who.org_id, monitor_id)
    runs = svc.repo.runs(who.org_id, monitor_id, limit=limit)
    return RunList(items=[m.run_out(r) for r in runs])


@router.get("/monitors/{monitor_id}/runs/{run_id}", response_model=RunDetail, tags=["monitors"])
def get_run(monitor_id: int, run_id: int, svc: Svc, who: Who) -> RunDetail:
    """One run with its diff: new, resolved and unchanged findings, score change."""
    return m.run_detail(m.run(svc, who.org_id, monitor_id, run_id))


@router.post("/webhooks", status_code=201, response_model=EndpointCreated, tags=["webhooks"])
def create_endpoint(body: EndpointCreate, svc: Svc, who: Who) -> EndpointCreated:
    """Create an endpoint; its signing secret is in this answer only."""
    info, secret = m.create_endpoint(svc, who.org_id, body)
    return EndpointCreated(**m.endpoint_out(info).model_dump(), secret=secret)


@router.get("/webhooks", response_model=EndpointList, tags=["webhooks"])
def list_endpoints(svc: Svc, who: Who) -> EndpointList:
    """Your organisation's endpoints (origins only), disabled ones with the reason."""
    return EndpointList(items=[m.endpoint_out(e) for e in svc.repo.endpoints(who.org_id)])


@router.get("/webhooks/{endpoint_id}", response_model=EndpointOut, tags=["webhooks"])
def get_endpoint(endpoint_id: int, svc: Svc, who: Who) -> EndpointOut:
    """One endpoint."""
    return m.endpoint_out(m.endpoint(svc, who.org_id, endpoint_id))


@router.delete("/webhooks/{endpoint_id}", status_code=204, tags=["webhooks"])
def delete_endpoint(endpoint_id: int, svc: Svc, who: Who) -> Response:
    """Delete an endpoint and its delivery log."""
    m.endpoint(svc, who.org_id, endpoint_id)
    svc.repo.delete_endpoint(who.org_id, endpoint_id)
    return Response(status_code=204)


@router.get("/webhooks/{endpoint_id}/deliveries", response_model=DeliveryList, tags=["webhooks"])
def list_deliveries(
    endpoint_id: int, svc: Svc, who: Who, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> DeliveryList:
    """The endpoint's delivery log, newest first: state and every attempt."""
    found = m.deliveries(svc, who.org_id, endpoint_id, limit)
    return DeliveryList(items=[m.delivery_out(d) for d in found])


@router.post(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend",
    status_code=202,
    tags=["webhooks"],
)
def resend_delivery(endpoint_id: int, delivery_id: str, svc: Svc, who: Who) -> Response:
    """Send a logged delivery again: same event, fresh signature, a new delivery id."""
    m.resend(svc, who.org_id, endpoint_id, delivery_id)
    return Response(status_code=202)


@router.get("/domains", response_model=DomainList, tags=["domains"])
def list_domains(svc: Svc, who: Who) -> DomainList:
    """Your organisation's verification token and domains."""
    return m.domain_list(svc, who.org_id)


@router.post("/domains", status_code=201, response_model=DomainOut, tags=["domains"])
def add_domain(body: DomainCreate, svc: Svc, who: Who) -> DomainOut:
    """Add a domain to verify: publish the token, then ``POST /domains/{id}/verify``."""
    return m.domain_out(m.add_domain(svc, who.org_id, body.domain))


@router.post("/domains/{domain_id}/verify", response_model=DomainOut, tags=["domains"])
async def verify_domain(domain_id: int, svc: Svc, who: Who) -> DomainOut:
    """Check the TXT record, then the file; ``verified`` and ``reason`` say how it went."""
    return m.domain_out(await m.verify_domain(svc, who.org_id, domain_id))


@router.delete("/domains/{domain_id}", status_code=204, tags=["domains"])
def delete_domain(domain_id: int, svc: Svc, who: Who) -> Response:
    """Forget a domain: its authenticated and active scans are refused from now on."""
    if not svc.repo.delete_domain(who.org_id, domain_id):
        raise Problem(404, f"no domain {domain_id} in your organisation")
    return Response(status_code=204)
