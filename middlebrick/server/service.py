"""What the API and the dashboard both do: submit, look up, export, diff and follow scans.

Every method takes the organisation the request was authenticated for and passes it to the
repository, so each answer is about that organisation's rows only; another organisation's scan
is "not found", exactly like a scan that does not exist.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, overload

from fastapi import Response
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from middlebrick.auth import header_name, parse_auth
from middlebrick.config import Credential, ScanRequest
from middlebrick.errors import MiddlebrickError
from middlebrick.jobs.monitors import MonitorRunner
from middlebrick.jobs.notify import Outbox
from middlebrick.jobs.policy import TargetPolicy, needs_verified_domain
from middlebrick.jobs.runner import Dispatcher
from middlebrick.render import render_bytes
from middlebrick.report import Report
from middlebrick.report_diff import ReportDiff, diff_reports, render_diff
from middlebrick.server.auth import RateLimiter
from middlebrick.server.problems import Problem
from middlebrick.server.schemas import MAX_SPEC_CHARS, IdentityIn, ScanCreate
from middlebrick.server.settings import ServiceSettings
from middlebrick.store.records import KeyInfo, ScanInfo, now
from middlebrick.store.repository import Repository
from middlebrick.store.sealing import Sealer

__all__ = ["EXPORTS", "Prepared", "Service", "events_response", "report_response", "utc"]

EXPORTS = {
    "json": ("json", "application/json"),
    "sarif": ("sarif", "application/sarif+json"),
    "junit": ("junit", "application/xml"),
    "md": ("markdown", "text/markdown; charset=utf-8"),
    "html": ("html", "text/html; charset=utf-8"),
    "pdf": ("pdf", "application/pdf"),
}
_STREAM_S = 900.0  # longest a progress stream stays open
_POLL_S = 0.5


@overload
def utc(moment: datetime) -> datetime: ...
@overload
def utc(moment: None) -> None: ...
def utc(moment: datetime | None) -> datetime | None:
    """A stored (naive UTC) time as an aware one, for the outside world."""
    return None if moment is None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Prepared:
    """A scan request checked and ready to queue: its options, spec text, sealed credentials."""

    url: str
    options: dict[str, Any]
    spec_text: str | None
    sealed: bytes | None


@dataclass
class Service:
    """The service's state: the store, the sealer of credentials, the dispatcher, the limits,
    and what monitoring needs: the target policy, the monitors' runner, the webhook outbox."""

    repo: Repository
    sealer: Sealer
    dispatcher: Dispatcher
    settings: ServiceSettings
    limiter: RateLimiter
    policy: TargetPolicy
    runner: MonitorRunner
    outbox: Outbox

    def submit(self, org_id: int, body: ScanCreate, *, key: KeyInfo | None = None) -> ScanInfo:
        """Validate, seal the credentials, queue the scan and hand it to a worker."""
        if key is not None:
            used = self.repo.scans_by_key_since(key.id, now() - timedelta(days=1))
            if used >= key.daily_scans:
                raise Problem(
                    429,
                    f"this API key's quota of {key.daily_scans} scans a day is spent; "
                    "wait, or ask for a key with a larger quota",
                    headers={"Retry-After": "3600"},
                )
        ready = self.prepare(org_id, body)
        scan = self.repo.add_scan(
            org_id,
            scan_id=uuid.uuid4().hex,
            url=ready.url,
            key_id=key.id if key else None,
            options=ready.options,
            spec_document=ready.spec_text,
            sealed=ready.sealed,
        )
        self.dispatcher.submit(scan.id)
        return scan

    def prepare(self, org_id: int, body: ScanCreate) -> Prepared:
        """Check a scan request (the engine's rules, then the service's: public addresses,
        verified domains) and seal its credentials."""
        headers = tuple((_header(n), v) for n, v in body.headers.items())
        identities = {i.name: _credential(i) for i in body.identities}
        spec_text = _spec_text(body.spec)
        try:  # the engine's own validation of the URL, identity names and values
            ScanRequest(
                target=body.url,
                spec=body.spec_url,
                headers=headers,
                identities=identities,
                tier=body.tier,
                context=body.context,
                mode=body.mode,
            )
        except (MiddlebrickError, ValidationError) as exc:
            raise Problem(422, _first_error(exc)) from None
        options = {
            "spec_url": body.spec_url,
            "mode": body.mode,
            "tier": body.tier.value,
            "context": body.context.value,
            "threshold": body.threshold,
            "identities": [{"name": i.name, "owns": list(i.owns)} for i in body.identities],
        }
        secret = any(c.headers or c.query for c in identities.values()) or bool(headers)
        needs = needs_verified_domain(options, credentials=secret)
        refusal = self.policy.refusal(
            body.url,
            spec_url=body.spec_url,
            verified=self.repo.verified_domains(org_id) if needs else None,
        )
        if refusal is not None:
            raise Problem(403, refusal)
        sealed = self.sealer.seal(headers, identities) if secret else None
        return Prepared(url=body.url, options=options, spec_text=spec_text, sealed=sealed)

    def lasting_key(self, what: str) -> None:
        """Refuse to keep ``what`` sealed when the sealing key dies with this process."""
        if self.sealer.ephemeral:
            raise Problem(
                409,
                f"{what} sealed with MIDDLEBRICK_SECRET_KEY, which is not set: create one with "
                "`middlebrick keys secret`, set it in the service's environment and restart it",
            )

    def scan(self, org_id: int, scan_id: str) -> ScanInfo:
        """One of the organisation's scans; 404 otherwise."""
        found = self.repo.scan(org_id, scan_id) if _is_id(scan_id) else None
        if found is None:
            raise Problem(404, f"no scan {scan_id!r} in your organisation")
        return found

    def report(self, org_id: int, scan_id: str) -> Report:
        """The report of a completed scan; 404 or 409 otherwise."""
        scan = self.scan(org_id, scan_id)
        report = self.repo.report(org_id, scan_id) if scan.status == "completed" else None
        if report is None:
            raise Problem(
                409, f"scan {scan_id} is {scan.status}; its report exists once it is completed"
            )
        return report

    def export(self, org_id: int, scan_id: str, ext: str) -> tuple[bytes, str, str]:
        """The report in the format of extension ``ext``: (bytes, media type, file name)."""
        if ext not in EXPORTS:
            raise Problem(
                404, f"no report format {ext!r}; use one of: {', '.join(sorted(EXPORTS))}"
            )
        fmt, media = EXPORTS[ext]
        report = self.report(org_id, scan_id)
        try:
            content = render_bytes(report, fmt)
        except MiddlebrickError as exc:  # PDF without Chromium, or Chromium failing
            raise Problem(503, str(exc)) from None
        return content, media, f"middlebrick-{scan_id[:12]}.{ext}"

    def diff(self, org_id: int, old: str, new: str) -> ReportDiff:
        """The changes from the scan ``old`` to the scan ``new``."""
        return diff_reports(self.report(org_id, old), self.report(org_id, new))

    def diff_document(self, org_id: int, old: str, new: str) -> dict[str, Any]:
        """The diff as the API's JSON document."""
        value: dict[str, Any] = json.loads(render_diff(self.diff(org_id, old, new), "json"))
        return value

    async def follow(self, org_id: int, scan_id: str) -> AsyncIterator[str]:
        """Server-sent events of a scan: ``line`` for each progress line, ``progress`` for
        status changes, ``end`` when it is completed or failed."""
        self.scan(org_id, scan_id)
        seen, last = 0, None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STREAM_S
        while loop.time() < deadline:
            lines = await asyncio.to_thread(self.repo.events, org_id, scan_id, after=seen)
            for line in lines:
                seen = line.id
                yield _sse("line", {"id": line.id, "text": line.text})
            scan = await asyncio.to_thread(self.repo.scan, org_id, scan_id)
            if scan is None:
                yield _sse("end", {"status": "deleted"})
                return
            state = {"status": scan.status, "progress": scan.progress, "phase": scan.phase}
            if state != last:
                last = state
                yield _sse("progress", state)
            if scan.status in ("completed", "failed"):
                yield _sse("end", {"status": scan.status, "reason": scan.reason})
                return
            await asyncio.sleep(_POLL_S)
        yield _sse("end", {"status": "timeout"})


