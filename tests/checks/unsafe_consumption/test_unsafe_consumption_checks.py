"""Unsafe consumption checks on fake targets: redirects, relayed pages and callbacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import aiohttp

from middlebrick.checks.unsafe_consumption.core import OFF_SCOPE
from middlebrick.config import Mode, ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

REMOTE = "https://api.example.test"
GO = Operation(method="GET", path="/go", parameters=(Parameter("next", "query"),))
FETCH = Operation(method="GET", path="/fetch", parameters=(Parameter("url", "query"),))
HOOKS = Operation(
    method="POST",
    path="/hooks",
    request_body=RequestBody(
        "application/json",
        {
            "type": "object",
            "required": ["callback_url"],
            "properties": {
                "callback_url": {"type": "string", "example": "https://hooks.example.test/x"},
                "event": {"type": "string", "enum": ["created"]},
            },
        },
    ),
)


def _query(request: Request, name: str) -> str:
    return parse_qs(urlsplit(request.url).query).get(name, [""])[0]


async def _run(
    name: str,
    sender: FakeSender,
    operations: tuple[Operation, ...],
    *,
    target: str = BASE,
    mode: Mode = "safe",
) -> list[Finding]:
    pairs = [
        (op, exchange("GET", op.path, response(200, {"ok": True}), base=target))
        for op in operations
        if op.method == "GET"
    ]
    return await run_check(
        name,
        baseline=make_baseline(pairs),
        sender=sender,
        scan=ScanRequest(target=target, mode=mode),
        surface=Surface(base_url=target, operations=operations),
    )


def _redirecting(location: Callable[[str], str]) -> FakeSender:
    def go(request: Request) -> Response:
        return response(302, b"", {"Location": location(_query(request, "next"))})

    return FakeSender({("GET", "/go"): go})


# --- open redirects -----------------------------------------------------------------------------


async def test_open_redirects_check_reports_any_absolute_url_becoming_the_location() -> None:
    sender = _redirecting(lambda target: target)

    found = await _run("unsafe_consumption.open_redirects", sender, (GO,))

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("unsafe_consumption.open-redirect", "next", Confidence.confirmed)
    ]
    assert f"Location 'http://{OFF_SCOPE}/" in found[0].detail
    assert len(sender.sent) == 1


async def test_open_redirects_check_reports_a_protocol_relative_bypass() -> None:
    def same_site_only_by_prefix(target: str) -> str:
        return target if target.startswith("/") else "/"

    sender = _redirecting(same_site_only_by_prefix)

    found = await _run("unsafe_consumption.open_redirects", sender, (GO,))

    assert [f.type_id for f in found] == ["unsafe_consumption.open-redirect"]
    assert f"next=//{OFF_SCOPE}/" in found[0].detail
    assert len(sender.sent) == 2


async def test_open_redirects_check_reads_backslashes_as_browsers_do() -> None:
    sender = _redirecting(lambda target: "/\\" + target.removeprefix("http://"))

    found = await _run("unsafe_consumption.open_redirects", sender, (GO,))

    assert [f.type_id for f in found] == ["unsafe_consumption.open-redirect"]


async def test_open_redirects_check_reports_a_refresh_header_to_any_site() -> None:
    def refresh(request: Request) -> Response:
        return response(200, "<p>moving on</p>", {"Refresh": f"0; url={_query(request, 'next')}"})

    found = await _run(
        "unsafe_consumption.open_redirects", FakeSender({("GET", "/go"): refresh}), (GO,)
    )

    assert [f.type_id for f in found] == ["unsafe_consumption.open-redirect"]
    assert "answer 200 with Refresh" in found[0].detail


async def test_open_redirects_check_stays_quiet_when_only_relative_paths_are_followed() -> None:
    def relative(target: str) -> str:
        return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"

    found = await _run("unsafe_consumption.open_redirects", _redirecting(relative), (GO,))

    assert found == []


async def test_open_redirects_check_stays_quiet_when_the_location_is_another_fixed_site() -> None:
    sender = _redirecting(lambda target: f"http://{OFF_SCOPE}/login")

    assert await _run("unsafe_consumption.open_redirects", sender, (GO,)) == []


# --- relayed content ----------------------------------------------------------------------------


def _relay(content_type: str | None = None) -> FakeSender:
    class _Relay(FakeSender):
        async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
            self.sent.append(request)
            async with (
                aiohttp.ClientSession() as session,
                session.get(_query(request, "url")) as fetched,
            ):
                body = await fetched.read()
                kind = content_type or fetched.headers["Content-Type"]
            if kind == "application/json":
                return Exchange(request, response(200, {"preview": body.decode()}))
            return Exchange(request, response(200, body, {"Content-Type": kind}))

    return _Relay()


async def test_relayed_content_check_reports_a_page_relayed_as_html() -> None:
    found = await _run("unsafe_consumption.relayed_content", _relay(), (FETCH,))

    assert [(f.type_id, f.parameter, f.severity) for f in found] == [
        ("unsafe_consumption.unsanitised-relay", "url", Severity.high)
    ]
    assert [e.label for e in found[0].evidence] == ["probe", "canary hit"]
    assert found[0].evidence[0].match is not None and "<script>" in found[0].evidence[0].match


async def test_relayed_content_check_reports_a_script_inside_json_as_medium() -> None:
    found = await _run("unsafe_consumption.relayed_content", _relay("application/json"), (FETCH,))

    assert [(f.type_id, f.severity) for f in found] == [
        ("unsafe_consumption.unsanitised-relay", Severity.medium)
    ]


async def test_relayed_content_check_stays_quiet_when_the_relay_is_plain_text() -> None:
    found = await _run("unsafe_consumption.relayed_content", _relay("text/plain"), (FETCH,))

    assert found == []


async def test_relayed_content_check_sends_nothing_to_a_remote_target() -> None:
    sender = FakeSender()

    found = await _run("unsafe_consumption.relayed_content", sender, (FETCH,), target=REMOTE)

    assert found == [] and sender.sent == []


# --- callbacks ----------------------------------------------------------------------------------


class _Hooks(FakeSender):
    """``POST /hooks`` calls the registered callback at once when ``calls``."""

    def __init__(self, *, calls: bool) -> None:
        super().__init__()
        self.calls = calls

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        self.sent.append(request)
        body = json.loads(request.body or b"{}")
        if not self.calls:
            return Exchange(request, response(400, {"error": "callback host not allowed"}))
        async with (
            aiohttp.ClientSession() as session,
            session.post(body["callback_url"], json={"event": "ping"}) as delivered,
        ):
            delivered.raise_for_status()
        return Exchange(request, response(201, {"id": "h-1"}))


async def test_callback_parameters_check_lists_callback_fields_as_info() -> None:
    sender = FakeSender()

    found = await _run("unsafe_consumption.callback_parameters", sender, (HOOKS,))

    assert [(f.type_id, f.operation, f.parameter, f.severity) for f in found] == [
        ("unsafe_consumption.callback-url-parameter", "POST /hooks", "callback_url", Severity.info)
    ]
    assert sender.sent == []


async def test_callback_deliveries_check_confirms_a_callback_the_canary_receives() -> None:
    sender = _Hooks(calls=True)

    found = await _run("unsafe_consumption.callback_deliveries", sender, (HOOKS,), mode="active")

    assert [(f.type_id, f.parameter, f.severity, f.confidence) for f in found] == [
        (
            "unsafe_consumption.callback-url-parameter",
            "callback_url",
            Severity.medium,
            Confidence.confirmed,
        )
    ]
    assert "canary received POST /mb/" in found[0].detail
    sent = sender.sent[0]
    assert sent.method == "POST" and sent.headers.get("Content-Type") == "application/json"


async def test_callback_deliveries_check_stays_quiet_when_the_callback_is_refused() -> None:
    found = await _run(
        "unsafe_consumption.callback_deliveries", _Hooks(calls=False), (HOOKS,), mode="active"
    )

    assert found == []
