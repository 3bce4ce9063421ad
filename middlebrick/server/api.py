"""The REST API under ``/api/v1``: scans, their reports and diffs, targets and their history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from middlebrick.server.auth import Caller, api_caller
from middlebrick.server.problems import MEDIA_TYPE
from middlebrick.server.schemas import (
    CategoryOut,
    CoverageOut,
    DiffOut,
    FindingOut,
    HistoryOut,
    ScanAccepted,
    ScanCreate,
    ScanOut,
    ScanPage,
    ScanSummary,
    TargetList,
    TargetOut,
)
from middlebrick.server.service import Service, events_response, report_response, utc
from middlebrick.store.records import ScanInfo, ScanStatus

__all__ = ["router", "scan_out"]

_PROBLEM: dict[str, object] = {
    "content": {MEDIA_TYPE: {}},
    "description": "a problem document (RFC 9457)",
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _PROBLEM,
    404: _PROBLEM,
    409: _PROBLEM,
    422: _PROBLEM,
    429: _PROBLEM,
}


def service(request: Request) -> Service:
    """The running service."""
    found: Service = request.app.state.service
    return found


def caller(request: Request, svc: Annotated[Service, Depends(service)]) -> Caller:
    """The authenticated API caller (401 without a live key, 429 over its rate limit)."""
    return api_caller(request, svc.repo, svc.limiter)


Svc = Annotated[Service, Depends(service)]
Who = Annotated[Caller, Depends(caller)]

router = APIRouter(prefix="/api/v1", responses=_ERRORS)


@router.post("/scans", status_code=202, response_model=ScanAccepted, tags=["scans"])
def create_scan(body: ScanCreate, svc: Svc, who: Who) -> ScanAccepted:
    """Queue a scan; follow it with ``GET /scans/{id}``."""
    scan = svc.submit(who.org_id, body, key=who.key)
    return ScanAccepted(id=scan.id, status=scan.status)


@router.get("/scans", response_model=ScanPage, tags=["scans"])
def list_scans(
    svc: Svc,
    who: Who,
    target: Annotated[str | None, Query(max_length=2048, description="target id or URL")] = None,
    status: ScanStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ScanPage:
    """Your organisation's scans, newest first."""
    scans, total = svc.repo.scans(
        who.org_id, target=target, status=status, limit=limit, offset=offset
    )
    return ScanPage(items=[_summary(s) for s in scans], total=total, limit=limit, offset=offset)


@router.get("/scans/{scan_id}", response_model=ScanOut, tags=["scans"])
def get_scan(scan_id: str, svc: Svc, who: Who) -> ScanOut:
    """A scan's status, progress, score, grade, coverage, category scores and findings."""
    return scan_out(svc, who.org_id, svc.scan(who.org_id, scan_id))


@router.delete("/scans/{scan_id}", status_code=204, tags=["scans"])
def delete_scan(scan_id: str, svc: Svc, who: Who) -> Response:
    """Delete a scan and its report (a running scan is stopped)."""
    svc.scan(who.org_id, scan_id)
    svc.repo.delete_scan(who.org_id, scan_id)
    return Response(status_code=204)


@router.get(
    "/scans/{scan_id}/report.{ext}",
    tags=["reports"],
    responses={200: {"content": {"application/json": {}, "application/pdf": {}}}},
)
def get_report(scan_id: str, ext: str, svc: Svc, who: Who) -> Response:
    """The report as ``json``, ``sarif``, ``junit``, ``md``, ``html`` or ``pdf``."""
    return report_response(svc, who.org_id, scan_id, ext)


@router.get("/scans/{old}/diff/{new}", response_model=DiffOut, tags=["reports"])
def diff_scans(old: str, new: str, svc: Svc, who: Who) -> DiffOut:
    """New, resolved and unchanged findings from scan ``old`` to scan ``new``."""
    return DiffOut.model_validate(svc.diff_document(who.org_id, old, new))


@router.get(
    "/scans/{scan_id}/events",
    tags=["scans"],
    responses={200: {"content": {"text/event-stream": {}}}},
)
def scan_events(scan_id: str, svc: Svc, who: Who) -> StreamingResponse:
    """The scan's progress as server-sent events (``line``, ``progress``, ``end``)."""
    return events_response(svc, who.org_id, scan_id)


@router.get("/targets", response_model=TargetList, tags=["targets"])
def list_targets(svc: Svc, who: Who) -> TargetList:
    """Your organisation's targets with the score of each completed scan, oldest first."""
    return TargetList(
        items=[
            TargetOut(
                id=t.id,
                url=t.url,
                created_at=utc(t.created_at),
                history=[
                    HistoryOut(
                        scan_id=h.scan_id,
                        finished_at=utc(h.finished_at),
                        score=h.score,
                        grade=h.grade,
                    )
                    for h in t.history
                ],
            )
            for t in svc.repo.targets(who.org_id)
        ]
    )


def _summary(scan: ScanInfo) -> ScanSummary:
    return ScanSummary(
        id=scan.id,
        status=scan.status,
        target=scan.target,
        target_id=scan.target_id,
        score=scan.score,
        grade=scan.grade,
        progress=scan.progress,
        created_at=utc(scan.created_at),
        finished_at=utc(scan.finished_at),
    )


def scan_out(svc: Service, org_id: int, scan: ScanInfo) -> ScanOut:
    """The API's view of one scan."""
    summary = scan.summary or {}
    threshold = scan.options.get("threshold")
    findings = svc.repo.findings(org_id, scan.id) if scan.status == "completed" else []
    return ScanOut(
        **_summary(scan).model_dump(),
        mode=scan.options.get("mode", "safe"),
        tier=scan.options.get("tier", "standard"),
        context=scan.options.get("context", "general"),
        identities=[i["name"] for i in scan.options.get("identities", [])],
        threshold=threshold,
        passed=_passed(threshold, scan.score, summary),
        phase=scan.phase,
        reason=scan.reason,
        failure=scan.failure,
        coverage=CoverageOut(**summary["coverage"]) if "coverage" in summary else None,
        categories=(
            {k: CategoryOut(**v) for k, v in summary["categories"].items()}
            if "categories" in summary
            else None
        ),
        severities=summary.get("severities"),
        findings=[FindingOut(**vars(f)) for f in findings],
        started_at=utc(scan.started_at),
    )


def _passed(threshold: int | None, score: int | None, summary: dict[str, Any]) -> bool | None:
    """Whether the scan passes its threshold: an incomplete scan never does (as in the CLI)."""
    if threshold is None:
        return None
    if summary.get("coverage", {}).get("complete") is False:
        return False
    return None if score is None else score >= threshold
