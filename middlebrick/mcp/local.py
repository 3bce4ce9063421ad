"""The in-process back-end: scans run by the engine here, reports kept as ``middlebrick results``
keeps them (``middlebrick.saved``), so the CLI can render them again."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass

from pydantic import ValidationError

from middlebrick.config import ScanRequest
from middlebrick.errors import MiddlebrickError, UsageError
from middlebrick.mcp.views import ScanOrder, ScanView
from middlebrick.report import Report
from middlebrick.saved import find_report, reports_dir, save_report

__all__ = ["LocalBackend"]

_HEX = frozenset("0123456789abcdef")


@dataclass
class _Job:
    target: str
    task: asyncio.Task[Report]


class LocalBackend:
    """Runs scans with ``middlebrick.engine.scan`` in this process.

    Safe mode only unless ``allow_active``: the person who starts the server decides whether an
    assistant may send write methods, never the assistant.
    """

    def __init__(self, *, allow_active: bool = False) -> None:
        self.allow_active = allow_active
        self._jobs: dict[str, _Job] = {}

    async def submit(self, order: ScanOrder) -> ScanView:
        """Start the scan in the background; its view carries the id the report will have."""
        if order.mode == "active" and not self.allow_active:
            raise UsageError(
                "active mode is off for this MCP server: scan in safe mode, or ask the user to "
                "start `middlebrick mcp --allow-active` for a staging target they own"
            )
        if order.spec_url is not None and not order.spec_url.startswith(("http://", "https://")):
            raise UsageError("spec_url must be an http(s) URL of an OpenAPI or Swagger document")
        try:
            request = ScanRequest.model_validate(
                {
                    "target": order.url,
                    "spec": order.spec_url,
                    "context": order.context,
                    "mode": order.mode,
                }
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            raise UsageError(f"invalid {first['loc'][0]}: {first['msg']}") from None
        scan_id = uuid.uuid4().hex
        task = asyncio.create_task(self._run(scan_id, request))
        self._jobs[scan_id] = _Job(target=order.url, task=task)
        return ScanView(id=scan_id, status="running", target=order.url, mode=order.mode)

    async def get(self, scan_id: str) -> ScanView:
        """A scan of this process, else a kept report (id or unique prefix)."""
        job = self._jobs.get(scan_id)
        if job is not None:
            return self._view(scan_id, job)
        if len(scan_id) < 4 or not set(scan_id) <= _HEX:
            raise UsageError(f"no scan {scan_id!r}: give the id scan_api or list_scans returned")
        return ScanView.from_report(find_report(scan_id))

    async def wait(self, scan_id: str, timeout: float) -> ScanView:
        """The scan once ended, or as it is after ``timeout`` seconds."""
        job = self._jobs.get(scan_id)
        if job is not None:
            await asyncio.wait({job.task}, timeout=timeout)
        return await self.get(scan_id)

    async def list(self, limit: int, status: str | None) -> list[ScanView]:
        """Running and failed scans of this process, then kept reports, newest first."""
        views = [self._view(scan_id, job) for scan_id, job in reversed(self._jobs.items())]
        views = [v for v in views if v.status != "completed"]  # completed ones are kept on disk
        views = [v for v in views if status is None or v.status == status]
        if status in (None, "completed"):
            folder = reports_dir()
            files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
            for path in files:
                if len(views) >= limit:
                    break
                try:
                    report = Report.model_validate(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError):
                    continue  # not a report this version reads
                views.append(ScanView.from_report(report))
        return views[:limit]

    async def aclose(self) -> None:
        """Cancel the scans still running."""
        for job in self._jobs.values():
            job.task.cancel()
        await asyncio.gather(*(job.task for job in self._jobs.values()), return_exceptions=True)

    @staticmethod
    async def _run(scan_id: str, request: ScanRequest) -> Report:
        from middlebrick.engine import scan

        report = (await scan(request)).model_copy(update={"scan_id": scan_id})
        save_report(report)
        return report

    @staticmethod
    def _view(scan_id: str, job: _Job) -> ScanView:
        task = job.task
        if not task.done():
            return ScanView(id=scan_id, status="running", target=job.target)
        if task.cancelled():
            return ScanView(id=scan_id, status="failed", target=job.target, error="cancelled")
        exc = task.exception()
        if exc is None:
            return ScanView.from_report(task.result(), scan_id=scan_id)
        reason = str(exc) if isinstance(exc, MiddlebrickError) else f"internal error: {exc!r}"
        return ScanView(id=scan_id, status="failed", target=job.target, error=reason)