def report_response(svc: Service, org_id: int, scan_id: str, ext: str) -> Response:
    """The report as a download, for the API and the dashboard alike."""
    content, media, name = svc.export(org_id, scan_id, ext)
    return Response(
        content,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


def events_response(svc: Service, org_id: int, scan_id: str) -> StreamingResponse:
    """The scan's progress as a server-sent event stream, for the API and the dashboard."""
    svc.scan(org_id, scan_id)
    return StreamingResponse(
        svc.follow(org_id, scan_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store"},
    )


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _is_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def _header(name: str) -> str:
    try:
        return header_name(name)
    except MiddlebrickError as exc:
        raise Problem(422, str(exc)) from None


def _credential(identity: IdentityIn) -> Credential:
    try:
        base = parse_auth(identity.auth) if identity.auth else Credential()
    except MiddlebrickError as exc:
        raise Problem(422, f"identity {identity.name!r}: {exc}") from None
    headers = base.headers + tuple((_header(n), v) for n, v in identity.headers.items())
    query = base.query + tuple(identity.query.items())
    return Credential(headers=headers, query=query)


def _spec_text(spec: str | dict[str, Any] | None) -> str | None:
    if spec is None:
        return None
    text = spec if isinstance(spec, str) else json.dumps(spec)
    if len(text) > MAX_SPEC_CHARS:
        raise Problem(
            413, f"the spec is larger than {MAX_SPEC_CHARS:,} characters; give its spec_url"
        )
    return text


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the request"
        return f"{where}: {first['msg']}"
    return str(exc)
