"""What the API and the dashboard both do with monitors, webhook endpoints and domains.

Each function takes the organisation the request was authenticated for; another organisation's
monitor, endpoint, delivery or domain is "not found", like one that does not exist.

- A monitor keeps the scan's options and spec; its credentials are kept sealed (Fernet, under
  ``MIDDLEBRICK_SECRET_KEY``: a monitor with credentials is refused while that key is not set,
  since they could not be opened after a restart). Its first run starts at once (the baseline
  of the next runs' diffs), the next ones by its schedule.
- An endpoint's URL and secret are sealed together; pages and answers show its origin only,
  and the secret is shown once, when the endpoint is made.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from middlebrick.domains import RECORD_PREFIX, WELL_KNOWN_PATH, new_token, normalise_domain
from middlebrick.jobs.policy import private_address
from middlebrick.jobs.schedule import Schedule, ScheduleError
from middlebrick.server.monitoring_schemas import (
    DeliveryOut,
    DomainList,
    DomainOut,
    EndpointCreate,
    EndpointOut,
    MonitorCreate,
    MonitorOut,
    MonitorUpdate,
    RunDetail,
    RunOut,
)
from middlebrick.server.problems import Problem
from middlebrick.server.schemas import DiffOut
from middlebrick.server.service import Service, utc
from middlebrick.store.records import DomainInfo, EndpointInfo, MonitorInfo, RunInfo, now
from middlebrick.webhooks import Delivery, Endpoint, new_secret

__all__ = [
    "add_domain",
    "create_endpoint",
    "create_monitor",
    "deliveries",
    "delivery_out",
    "domain_list",
    "domain_out",
    "endpoint",
    "endpoint_out",
    "monitor",
    "monitor_out",
    "resend",
    "run",
    "run_detail",
    "run_out",
    "update_monitor",
    "verify_domain",
]


def create_monitor(svc: Service, org_id: int, body: MonitorCreate) -> MonitorInfo:
    """Check the monitor's scan like any scan, seal its credentials, schedule it."""
    ready = svc.prepare(org_id, body)
    if ready.sealed is not None:
        svc.lasting_key("a monitor keeps its credentials between runs")
    created = now()
    schedule = _schedule(body.schedule, created)
    return svc.repo.add_monitor(
        org_id,
        url=ready.url,
        name=body.name.strip(),
        schedule=schedule.text,
        options=ready.options,
        spec_document=ready.spec_text,
        sealed=ready.sealed,
        rules=body.rules.model_dump(mode="json"),
        next_run_at=created,  # the first run at once
        enabled=body.enabled,
    )


def monitor(svc: Service, org_id: int, monitor_id: int) -> MonitorInfo:
    """One of the organisation's monitors; 404 otherwise."""
    found = svc.repo.monitor(org_id, monitor_id)
    if found is None:
        raise Problem(404, f"no monitor {monitor_id} in your organisation")
    return found


def update_monitor(svc: Service, org_id: int, monitor_id: int, body: MonitorUpdate) -> MonitorInfo:
    """Rename, reschedule, change the rules, enable or disable a monitor."""
    current = monitor(svc, org_id, monitor_id)
    values: dict[str, Any] = {}
    if body.name is not None:
        values["name"] = body.name.strip()
    if body.schedule is not None:
        schedule = _schedule(body.schedule, current.created_at)
        values["schedule"] = schedule.text
        values["next_run_at"] = schedule.next_after(now())
    if body.rules is not None:
        values["rules"] = body.rules.model_dump(mode="json")
    if body.enabled is not None:
        values["enabled"] = body.enabled
    updated = svc.repo.update_monitor(org_id, monitor_id, **values)
    assert updated is not None
    return updated


def run(svc: Service, org_id: int, monitor_id: int, run_id: int) -> RunInfo:
    """One run of one of the organisation's monitors; 404 otherwise."""
    found = svc.repo.run(org_id, monitor_id, run_id)
    if found is None:
        raise Problem(404, f"no run {run_id} of monitor {monitor_id} in your organisation")
    return found


def monitor_out(info: MonitorInfo) -> MonitorOut:
    """The API's view of a monitor."""
    return MonitorOut(
        id=info.id,
        name=info.name,
        target=info.target,
        target_id=info.target_id,
        schedule=info.schedule,
        mode=info.options.get("mode", "safe"),
        tier=info.options.get("tier", "standard"),
        context=info.options.get("context", "general"),
        identities=[i["name"] for i in info.options.get("identities", [])],
        credentials=info.sealed_credentials is not None,
        rules=info.rules,
        enabled=info.enabled,
        next_run_at=utc(info.next_run_at),
        last_run_at=utc(info.last_run_at),
        created_at=utc(info.created_at),
    )


def run_out(info: RunInfo) -> RunOut:
    """The API's view of a run, with the counts of its diff."""
    diff = info.diff or {}
    counted = bool(diff)
    return RunOut(
        id=info.id,
        monitor_id=info.monitor_id,
        scan_id=info.scan_id,
        previous_scan_id=info.previous_scan_id,
        trigger=info.trigger,
        status=info.status,
        reason=info.reason,
        score=info.score,
        grade=info.grade,
        score_change=diff.get("score_change"),
        new_findings=len(diff["new_findings"]) if counted else None,
        resolved=len(diff["resolved"]) if counted else None,
        unchanged=len(diff["unchanged"]) if counted else None,
        events=list(info.events),
        created_at=utc(info.created_at),
        finished_at=utc(info.finished_at),
    )


