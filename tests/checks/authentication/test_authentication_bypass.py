"""Anonymous answers on recorded exchanges: sensitive data without credentials, bypass variants."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import ANONYMOUS, Headers, Request, Response
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

TOKEN_SCAN = ScanRequest(target=BASE, headers=(("Authorization", "Bearer t0ken"),))
SECURED = ({"bearer": ()},)
ITEM = {
    "item_id": "i-1",
    "owner_email": "alice@acme.example",
    "ssn": "123-45-6789",
    "api_key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
}
PROFILE = {"id": "u-1", "name": "Alice", "email": "alice.smith@acme.example"}
CATALOGUE = {"products": [{"sku": "p-1", "contact": "alice.smith@acme.example"}]}
DENY = response(401, {"detail": "Not authenticated"})


async def _sensitive(
    op: Operation, body: object, anonymous: Response | None, *, scan: ScanRequest = TOKEN_SCAN
) -> tuple[list[Finding], FakeSender]:
    sender = FakeSender({("GET", op.path): anonymous} if anonymous is not None else {})
    found = await run_check(
        "authentication.sensitive_data_without_auth",
        baseline=make_baseline(
            [(op, exchange("GET", op.path, response(200, body), operation=op.key))]
        ),
        sender=sender,
        scan=scan,
    )
    return found, sender


# --- sensitive_data_without_auth ---------------------------------------------------------------


async def test_sensitive_data_check_reports_secrets_handed_to_an_anonymous_request() -> None:
    legacy = Operation(method="GET", path="/legacy/items/i-1", security=SECURED)

    found, sender = await _sensitive(legacy, ITEM, response(200, ITEM))

    assert [(f.type_id, f.confidence) for f in found] == [
        ("authentication.sensitive-data-without-auth", Confidence.confirmed)
    ]
    assert "ssn in `ssn`" in found[0].detail and "secret-token in `api_key`" in found[0].detail
    assert "6789" not in found[0].detail
    assert [e.label for e in found[0].evidence] == ["anonymous", "with credentials"]
    assert [r.identity for r in sender.sent] == [ANONYMOUS]


async def test_sensitive_data_check_reports_personal_data_on_a_private_looking_operation() -> None:
    found, _ = await _sensitive(
        Operation(method="GET", path="/me"), PROFILE, response(200, PROFILE)
    )

    assert [(f.operation, f.confidence) for f in found] == [("GET /me", Confidence.firm)]


async def test_sensitive_data_check_stays_quiet_on_personal_data_of_a_public_catalogue() -> None:
    catalogue = Operation(method="GET", path="/products")

    found, _ = await _sensitive(catalogue, CATALOGUE, response(200, CATALOGUE))

    assert found == []


async def test_sensitive_data_check_stays_quiet_when_the_anonymous_request_is_refused() -> None:
    legacy = Operation(method="GET", path="/legacy/items/i-1", security=SECURED)

    found, _ = await _sensitive(legacy, ITEM, DENY)

    assert found == []


async def test_sensitive_data_check_reads_the_baseline_itself_in_an_anonymous_scan() -> None:
    export = Operation(method="GET", path="/export")

    found, sender = await _sensitive(export, {"Items": [ITEM]}, None, scan=ScanRequest(target=BASE))

    assert [(f.operation, [e.label for e in f.evidence]) for f in found] == [
        ("GET /export", ["anonymous"])
    ]
    assert sender.sent == []


# --- auth_bypass_variants ----------------------------------------------------------------------

ORDERS = Operation(method="GET", path="/api/orders/{order_id}", security=SECURED)
ORDER = {"id": "o-7", "total": 12.5, "status": "open"}


def _api(open_when: Callable[[Request], bool]) -> Callable[[Request], Response]:
    """Answers the order to credentialed requests and to the variants ``open_when`` lets in."""

    def answer(request: Request) -> Response:
        if request.identity != ANONYMOUS or open_when(request):
            body = response(200, ORDER)
            if request.method == "HEAD":
                return Response(
                    200, body.headers.set("Content-Length", str(len(body.body))), b"", request.url
                )
            return body
        return DENY

    return answer


async def _variants(open_when: Callable[[Request], bool]) -> tuple[list[Finding], FakeSender]:
    answer = _api(open_when)
    sender = FakeSender(
        {
            (method, path): answer
            for method in ("GET", "HEAD")
            for path in ("/api/orders/o-7", "/api/orders/o-7/", "/API/ORDERS/o-7")
        }
    )
    baseline = exchange("GET", "/api/orders/o-7", response(200, ORDER), operation=ORDERS.key)
    found = await run_check(
        "authentication.auth_bypass_variants",
        baseline=make_baseline([(ORDERS, baseline)]),
        sender=sender,
        scan=TOKEN_SCAN,
    )
    return found, sender


async def test_bypass_check_reports_head_answered_without_credentials() -> None:
    found, _ = await _variants(lambda r: r.method == "HEAD")

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("authentication.auth-bypass-variant", "HEAD", Confidence.confirmed)
    ]
    assert [e.status for e in found[0].evidence] == [401, 200, 200]


async def test_bypass_check_reports_a_trailing_slash_and_a_path_in_upper_case() -> None:
    found, _ = await _variants(
        lambda r: r.method == "GET" and urlsplit(r.url).path != "/api/orders/o-7"
    )

    assert [f.parameter for f in found] == ["trailing-slash", "path-case"]


async def test_bypass_check_reports_a_method_override_header_trusted_by_the_auth_rule() -> None:
    found, _ = await _variants(lambda r: r.headers.get("X-HTTP-Method-Override") == "OPTIONS")

    assert [f.parameter for f in found] == ["X-HTTP-Method-Override"]


async def test_bypass_check_stays_quiet_when_every_variant_is_refused() -> None:
    found, sender = await _variants(lambda r: False)

    assert found == []
    assert len(sender.sent) == 5  # the anonymous control and four variants
    assert {r.identity for r in sender.sent} == {ANONYMOUS}


async def test_bypass_check_stays_quiet_on_head_when_the_refusal_is_a_200_envelope() -> None:
    # REST API Goat's shape: a missing token gets 200 {"success": false, "error": ...}, so a
    # HEAD without credentials answers 200 too, with no body to tell refusal from content.
    refused = response(200, {"success": False, "error": "No API token given."})

    def answer(request: Request) -> Response:
        body = response(200, ORDER) if request.identity != ANONYMOUS else refused
        if request.method == "HEAD":
            length = str(len(body.body))
            return Response(200, body.headers.set("Content-Length", length), b"", request.url)
        return body

    sender = FakeSender({("GET", "/api/orders/o-7"): answer, ("HEAD", "/api/orders/o-7"): answer})
    baseline = exchange("GET", "/api/orders/o-7", response(200, ORDER), operation=ORDERS.key)

    found = await run_check(
        "authentication.auth_bypass_variants",
        baseline=make_baseline([(ORDERS, baseline)]),
        sender=sender,
        scan=TOKEN_SCAN,
    )

    assert found == []
    assert "HEAD" not in {r.method for r in sender.sent}


async def test_bypass_check_stays_quiet_when_a_variant_gets_other_content() -> None:
    index = response(200, {"service": "orders", "docs": "/docs"})
    sender = FakeSender(
        {
            ("GET", "/api/orders/o-7"): _api(lambda r: False),
            ("GET", "/api/orders/o-7/"): index,
            ("HEAD", "/api/orders/o-7"): response(404, b""),
        }
    )
    baseline = exchange("GET", "/api/orders/o-7", response(200, ORDER), operation=ORDERS.key)

    found = await run_check(
        "authentication.auth_bypass_variants",
        baseline=make_baseline([(ORDERS, baseline)]),
        sender=sender,
        scan=TOKEN_SCAN,
    )

    assert found == []


async def test_bypass_check_never_probes_operations_open_to_anonymous_callers() -> None:
    found, sender = await _variants(lambda r: True)

    assert found == [] and len(sender.sent) == 1


async def test_bypass_check_stays_quiet_when_head_answers_an_empty_2xx() -> None:
    empty = Response(
        200, Headers((("Content-Type", "application/json"), ("Content-Length", "0"))), b"", BASE
    )
    sender = FakeSender(
        {("GET", "/api/orders/o-7"): _api(lambda r: False), ("HEAD", "/api/orders/o-7"): empty}
    )
    baseline = exchange("GET", "/api/orders/o-7", response(200, ORDER), operation=ORDERS.key)

    found = await run_check(
        "authentication.auth_bypass_variants",
        baseline=make_baseline([(ORDERS, baseline)]),
        sender=sender,
        scan=TOKEN_SCAN,
    )

    assert found == []
