"""Debug modes on recorded answers: Werkzeug console, Django technical 404, Starlette tracebacks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from middlebrick.findings import Finding, Severity
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

CHECK = "input_validation.debug_mode"
GENERIC_404 = response(404, {"error": "not found"})
SEARCH = Operation(method="GET", path="/search", parameters=(Parameter("limit", "query"),))


def _wants_html(request: Request) -> bool:
    return "text/html" in (request.headers.get("Accept") or "")


def werkzeug(request: Request) -> Response:
    """An app under Werkzeug's debugger with its console."""
    parts = urlsplit(request.url)
    if parts.path == "/console":
        return response(200, "<!doctype html><title>Console // Werkzeug Debugger</title>")
    if "__debugger__=yes" in parts.query:
        return response(200, "docReady(() => { if (!EVALEX_TRUSTED) { initPinBox(); } })")
    if parts.path == "/search":
        return response(200, {"items": []})
    return GENERIC_404


def django_debug(request: Request) -> Response:
    """DEBUG = True: unknown paths get the technical 404 page."""
    if urlsplit(request.url).path == "/search":
        return response(200, {"items": []})
    return response(
        404,
        "<title>Page not found at /x</title>Using the URLconf defined in <code>app.urls</code>, "
        "Django tried these URL patterns. You’re seeing this error because you have "
        "<code>DEBUG = True</code> in your Django settings file.",
        {"Content-Type": "text/html"},
    )


def starlette(*, debug: bool) -> Any:
    """``int(limit)`` fails; with debug on, the traceback page shows to ``Accept: text/html``."""

    def answer(request: Request) -> Response:
        parts = urlsplit(request.url)
        if parts.path != "/search":
            return GENERIC_404
        limit = dict(parse_qsl(parts.query)).get("limit", "10")
        if limit.isdigit():
            return response(200, {"items": []})
        if not debug:
            return response(500, "Internal Server Error", {"Content-Type": "text/plain"})
        if _wants_html(request):
            return response(
                500, "<html><head><title>Starlette Debugger</title></head><h1>500</h1></html>"
            )
        return response(500, "Traceback (most recent call last):\n  ValueError", {})

    return answer


async def _run(sender: Any) -> list[Finding]:
    pairs = [(SEARCH, exchange("GET", "/search", sender.answer(Request("GET", BASE + "/search"))))]
    root = exchange("GET", "/", sender.answer(Request("GET", BASE + "/")))
    return await run_check(CHECK, baseline=make_baseline(pairs, root=root), sender=sender)


async def test_debug_mode_reports_the_werkzeug_console_as_critical(api: Any) -> None:
    found = await _run(api(werkzeug))

    assert [(f.type_id, f.operation, f.severity) for f in found] == [
        ("input_validation.debug-mode", "*", Severity.critical)
    ]
    assert [e.label for e in found[0].evidence] == ["baseline", "probe", "control"]


async def test_debug_mode_reports_the_werkzeug_debugger_script_without_console(api: Any) -> None:
    def no_console(request: Request) -> Response:
        if urlsplit(request.url).path == "/console":
            return GENERIC_404
        return werkzeug(request)

    found = await _run(api(no_console))

    assert [(f.type_id, f.severity) for f in found] == [
        ("input_validation.debug-mode", Severity.high)
    ]
    assert "__debugger__" in found[0].detail


async def test_debug_mode_reports_django_technical_404(api: Any) -> None:
    found = await _run(api(django_debug))

    assert [f.type_id for f in found] == ["input_validation.debug-mode"]
    assert "DEBUG = True" in found[0].detail


async def test_debug_mode_reports_starlette_traceback_shown_to_html_clients(api: Any) -> None:
    sender = api(starlette(debug=True))

    found = await _run(sender)

    assert [f.type_id for f in found] == ["input_validation.debug-mode"]
    assert [e.label for e in found[0].evidence] == ["baseline", "provoked error", "as HTML"]
    assert "Starlette Debugger" in found[0].detail


async def test_debug_mode_stays_quiet_when_errors_are_generic(api: Any) -> None:
    sender = api(starlette(debug=False))

    found = await _run(sender)

    assert found == []
    assert len(sender.sent) <= 4 + 12