def run_detail(info: RunInfo) -> RunDetail:
    """A run with its diff."""
    diff = DiffOut.model_validate(info.diff) if info.diff else None
    return RunDetail(**run_out(info).model_dump(), diff=diff)


def create_endpoint(
    svc: Service, org_id: int, body: EndpointCreate
) -> tuple[EndpointInfo, str | None]:
    """Make an endpoint; its secret (json format) is returned this once."""
    svc.lasting_key("a webhook endpoint keeps its URL and secret")
    try:
        Endpoint(id="new", url=body.url)
    except ValidationError:  # the URL is not echoed: a Slack or Teams URL is a secret
        raise Problem(
            422, "url: a webhook URL must be an http:// or https:// URL with a host"
        ) from None
    host = urlsplit(body.url).hostname or ""
    inner = None if svc.settings.allow_private else private_address(host)
    if inner is not None:
        raise Problem(
            422,
            f"the receiver {host} is at a loopback or private address ({inner}); the service "
            "delivers there only when its administrator allows it (middlebrick serve "
            "--allow-private)",
        )
    secret = new_secret() if body.format == "json" else None
    info = svc.repo.add_endpoint(
        org_id,
        name=body.name.strip(),
        origin=Endpoint(id="new", url=body.url).origin(),
        sealed=svc.sealer.seal_value({"url": body.url, "secret": secret}),
        format=body.format,
        events=None if body.events is None else list(body.events),
    )
    return info, secret


def endpoint(svc: Service, org_id: int, endpoint_id: int) -> EndpointInfo:
    """One of the organisation's endpoints; 404 otherwise."""
    found = svc.repo.endpoint(org_id, endpoint_id)
    if found is None:
        raise Problem(404, f"no webhook endpoint {endpoint_id} in your organisation")
    return found


def endpoint_out(info: EndpointInfo) -> EndpointOut:
    """The API's view of an endpoint (its origin, never its URL or secret)."""
    return EndpointOut(
        id=info.id,
        name=info.name,
        origin=info.origin,
        format=info.format,
        events=None if info.events is None else list(info.events),
        failures=info.failures,
        disabled=info.disabled,
        disabled_reason=info.disabled_reason,
        created_at=utc(info.created_at),
    )


def deliveries(svc: Service, org_id: int, endpoint_id: int, limit: int = 50) -> list[Delivery]:
    """The latest deliveries to one of the organisation's endpoints."""
    return svc.repo.deliveries(endpoint(svc, org_id, endpoint_id).id, limit=limit)


def delivery_out(delivery: Delivery) -> DeliveryOut:
    """The API's view of a delivery (not its body)."""
    return DeliveryOut(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        state=delivery.state,
        attempts=delivery.attempts,
        created_at=delivery.created_at,
        resent_from=delivery.resent_from,
    )


def resend(svc: Service, org_id: int, endpoint_id: int, delivery_id: str) -> None:
    """Queue a manual re-send of one of the endpoint's deliveries (it re-enables a disabled
    endpoint when it succeeds)."""
    found = endpoint(svc, org_id, endpoint_id)
    delivery = svc.repo.delivery(delivery_id) if len(delivery_id) <= 40 else None
    if delivery is None or delivery.endpoint_id != str(found.id):
        raise Problem(404, f"no delivery {delivery_id!r} to webhook endpoint {endpoint_id}")
    svc.outbox.resend(found.id, delivery.id)


def domain_list(svc: Service, org_id: int) -> DomainList:
    """The organisation's token and its domains, with how to verify each."""
    token = svc.repo.domain_token(org_id, new_token)
    return DomainList(
        verification_value=token, items=[domain_out(d) for d in svc.repo.domains(org_id)]
    )


def add_domain(svc: Service, org_id: int, name: str) -> DomainInfo:
    """Record a domain to verify."""
    try:
        normal = normalise_domain(name)
    except ValueError as exc:
        raise Problem(422, f"domain: {exc}") from None
    svc.repo.domain_token(org_id, new_token)
    return svc.repo.add_domain(org_id, normal)


async def verify_domain(svc: Service, org_id: int, domain_id: int) -> DomainInfo:
    """Check the domain's TXT record, then its file, for the organisation's token."""
    found = await asyncio.to_thread(svc.repo.domain, org_id, domain_id)
    if found is None:
        raise Problem(404, f"no domain {domain_id} in your organisation")
    token = await asyncio.to_thread(svc.repo.domain_token, org_id, new_token)
    verifier = replace(svc.settings.verifier, allow_private=svc.settings.allow_private)
    result = await verifier.verify(found.name, token)
    checked = await asyncio.to_thread(
        svc.repo.record_check,
        org_id,
        domain_id,
        verified=result.verified,
        method=result.method,
        reason=result.reason,
    )
    assert checked is not None
    return checked


def domain_out(info: DomainInfo) -> DomainOut:
    """The API's view of a domain and how to verify it."""
    host = f"[{info.name}]" if ":" in info.name else info.name
    return DomainOut(
        id=info.id,
        domain=info.name,
        verified=info.verified,
        method=info.method,
        verified_at=utc(info.verified_at),
        checked_at=utc(info.checked_at),
        reason=info.reason,
        txt_record=RECORD_PREFIX + info.name,
        file_url=f"https://{host}{WELL_KNOWN_PATH}",
    )


def _schedule(text: str, anchor: datetime) -> Schedule:
    try:
        return Schedule.parse(text, anchor)
    except ScheduleError as exc:
        raise Problem(422, f"schedule: {exc}") from None
