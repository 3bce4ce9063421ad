"""SSRF checks on fake targets: a real canary hit, refusals, remote targets, what is not probed."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import aiohttp

from middlebrick.checks.ssrf.core import METADATA_URL
from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

REMOTE = "https://api.example.test"
PREVIEW = Operation(
    method="GET",
    path="/preview",
    parameters=(
        Parameter("url", "query", examples=("https://images.example.test/a.png",)),
        Parameter("size", "query", schema={"type": "integer"}),
    ),
)
METADATA = "ami-id\nami-launch-index\nami-manifest-path\nhostname\niam/\ninstance-id\n"


class _Fetcher(FakeSender):
    """``/preview?url=`` really fetches loopback URLs when ``fetches``, else answers ``refuse``."""

    def __init__(
        self, *, fetches: bool = True, refuse: Callable[[str], Response] | None = None
    ) -> None:
        super().__init__()
        self.fetches = fetches
        self.refuse = refuse or (lambda url: response(400, {"error": "host not allowed"}))

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        self.sent.append(request)
        url = parse_qs(urlsplit(request.url).query).get("url", [""])[0]
        host = urlsplit(url).hostname or ""
        if not self.fetches or not ipaddress.ip_address(host or "0.0.0.0").is_loopback:
            return Exchange(request, self.refuse(url))
        async with aiohttp.ClientSession() as session, session.get(url) as fetched:
            body = await fetched.read()
            kind = fetched.headers.get("Content-Type", "application/octet-stream")
        return Exchange(request, response(200, body, {"Content-Type": kind}))


async def _url_parameters(
    sender: FakeSender, *, target: str = BASE, operations: tuple[Operation, ...] = (PREVIEW,)
) -> list[Finding]:
    pairs = [
        (op, exchange("GET", op.path, response(400, {"error": "bad"}), base=target))
        for op in operations
        if op.method == "GET"
    ]
    return await run_check(
        "ssrf.url_parameters",
        baseline=make_baseline(pairs),
        sender=sender,
        scan=ScanRequest(target=target),
        surface=Surface(base_url=target, operations=operations),
    )


def _summary(found: list[Finding]) -> list[tuple[str, str | None, Severity, Confidence]]:
    return [(f.type_id, f.parameter, f.severity, f.confidence) for f in found]


async def test_url_parameters_check_confirms_a_fetch_seen_by_the_canary() -> None:
    sender = _Fetcher()

    found = await _url_parameters(sender)

    assert _summary(found) == [
        ("ssrf.confirmed-fetch", "url", Severity.high, Confidence.confirmed),
        ("ssrf.url-parameter", "url", Severity.medium, Confidence.confirmed),
    ]
    assert "the scanner's canary received GET /mb/" in found[0].detail
    assert "the response carried the canary's answer" in found[0].detail
    assert [e.label for e in found[0].evidence] == ["probe", "canary hit"]
    assert len(sender.sent) == 1  # `size` is a number, not a URL


async def test_url_parameters_check_reports_info_when_the_server_refuses_the_canary() -> None:
    found = await _url_parameters(_Fetcher(fetches=False))

    assert _summary(found) == [("ssrf.url-parameter", "url", Severity.info, Confidence.tentative)]
    assert "refused it, as an allow-list would" in found[0].detail


async def test_url_parameters_check_reports_a_connection_attempt_from_its_error_text() -> None:
    def refused(url: str) -> Response:
        return response(502, {"detail": "fetch failed: [Errno 111] Connection refused"})

    found = await _url_parameters(_Fetcher(fetches=False, refuse=refused), target=REMOTE)

    assert _summary(found) == [("ssrf.url-parameter", "url", Severity.medium, Confidence.firm)]
    assert "the server tried to connect" in found[0].detail


async def test_url_parameters_check_reports_cloud_metadata_relayed_by_a_remote_target() -> None:
    def metadata(url: str) -> Response:
        if url == METADATA_URL:
            return response(200, METADATA, {"Content-Type": "text/plain"})
        return response(200, {"preview": None})

    sender = _Fetcher(fetches=False, refuse=metadata)

    found = await _url_parameters(sender, target=REMOTE)

    assert _summary(found) == [
        ("ssrf.confirmed-fetch", "url", Severity.critical, Confidence.confirmed),
        ("ssrf.url-parameter", "url", Severity.medium, Confidence.confirmed),
    ]
    assert [parse_qs(urlsplit(r.url).query)["url"][0] for r in sender.sent][1] == METADATA_URL


async def test_url_parameters_check_says_a_remote_target_cannot_reach_the_canary() -> None:
    sender = _Fetcher(fetches=False, refuse=lambda url: response(200, {"preview": None}))

    found = await _url_parameters(sender, target=REMOTE)

    assert _summary(found) == [("ssrf.url-parameter", "url", Severity.info, Confidence.tentative)]
    assert "confirmation needs a canary the target can reach" in found[0].detail


async def test_url_parameters_check_never_asks_a_loopback_target_for_cloud_metadata() -> None:
    sender = _Fetcher(fetches=False, refuse=lambda url: response(200, {"preview": None}))

    await _url_parameters(sender)

    assert all("169.254" not in r.url for r in sender.sent)


async def test_url_parameters_check_lists_body_fields_it_does_not_probe() -> None:
    importer = Operation(
        method="POST",
        path="/imports",
        request_body=RequestBody(
            "application/json",
            {"type": "object", "properties": {"source": {"type": "string", "format": "uri"}}},
        ),
    )
    sender = FakeSender()

    found = await _url_parameters(sender, operations=(importer,))

    assert _summary(found) == [
        ("ssrf.url-parameter", "source", Severity.info, Confidence.tentative)
    ]
    assert "declared with format uri" in found[0].detail
    assert sender.sent == []


async def test_url_parameters_check_stays_quiet_without_url_parameters() -> None:
    plain = Operation(method="GET", path="/items", parameters=(Parameter("q", "query"),))
    sender = FakeSender()

    assert await _url_parameters(sender, operations=(plain,)) == []
    assert sender.sent == []
