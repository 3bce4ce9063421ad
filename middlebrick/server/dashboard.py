"""The dashboard: log-in, scans (submit, watch live, findings, exports), targets, diffs.

Pages are Jinja2 templates with autoescaping, so whatever the target sent (titles, evidence) is
text on the page; the Content-Security-Policy lets the page load only this server's own script
and style. Forms carry the session's CSRF token; the session cookie is HttpOnly and
SameSite=Strict.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from middlebrick.auth import parse_identity
from middlebrick.errors import MiddlebrickError
from middlebrick.findings import Severity
from middlebrick.knowledge import categories
from middlebrick.server.auth import (
    COOKIE,
    check_csrf,
    check_password,
    digest,
    new_token,
    session_of,
)
from middlebrick.server.problems import Problem
from middlebrick.server.schemas import IdentityIn, ScanCreate
from middlebrick.server.service import Service, events_response, report_response
from middlebrick.server.trend import trend_points
from middlebrick.store.records import SessionInfo, now

__all__ = ["Svc", "Who", "mount_static", "page", "router", "scan_fields", "sentence"]

_TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
router = APIRouter(include_in_schema=False)


class _LoginNeeded(Exception):
    pass


def _service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


def _session(request: Request, svc: Annotated[Service, Depends(_service)]) -> SessionInfo:
    found = session_of(request, svc.repo)
    if found is None:
        if request.url.path.endswith(("/events",)) or "/report." in request.url.path:
            raise Problem(401, "log in to the dashboard first")
        raise _LoginNeeded()
    return found


Svc = Annotated[Service, Depends(_service)]
Who = Annotated[SessionInfo, Depends(_session)]


def mount_static(app: FastAPI, folder: Path) -> None:
    """Serve the dashboard's script and style, and send a logged-out browser to log in."""
    app.mount("/static", StaticFiles(directory=folder), name="static")

    async def to_login(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    app.add_exception_handler(_LoginNeeded, to_login)


def page(request: Request, name: str, who: SessionInfo | None, **context: Any) -> HTMLResponse:
    """A dashboard page, with the notices of the organisation's disabled webhook endpoints."""
    notices = []
    if who is not None:  # endpoints that kept failing were disabled: say so on every page
        svc: Service = request.app.state.service
        notices = [e for e in svc.repo.endpoints(who.org_id) if e.disabled]
    return _TEMPLATES.TemplateResponse(request, name, {"who": who, "notices": notices, **context})


def scan_fields(
    url: str, spec_url: str, mode: str, tier: str, context: str, identities: str
) -> dict[str, Any]:
    """A scan request from the dashboard's form fields (identities: ``NAME=PROFILE`` lines)."""
    named = [parse_identity(line) for line in identities.splitlines() if line.strip()]
    return {
        "url": url.strip(),
        "spec_url": spec_url.strip() or None,
        "mode": mode,
        "tier": tier,
        "context": context,
        "identities": [
            IdentityIn(name=name, headers=dict(c.headers), query=dict(c.query)) for name, c in named
        ],
    }


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return page(request, "login.html", None, error=None)


@router.post("/login")
def login(
    request: Request,
    svc: Svc,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise Problem(403, "the log-in form was sent from another site; use the dashboard")
    found = svc.repo.password_hash(email.strip().lower())
    if not check_password(password, found[1] if found else None) or found is None:
        return _TEMPLATES.TemplateResponse(
            request,
            "login.html",
            {"who": None, "error": "Wrong e-mail address or password."},
            status_code=401,
        )
    token = new_token()
    expires = now() + timedelta(hours=svc.settings.session_hours)
    svc.repo.add_session(digest(token), found[0], new_token(), expires)
    response = RedirectResponse("/scans", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=svc.settings.session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(
    request: Request, svc: Svc, who: Who, csrf: Annotated[str | None, Form()] = None
) -> Response:
    check_csrf(request, who, csrf)
    svc.repo.end_session(digest(request.cookies.get(COOKIE, "")))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/scans", status_code=303)


@router.get("/scans")
def scans_page(request: Request, svc: Svc, who: Who, error: str | None = None) -> HTMLResponse:
    scans, total = svc.repo.scans(who.org_id, limit=100)
    return page(request, "scans.html", who, scans=scans, total=total, error=error)


@router.post("/scans")
def submit(
    request: Request,
    svc: Svc,
    who: Who,
    url: Annotated[str, Form(max_length=2048)],
    csrf: Annotated[str | None, Form()] = None,
    spec_url: Annotated[str, Form(max_length=2048)] = "",
    mode: Annotated[str, Form()] = "safe",
    tier: Annotated[str, Form()] = "standard",
    context: Annotated[str, Form()] = "general",
    identities: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    check_csrf(request, who, csrf)
    try:
        fields = scan_fields(url, spec_url, mode, tier, context, identities)
        scan = svc.submit(who.org_id, ScanCreate.model_validate(fields))
    except (MiddlebrickError, Problem, ValidationError) as exc:
        return scans_page(request, svc, who, error=sentence(exc))
    return RedirectResponse(f"/scans/{scan.id}", status_code=303)


@router.get("/scans/{scan_id}")
def scan_page(request: Request, scan_id: str, svc: Svc, who: Who) -> HTMLResponse:
    scan = svc.scan(who.org_id, scan_id)
    report = svc.report(who.org_id, scan_id) if scan.status == "completed" else None
    others, _ = svc.repo.scans(who.org_id, target=str(scan.target_id), status="completed")
    return page(
        request,
        "scan.html",
        who,
        scan=scan,
        report=report,
        others=[o for o in others if o.id != scan.id],
        severities=[s.value for s in sorted(Severity, key=lambda s: -s.rank)],
        categories=categories(),
    )


@router.get("/scans/{scan_id}/events")
def scan_events(scan_id: str, svc: Svc, who: Who) -> StreamingResponse:
    return events_response(svc, who.org_id, scan_id)


@router.get("/scans/{scan_id}/report.{ext}")
def export(scan_id: str, ext: str, svc: Svc, who: Who) -> Response:
    return report_response(svc, who.org_id, scan_id, ext)


@router.post("/scans/{scan_id}/delete")
def delete(
    request: Request, scan_id: str, svc: Svc, who: Who, csrf: Annotated[str | None, Form()] = None
) -> Response:
    check_csrf(request, who, csrf)
    svc.scan(who.org_id, scan_id)
    svc.repo.delete_scan(who.org_id, scan_id)
    return RedirectResponse("/scans", status_code=303)


@router.get("/targets")
def targets_page(request: Request, svc: Svc, who: Who) -> HTMLResponse:
    return page(request, "targets.html", who, targets=svc.repo.targets(who.org_id))


@router.get("/targets/{target_id}")
def target_page(request: Request, target_id: int, svc: Svc, who: Who) -> HTMLResponse:
    found = svc.repo.targets(who.org_id, target_id=target_id)
    if not found:
        raise Problem(404, f"no target {target_id} in your organisation")
    scans, _ = svc.repo.scans(who.org_id, target=str(target_id), limit=200)
    return page(
        request,
        "target.html",
        who,
        target=found[0],
        scans=scans,
        trend=trend_points(found[0].history),
    )


@router.get("/diff")
def diff_page(request: Request, old: str, new: str, svc: Svc, who: Who) -> HTMLResponse:
    return page(request, "diff.html", who, diff=svc.diff(who.org_id, old, new))


def sentence(exc: Exception) -> str:
    """A refused form's reason, in one sentence."""
    if isinstance(exc, Problem):
        return exc.detail
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)
