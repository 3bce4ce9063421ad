"""Data exposure checks: each finding type on a vulnerable recording and its fixed twin."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from middlebrick.config import Context, ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.model import Operation, Parameter, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

CHECKS = (
    "data_exposure.personal_data",
    "data_exposure.secrets",
    "data_exposure.error_details",
    "data_exposure.internal_addresses",
)
BEARER = ({"bearer": ()},)
OTHER_USERS_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTIiLCJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJlX2J5dGVz"
BOTOCORE_TEXT = (
    "An error occurred (ValidationException) when calling the Query operation: "
    "Invalid KeyConditionExpression: Syntax error"
)


def _op(path: str = "/items", *, secured: bool = False, **kw: Any) -> Operation:
    return Operation(method="GET", path=path, security=BEARER if secured else (), **kw)


def _pair(
    body: Any, *, path: str = "/items", status: int = 200, headers: Any = None, **kw: Any
) -> tuple[Operation, Exchange]:
    operation = _op(path, **kw)
    return operation, exchange(
        "GET", path, response(status, body, headers), operation=operation.key
    )


async def _scan(
    *pairs: tuple[Operation, Exchange],
    context: Context = Context.general,
    root: Exchange | None = None,
) -> list[Finding]:
    baseline = make_baseline(list(pairs), root=root)
    scan = ScanRequest(target=BASE, context=context)
    found: list[Finding] = []
    for name in CHECKS:
        found += await run_check(name, baseline=baseline, scan=scan)
    return found


def _ids(found: list[Finding]) -> set[tuple[str, str, str | None]]:
    return {(f.type_id, f.operation, f.parameter) for f in found}


# One vulnerable body per finding type, and its fixed twin that must stay quiet.
VULNERABLE_AND_FIXED = [
    pytest.param(
        "data_exposure.email-address",
        [{"id": "u-1", "email": "alice@acme.example"}, {"id": "u-2", "email": "bob@acme.example"}],
        [{"id": "u-1", "email": "a***@acme.example"}],
        id="email",
    ),
    pytest.param(
        "data_exposure.phone-number",
        {"id": "u-1", "phone": "+1-415-555-0131"},
        {"id": "u-1", "phone_last4": "0131"},
        id="phone",
    ),
    pytest.param(
        "data_exposure.card-number",
        {"order": "o-1", "card_number": "4539578763621486"},
        {"order": "o-1", "card_last4": "1486", "order_number": "4539578763621487"},
        id="card",
    ),
    pytest.param(
        "data_exposure.ssn",
        {"id": "u-1", "ssn": "332-28-5358"},
        {"id": "u-1", "ticket": "332-28-5358"},
        id="ssn",
    ),
    pytest.param(
        "data_exposure.secret-token",
        {"id": "u-1", "api_key": "sk_live_" + "9f8e7d6c5b4a39281706f5e4"},
        {"id": "u-1", "api_key_hint": "sk_live_…f5e4"},
        id="secret-token",
    ),
    pytest.param(
        "data_exposure.private-key",
        {"tls": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7"},
        {"tls": "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE"},
        id="private-key",
    ),
    pytest.param(
        "data_exposure.jwt-in-body",
        {
            "owner": "u-1",
            "session": OTHER_USERS_JWT,
        },
        {"owner": "u-1", "session": "active"},
        id="jwt",
    ),
    pytest.param(
        "data_exposure.stack-trace",
        {"error": 'Traceback (most recent call last):\n  File "/app/main.py", line 42, in get'},
        {"error": "internal error", "id": "c0ffee"},
        id="stack-trace",
    ),
    pytest.param(
        "data_exposure.dynamodb-error-text",
        {"error": BOTOCORE_TEXT},
        {"error": "invalid filter"},
        id="dynamodb-error-text",
    ),
    pytest.param(
        "data_exposure.dynamodb-raw-attributes",
        {"Item": {"id": {"S": "u-1"}, "logins": {"N": "17"}, "tags": {"SS": ["a"]}}},
        {"item": {"id": "u-1", "logins": 17, "tags": ["a"]}},
        id="dynamodb-raw-attributes",
    ),
    pytest.param(
        "data_exposure.internal-address",
        {"users": 4, "replica": "10.20.4.17:8000"},
        {"users": 4, "replica": "replica-2"},
        id="internal-address",
    ),
]


@pytest.mark.parametrize(("type_id", "vulnerable", "fixed"), VULNERABLE_AND_FIXED)
async def test_data_exposure_checks_report_the_vulnerable_body(
    type_id: str, vulnerable: Any, fixed: Any
) -> None:
    found = await _scan(_pair(vulnerable))

    assert type_id in {f.type_id for f in found}
    assert all(f.operation == "GET /items" for f in found)


@pytest.mark.parametrize(("type_id", "vulnerable", "fixed"), VULNERABLE_AND_FIXED)
async def test_data_exposure_checks_stay_quiet_on_the_fixed_twin(
    type_id: str, vulnerable: Any, fixed: Any
) -> None:
    assert await _scan(_pair(fixed)) == []


# --- debug pages ---------------------------------------------------------------------------------

DEBUG_PAGES = [
    pytest.param(
        "<title>KeyError: 'id' // Werkzeug Debugger</title>"
        "<p>The debugger caught an exception in your WSGI application.",
        id="werkzeug",
    ),
    pytest.param(
        "<p>You're seeing this error because you have <code>DEBUG = True</code> in your settings",
        id="django-ascii-apostrophe",
    ),
    pytest.param(
        "<p>You’re seeing this error because you have <code>DEBUG = True</code> in your settings",
        id="django-typographic-apostrophe",
    ),
    pytest.param(
        "<html><head><title>Starlette Debugger</title></head><body><h1>500 Server Error</h1>",
        id="starlette",
    ),
]


@pytest.mark.parametrize("page", DEBUG_PAGES)
async def test_error_details_check_reports_framework_debug_pages(page: str) -> None:
    found = await _scan(_pair(page, status=500, headers={"Content-Type": "text/html"}))

    assert "data_exposure.debug-page" in {f.type_id for f in found}


async def test_error_details_check_stays_quiet_on_a_generic_error_page() -> None:
    page = (
        "<html><title>Internal Server Error</title><p>Something went wrong. Set DEBUG = False.</p>"
    )

    assert await _scan(_pair(page, status=500, headers={"Content-Type": "text/html"})) == []


async def test_error_details_check_reports_debug_page_and_its_traceback() -> None:
    page = (
        "<p>You're seeing this error because you have <code>DEBUG = True</code></p>"
        '<pre>Traceback (most recent call last):\n  File "/srv/views.py", line 9, in get</pre>'
    )

    found = await _scan(_pair(page, status=500, headers={"Content-Type": "text/html"}))

    assert {f.type_id for f in found} == {"data_exposure.debug-page", "data_exposure.stack-trace"}


async def test_dynamodb_not_found_text_is_not_reported_on_a_plain_404() -> None:
    quiet = await _scan(_pair({"message": "Requested resource not found"}, status=404))
    loud = await _scan(_pair({"message": "Requested resource not found"}, status=500))

    assert quiet == []
    assert {f.type_id for f in loud} == {"data_exposure.dynamodb-error-text"}


# --- judgement -------------------------------------------------------------------------------


async def test_personal_data_check_names_the_field_and_masks_the_value() -> None:
    found = await _scan(_pair({"customer": {"ssn": "332-28-5358"}}))

    assert [(f.type_id, f.parameter) for f in found] == [("data_exposure.ssn", "ssn")]
    assert "***-**-5358" in found[0].detail and "332-28" not in found[0].detail
    assert found[0].evidence[0].match == "332-28-5358"


async def test_personal_data_check_reads_the_field_behind_a_dynamodb_attribute_value() -> None:
    found = await _scan(_pair({"Item": {"ssn": {"S": "332-28-5358"}}}))

    assert ("data_exposure.ssn", "GET /items", "ssn") in _ids(found)


async def test_personal_data_check_needs_context_for_an_unlabelled_ssn() -> None:
    body = {"notes": "ref 332-28-5358"}

    assert await _scan(_pair(body)) == []
    medical = await _scan(_pair(body), context=Context.medical)
    assert [(f.type_id, f.confidence) for f in medical] == [
        ("data_exposure.ssn", Confidence.tentative)
    ]


async def test_personal_data_check_counts_an_unlabelled_dashed_ssn_in_financial_context() -> None:
    found = await _scan(_pair({"notes": "ref 332-28-5358"}), context=Context.financial)

    assert [(f.type_id, f.confidence) for f in found] == [
        ("data_exposure.ssn", Confidence.tentative)
    ]


@pytest.mark.parametrize("context", list(Context))
async def test_personal_data_check_reports_an_ssn_named_field_in_every_context(
    context: Context,
) -> None:
    body = {"social_security_number": "219-09-9999", "tax_id": "219099999"}

    found = await _scan(_pair(body), context=context)

    assert {(f.type_id, f.parameter, f.confidence) for f in found} == {
        ("data_exposure.ssn", "social_security_number", Confidence.firm),
        ("data_exposure.ssn", "tax_id", Confidence.firm),
    }


@pytest.mark.parametrize("context", [Context.general, Context.medical, Context.financial])
async def test_personal_data_check_stays_quiet_when_nine_digits_sit_in_another_field(
    context: Context,
) -> None:
    body = {"member_number": "219099999", "claim": 219099998, "account": "219-09-99999"}

    assert await _scan(_pair(body), context=context) == []


async def test_personal_data_check_reports_one_finding_per_field() -> None:
    users = [
        {"email": f"user{i}@acme.example", "backup_email": f"alt{i}@acme.example"} for i in range(5)
    ]

    found = await _scan(_pair(users))

    assert _ids(found) == {
        ("data_exposure.email-address", "GET /items", "email"),
        ("data_exposure.email-address", "GET /items", "backup_email"),
    }


async def test_personal_data_check_marks_a_single_email_behind_auth_as_tentative() -> None:
    found = await _scan(_pair({"me": {"email": "alice@acme.example"}}, path="/me", secured=True))

    assert [f.confidence for f in found] == [Confidence.tentative]


async def test_personal_data_check_reports_emails_an_anonymous_caller_gets_as_low() -> None:
    found = await _scan(_pair([{"email": "ann.lee@acme.example"}], path="/members"))

    assert [(f.type_id, f.severity) for f in found] == [
        ("data_exposure.email-address", Severity.low)
    ]


async def test_personal_data_check_reports_emails_a_member_gets_at_info() -> None:
    # Label Studio's shape: the member directory, shown to an authenticated member.
    members = [{"email": "ann.lee@acme.example"}, {"email": "bob.ray@acme.example"}]
    operation, answered = _pair(members, path="/members", secured=True)
    baseline = make_baseline([(operation, answered)])
    scan = ScanRequest(target=BASE, headers=(("Authorization", "Bearer t"),))

    found = await run_check("data_exposure.personal_data", baseline=baseline, scan=scan)

    assert [(f.type_id, f.severity) for f in found] == [
        ("data_exposure.email-address", Severity.info)
    ]
    assert "returned to an authenticated caller" in found[0].detail


async def test_personal_data_check_skips_the_gettext_template_address() -> None:
    described = {"description": "Language-Team: en <LL@li.org>\nMIME-Version: 1.0"}

    assert await _scan(_pair(described, path="/languages")) == []


async def test_personal_data_check_skips_the_contact_email_of_a_served_api_description() -> None:
    spec = {
        "openapi": "3.0.3",
        "info": {"contact": {"email": "jane.doe@acme.example"}},
        "paths": {},
    }

    assert await _scan(_pair(spec, path="/openapi.json")) == []


async def test_secrets_check_skips_the_token_a_login_operation_issues() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJlX2J5dGVz"

    issued = await _scan(_pair({"access_token": jwt, "token_type": "bearer"}, path="/auth/token"))
    leaked = await _scan(_pair({"owner": {"access_token": jwt}}, path="/orders"))

    assert issued == []
    assert [(f.type_id, f.parameter) for f in leaked] == [
        ("data_exposure.jwt-in-body", "access_token")
    ]


async def test_secrets_check_ignores_the_scans_own_credentials_echoed_back() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJlX2J5dGVz"
    operation, recorded = _pair({"you": {"session": token}}, path="/me")
    scan = ScanRequest(target=BASE, headers=(("Authorization", f"Bearer {token}"),))

    found = await run_check(
        "data_exposure.secrets", baseline=make_baseline([(operation, recorded)]), scan=scan
    )

    assert found == []


async def test_internal_addresses_check_reports_internal_hosts_in_headers() -> None:
    found = await _scan(_pair({"ok": True}, headers={"X-Served-By": "ip-10-0-1-23.ec2.internal"}))

    assert _ids(found) == {("data_exposure.internal-address", "GET /items", "X-Served-By")}


async def test_internal_addresses_check_never_reports_the_scans_own_target() -> None:
    body = {"next": f"{BASE}/items?page=2", "self": "http://localhost:8000/items"}

    assert await _scan(_pair(body)) == []


async def test_internal_addresses_check_stays_quiet_on_loopback_urls_of_a_loopback_target() -> None:
    # Prefect's shape: the server's configured own api_url, another port of the same machine.
    assert await _scan(_pair({"api_url": "http://127.0.0.1:4200/api"})) == []


async def test_internal_addresses_check_reports_loopback_urls_of_a_remote_target() -> None:
    remote = "https://api.example.test"
    operation = _op()
    answered = exchange(
        "GET", "/items", response(200, {"cache": "http://localhost:6379/0"}), base=remote
    )
    baseline = make_baseline([(operation, answered)])
    surface = Surface(base_url=remote, operations=(operation,))

    found = await run_check(
        "data_exposure.internal_addresses",
        baseline=baseline,
        scan=ScanRequest(target=remote),
        surface=surface,
    )

    assert [f.type_id for f in found] == ["data_exposure.internal-address"]


async def test_data_exposure_checks_scan_the_root_response_too() -> None:
    root = exchange(
        "GET",
        "/",
        response(500, "Traceback (most recent call last):\n", {"Content-Type": "text/plain"}),
    )

    found = await _scan(root=root)

    assert [(f.type_id, f.operation) for f in found] == [("data_exposure.stack-trace", "GET /")]


async def test_only_error_details_sends_requests_and_at_most_two_per_operation() -> None:
    operation = Operation(
        method="GET",
        path="/items/{item_id}",
        parameters=(
            Parameter("item_id", "path", required=True),
            Parameter("q", "query"),
            Parameter("sort", "query"),
        ),
    )
    recorded = exchange("GET", "/items/7?q=a&sort=b", response(200, {"id": 7}))
    baseline = make_baseline([(operation, recorded)])
    sent: dict[str, int] = {}
    for name in CHECKS:
        sender = FakeSender()
        await run_check(name, baseline=baseline, sender=sender)
        sent[name] = len(sender.sent)

    assert sent == {
        "data_exposure.personal_data": 0,
        "data_exposure.secrets": 0,
        "data_exposure.error_details": 2,
        "data_exposure.internal_addresses": 0,
    }


# --- provoked errors -----------------------------------------------------------------------------

DJANGO_500 = (
    "<html><p>You’re seeing this error because you have <code>DEBUG = True</code></p>"
    '<pre>Traceback (most recent call last):\n  File "/srv/views.py", line 9, in get</pre>'
)


def _member_pair() -> tuple[Operation, Exchange]:
    operation = Operation(
        method="GET",
        path="/api/members/{member_id}",
        parameters=(Parameter("member_id", "path", required=True),),
    )
    recorded = exchange("GET", "/api/members/1", response(200, {"id": 1, "name": "Alice"}))
    return operation, recorded


async def test_error_details_check_provokes_a_debug_page_through_a_path_parameter() -> None:
    broken = "/api/members/%27%22%29%28"
    sender = FakeSender({("GET", broken): response(500, DJANGO_500, {"Content-Type": "text/html"})})

    found = await run_check(
        "data_exposure.error_details", baseline=make_baseline([_member_pair()]), sender=sender
    )

    assert {(f.type_id, f.operation, f.parameter) for f in found} == {
        ("data_exposure.debug-page", "GET /api/members/{member_id}", "member_id"),
        ("data_exposure.stack-trace", "GET /api/members/{member_id}", "member_id"),
    }
    assert found[0].evidence[0].label == "probe"
    assert [r.url for r in sender.sent] == [BASE + broken]


async def test_error_details_check_stays_quiet_when_a_broken_parameter_gets_a_plain_400() -> None:
    sender = FakeSender({("GET", "/api/members/%27%22%29%28"): response(400, {"error": "bad id"})})

    found = await run_check(
        "data_exposure.error_details", baseline=make_baseline([_member_pair()]), sender=sender
    )

    assert found == []


async def test_error_details_check_breaks_every_string_inside_a_json_parameter() -> None:
    operation = Operation(
        method="GET", path="/api/users/search", parameters=(Parameter("filter", "query"),)
    )
    condition = json.dumps({"email": {"ComparisonOperator": "EQ", "AttributeValueList": ["a"]}})
    recorded = exchange(
        "GET", "/api/users/search?" + urlencode({"filter": condition}), response(200, [])
    )

    def search(request: Request) -> Response:
        sent = json.loads(parse_qs(urlsplit(request.url).query)["filter"][0])
        if sent["email"]["ComparisonOperator"] == "EQ":
            return response(200, [])
        return response(500, {"error": BOTOCORE_TEXT})

    sender = FakeSender({("GET", "/api/users/search"): search})

    found = await run_check(
        "data_exposure.error_details",
        baseline=make_baseline([(operation, recorded)]),
        sender=sender,
    )

    assert [(f.type_id, f.parameter) for f in found] == [
        ("data_exposure.dynamodb-error-text", "filter")
    ]


async def test_error_details_check_does_not_repeat_what_the_baseline_already_showed() -> None:
    operation, _ = _member_pair()
    recorded = exchange("GET", "/api/members/1", response(500, {"error": BOTOCORE_TEXT}))
    sender = FakeSender(
        {("GET", "/api/members/%27%22%29%28"): response(500, {"error": BOTOCORE_TEXT})}
    )

    found = await run_check(
        "data_exposure.error_details",
        baseline=make_baseline([(operation, recorded)]),
        sender=sender,
    )

    assert [(f.type_id, f.parameter) for f in found] == [
        ("data_exposure.dynamodb-error-text", None)
    ]


async def test_error_details_check_sends_an_empty_page_size_to_reach_the_database() -> None:
    operation = Operation(method="GET", path="/search", parameters=(Parameter("limit", "query"),))
    recorded = exchange("GET", "/search?limit=10", response(200, []))
    sender = FakeSender({("GET", "/search?limit=0"): response(500, {"error": BOTOCORE_TEXT})})

    found = await run_check(
        "data_exposure.error_details",
        baseline=make_baseline([(operation, recorded)]),
        sender=sender,
    )

    assert [(f.type_id, f.parameter) for f in found] == [
        ("data_exposure.dynamodb-error-text", "limit")
    ]
    assert [r.url for r in sender.sent] == [BASE + "/search?limit=0"]
