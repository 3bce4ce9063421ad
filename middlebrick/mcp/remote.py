"""The remote back-end: a thin client of a middlebrick service's REST API (``/api/v1``).

``POST /scans`` starts a scan (202 with ``{id, status}``), ``GET /scans/{id}`` gives its status,
score and findings, ``GET /scans?status=&limit=`` lists scans. A completed scan is read from its
``GET /scans/{id}/report.json`` (evidence and remediation included) when the service serves it,
else from its status answer. The API key goes in ``X-API-Key``
to the server's own origin only: redirects are not followed, and no error message shows the key.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from middlebrick import __version__
from middlebrick.errors import TargetUnreachable, UsageError
from middlebrick.mcp.views import ScanOrder, ScanView
from middlebrick.report import Report

__all__ = ["RemoteBackend"]

_MAX_BODY = 32 * 1024 * 1024
_REPORT_TRIES = 2  # a completed scan's report.json, read again once before giving up


class RemoteBackend:
    """Scans run and kept by the middlebrick service at ``server``."""

    def __init__(
        self, server: str, api_key: str, *, timeout: float = 30.0, poll: float = 2.0
    ) -> None:
        parts = urlsplit(server)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError("--server must be the http(s) URL of a middlebrick service")
        if not api_key:
            raise UsageError("--server needs an API key: --api-key or MIDDLEBRICK_API_KEY")
        self.base = server.rstrip("/") + "/api/v1"
        self._key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._poll = poll

    async def submit(self, order: ScanOrder) -> ScanView:
        """``POST /scans``; the view of the queued scan."""
        payload = {k: v for k, v in order.model_dump(mode="json").items() if v is not None}
        body = await self._call("POST", "/scans", json_body=payload)
        if not isinstance(body, dict) or "id" not in body:
            raise UsageError("the middlebrick server answered POST /scans without a scan id")
        return ScanView.model_validate({"target": order.url, "mode": order.mode, **body})

    async def get(self, scan_id: str) -> ScanView:
        """``GET /scans/{id}``, and its ``report.json`` once completed."""
        path = f"/scans/{quote(scan_id, safe='')}"
        view = ScanView.model_validate(await self._call("GET", path, missing=scan_id))
        if view.status != "completed":
            return view
        why = ""
        for attempt in range(_REPORT_TRIES):
            try:
                report = Report.model_validate(await self._call("GET", f"{path}/report.json"))
            except (UsageError, ValueError) as exc:  # no report route, or not one this reads
                why = str(exc).splitlines()[0]
                if attempt + 1 < _REPORT_TRIES:
                    await asyncio.sleep(self._poll)
                continue
            return ScanView.from_report(report, scan_id=view.id)
        note = f"the full report (evidence, fixes) could not be read: {why}"
        return view.model_copy(update={"notes": [*view.notes, note]})

    async def wait(self, scan_id: str, timeout: float) -> ScanView:
        """Poll ``GET /scans/{id}`` until the scan ends or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        view = await self.get(scan_id)
        while not view.done and time.monotonic() + self._poll < deadline:
            await asyncio.sleep(self._poll)
            view = await self.get(scan_id)
        return view

    async def list(self, limit: int, status: str | None) -> list[ScanView]:
        """``GET /scans?limit=&status=``."""
        query = f"?limit={limit}" + (f"&status={quote(status)}" if status else "")
        body = await self._call("GET", f"/scans{query}")
        items = body
        if isinstance(body, dict):  # a page: {"items": […]} or {"scans": […]}
            items = body.get("items", body.get("scans", body.get("results", [])))
        if not isinstance(items, list):
            raise UsageError("the middlebrick server answered GET /scans without a list")
        return [ScanView.model_validate(item) for item in items][:limit]

    async def _call(
        self, method: str, path: str, *, json_body: Any = None, missing: str | None = None
    ) -> Any:
        headers = {
            "X-API-Key": self._key,
            "Accept": "application/json",
            "User-Agent": f"middlebrick-mcp/{__version__}",
        }
        try:
            async with (
                aiohttp.ClientSession(
                    timeout=self._timeout, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
                ) as session,
                session.request(
                    method, self.base + path, json=json_body, headers=headers, allow_redirects=False
                ) as resp,
            ):
                raw = await resp.content.read(_MAX_BODY + 1)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TargetUnreachable(
                f"cannot reach the middlebrick server at {self.base} ({type(exc).__name__}); "
                "check --server and that the service is running"
            ) from None
        if len(raw) > _MAX_BODY:
            raise UsageError(f"the middlebrick server's answer to {method} {path} is too large")
        if status in (401, 403):
            raise UsageError(
                f"the middlebrick server refused the API key (HTTP {status}); check --api-key"
            )
        if status == 404 and missing is not None:
            raise UsageError(f"no scan {missing!r} on the middlebrick server")
        if not 200 <= status < 300:
            raise UsageError(
                f"the middlebrick server answered {method} {path} with HTTP {status}"
                + _problem(raw)
            )
        try:
            return json.loads(raw)
        except ValueError:
            raise UsageError(
                f"the middlebrick server answered {method} {path} with something not JSON"
            ) from None


def _problem(raw: bytes) -> str:
    """``: detail`` of an ``application/problem+json`` answer, if it has one."""
    try:
        detail = json.loads(raw).get("detail")
    except (ValueError, AttributeError):
        return ""
    return f": {str(detail)[:300]}" if isinstance(detail, str) and detail else ""
