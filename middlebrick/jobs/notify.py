"""What follows the end of a scan: its events, a monitor run's diff, and webhook deliveries.

``scan_ended`` is called by whoever saw a scan end (the in-process pool, the Celery task, the
reaper). It builds ``scan.completed`` or ``scan.failed``; for a monitor's scan it diffs the
report with the target's previous completed scan (``report_diff``), stores the diff on the run,
and adds the ``monitor.*`` events the monitor's alert rules raise (``webhooks.monitor_events``).
Each event then goes to every endpoint of the organisation that subscribed to its type, through
an ``Outbox``: a thread with its own event loop in the embedded service, a Celery task with a
broker. ``deliver`` is the one delivery job both run: the library's ``Deliverer`` over the store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from middlebrick.errors import MiddlebrickError
from middlebrick.report import Report
from middlebrick.report_diff import diff_reports, render_diff
from middlebrick.store._webhooks import DeliveryLog
from middlebrick.store.records import EndpointInfo, MonitorInfo, RunInfo, ScanInfo
from middlebrick.store.repository import Repository
from middlebrick.store.sealing import Sealer
from middlebrick.webhooks import (
    AlertRules,
    Deliverer,
    Endpoint,
    MonitorRef,
    RetryPolicy,
    encode_event,
    monitor_events,
    parse_event,
    scan_completed,
    scan_failed,
)
from middlebrick.webhooks.events import public_target

__all__ = ["InProcessOutbox", "Outbox", "deliver", "open_endpoint", "publish", "scan_ended"]

log = logging.getLogger("middlebrick.jobs")


class Outbox(Protocol):
    """Has deliveries run soon: a new event, or a manual re-send of a logged delivery."""

    def deliver(self, endpoint_id: int, event: str) -> None:
        """Send the event (its JSON) to the endpoint."""

    def resend(self, endpoint_id: int, delivery_id: str) -> None:
        """Send a logged delivery again."""


def publish(repo: Repository, outbox: Outbox, org_id: int, events: Sequence[BaseModel]) -> int:
    """Hand each event to the organisation's endpoints that take its type; how many sends."""
    endpoints = repo.endpoints(org_id) if events else []
    sent = 0
    for event in events:
        body = encode_event(event).decode()
        for endpoint in endpoints:
            if endpoint.takes(str(getattr(event, "type", ""))):
                outbox.deliver(endpoint.id, body)
                sent += 1
    return sent


def scan_ended(repo: Repository, outbox: Outbox, scan_id: str) -> list[str]:
    """Raise the events of a scan that ended; the types raised."""
    scan = repo.scan_of_job(scan_id)
    if scan is None or scan.status not in ("completed", "failed"):
        return []
    report = repo.report(scan.org_id, scan_id) if scan.status == "completed" else None
    events: list[BaseModel] = []
    if report is not None:
        events.append(scan_completed(report))
    else:
        events.append(scan_failed(scan.target, scan.reason or "the scan failed", scan_id=scan_id))
    found = repo.run_of_scan(scan_id)
    if found is not None:
        events += _run_ended(repo, scan, report, *found)
    publish(repo, outbox, scan.org_id, events)
    return [str(getattr(e, "type", "")) for e in events]


def _run_ended(
    repo: Repository, scan: ScanInfo, report: Report | None, run: RunInfo, monitor: MonitorInfo
) -> list[BaseModel]:
    """Store how a monitor's run ended; the ``monitor.*`` events it raises."""
    if report is None:
        repo.end_run(run.id, "failed", reason=scan.reason)
        return []
    previous = repo.previous_scan(scan.org_id, scan.target_id, scan.id)
    old = repo.report(scan.org_id, previous) if previous is not None else None
    if old is None:  # the first completed scan of the target: the baseline of the next runs
        repo.end_run(run.id, "completed")
        return []
    diff = diff_reports(old, report)
    ref = MonitorRef(id=str(monitor.id), name=monitor.name, target=public_target(monitor.target))
    raised = monitor_events(ref, diff, AlertRules.model_validate(monitor.rules))
    repo.end_run(
        run.id,
        "completed",
        previous_scan_id=previous,
        diff=json.loads(render_diff(diff, "json")),
        events=[e.type for e in raised],
    )
    return list(raised)


def open_endpoint(sealer: Sealer, info: EndpointInfo) -> Endpoint:
    """The library's endpoint, its URL and secret opened from their sealed form."""
    value = sealer.open_value(
        info.sealed,
        what=f"the URL and secret of webhook endpoint {info.id}",
        remedy="create the endpoint again",
    )
    return Endpoint(
        id=str(info.id), url=value["url"], secret=value.get("secret"), format=info.format
    )


async def deliver(
    repo: Repository,
    sealer: Sealer,
    endpoint_id: int,
    *,
    event: str | None = None,
    resend: str | None = None,
    allow_private: bool = False,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> str:
    """The delivery job: send ``event`` (or re-send the delivery ``resend``) to the endpoint;
    the delivery's state, or why nothing was sent."""
    info = await asyncio.to_thread(repo.endpoint_for_delivery, endpoint_id)
    if info is None:
        return "gone"
    try:
        endpoint = open_endpoint(sealer, info)
    except MiddlebrickError as exc:
        log.warning("webhook endpoint %s: %s", endpoint_id, exc)
        return "sealed"
    async with Deliverer(
        DeliveryLog(repo), allow_private=allow_private, policy=policy, sleep=sleep
    ) as deliverer:
        if resend is not None:
            return (await deliverer.resend(endpoint, resend)).state
        assert event is not None
        done = await deliverer.deliver(endpoint, parse_event(event))
        return "skipped" if done is None else done.state


class InProcessOutbox:
    """Runs deliveries on one event loop in a thread of the service's own process."""

    def __init__(
        self,
        repo: Repository,
        sealer: Sealer,
        *,
        allow_private: bool = False,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.repo, self.sealer = repo, sealer
        self._options: dict[str, Any] = {"allow_private": allow_private, "policy": policy}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mb-webhooks", daemon=True
        )

    def start(self) -> None:
        """Start the delivery thread."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Give running deliveries ``timeout`` seconds, cancel the rest, end the thread."""
        if not self._thread.is_alive():
            return

        async def drain() -> None:
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            if not tasks:
                return
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(drain(), self._loop).result(timeout + 10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop.close()

    def deliver(self, endpoint_id: int, event: str) -> None:
        """Send the event to the endpoint."""
        self._run(endpoint_id, event=event)

    def resend(self, endpoint_id: int, delivery_id: str) -> None:
        """Send a logged delivery again."""
        self._run(endpoint_id, resend=delivery_id)

    def _run(self, endpoint_id: int, **job: Any) -> None:
        coroutine = _logged(deliver(self.repo, self.sealer, endpoint_id, **job, **self._options))
        if self._loop.is_closed():  # the service is stopping
            coroutine.close()
            log.warning("webhook delivery to endpoint %s dropped: the service stopped", endpoint_id)
            return
        asyncio.run_coroutine_threadsafe(coroutine, self._loop)


async def _logged(job: Awaitable[str]) -> str:
    try:
        return await job
    except Exception:  # a store outage must not end the delivery thread
        log.exception("a webhook delivery could not run")
        return "error"
