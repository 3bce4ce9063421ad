"""Methods on recorded answers: TRACE advertised or echoed, method-override headers obeyed."""

from __future__ import annotations

from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

ITEMS = Operation(method="GET", path="/items")
ACTIVE = ScanRequest(target=BASE, mode="active")
OVERRIDE = "X-HTTP-Method-Override"


def server(
    *, allow: str = "GET, HEAD, OPTIONS", trace: bool = False, override: bool = False
) -> Any:
    """A server with an ``Allow`` list, optionally echoing TRACE and obeying override headers."""

    def answer(request: Request) -> Response:
        method = request.method
        if override and request.headers.get(OVERRIDE):
            method = request.headers.get(OVERRIDE) or method
        if method == "OPTIONS":
            return response(200, b"", {"Allow": allow})
        if method == "TRACE":
            if not trace:
                return response(405, {"error": "method not allowed"}, {"Allow": allow})
            echoed = f"TRACE / HTTP/1.1\r\nX-Mbzq-Trace: {request.headers.get('X-Mbzq-Trace')}"
            return response(200, echoed, {"Content-Type": "message/http"})
        if method == "POST":
            return response(405, {"error": "method not allowed"}, {"Allow": allow})
        return response(200, [{"id": 1}])

    return answer


async def _run(check: str, sender: Any, scan: ScanRequest | None = None) -> list[Finding]:
    pairs = [(ITEMS, exchange("GET", "/items", sender.answer(Request("GET", BASE + "/items"))))]
    root = exchange("GET", "/", sender.answer(Request("GET", BASE + "/")))
    return await run_check(
        f"input_validation.{check}",
        baseline=make_baseline(pairs, root=root),
        sender=sender,
        scan=scan,
    )


async def test_dangerous_methods_reports_trace_in_allow(api: Any) -> None:
    found = await _run("dangerous_methods", api(server(allow="GET, HEAD, OPTIONS, TRACE")))

    assert [(f.type_id, f.confidence) for f in found] == [
        ("input_validation.dangerous-method", Confidence.firm)
    ]
    assert "TRACE" in found[0].detail


async def test_dangerous_methods_reports_an_echoing_trace_in_active_mode(api: Any) -> None:
    sender = api(server(trace=True))

    found = await _run("dangerous_methods", sender, ACTIVE)

    assert [(f.type_id, f.confidence) for f in found] == [
        ("input_validation.dangerous-method", Confidence.confirmed)
    ]
    assert "TRACE" in {request.method for request in sender.sent}


async def test_dangerous_methods_stays_quiet_when_safe_mode_forbids_trace(api: Any) -> None:
    sender = api(server(trace=True))

    found = await _run("dangerous_methods", sender)

    assert found == []
    assert {request.method for request in sender.sent} == {"OPTIONS"}


async def test_method_override_reports_a_get_answered_as_options(api: Any) -> None:
    found = await _run("method_override", api(server(override=True)))

    assert [(f.type_id, f.confidence) for f in found] == [
        ("input_validation.method-override", Confidence.confirmed)
    ]
    assert [e.label for e in found[0].evidence] == ["baseline", "probe", "control"]


async def test_method_override_reports_a_post_run_as_get_in_active_mode(api: Any) -> None:
    def post_only_override(request: Request) -> Response:
        if request.method == "GET":
            return server()(request)  # GET ignores the headers
        return server(override=True)(request)

    found = await _run("method_override", api(post_only_override), ACTIVE)

    assert [f.type_id for f in found] == ["input_validation.method-override"]
    assert found[0].evidence[1].request.method == "POST"


async def test_method_override_stays_quiet_when_headers_are_ignored(api: Any) -> None:
    assert await _run("method_override", api(server()), ACTIVE) == []
