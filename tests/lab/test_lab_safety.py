"""The lab's traps: what safe and active scans never call, and what they leave behind.

The items service has state-changing GETs (``/maintenance/reset``, ``/referral-code`` whose
summary says "Get or create"), a logout GET, a privilege
field on the caller's own profile (``PATCH /users/me``: a changed role breaks every later
request of that user), a publish operation, an invitation that sends mail to an outbox table,
the organisation's settings and a free-text collection (``/prompts``) that is not an AI
endpoint. Each scan here reads the variant's whole store before and after (the accuracy gate
does the same for every service, variant and mode; the scans of items are the gate's own).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from benchmarks.accuracy import SPEC, lab_request
from lab.runner import Lab
from lab.state import snapshot
from lab.truth import load
from middlebrick.engine import scan
from middlebrick.findings import Confidence
from middlebrick.report import Report

pytestmark = pytest.mark.lab

MEMBERS = "PATCH /api/members/{member_id}"


def _scan(lab: Lab, service: str, variant: str, mode: str, **changes: Any) -> tuple[Report, bool]:
    """The scan's report, and whether the store was the same after it as before."""
    target = lab.target(service, variant)
    request = lab_request(target, surface=SPEC, mode=mode, tier="standard", rate=1000)
    prefix = f"{service}_{variant}_"
    before = snapshot(lab.endpoint_url, prefix)
    report = asyncio.run(scan(request.model_copy(update=changes)))
    return report, snapshot(lab.endpoint_url, prefix) == before


def _still_signed_in(lab: Lab, http: Any, service: str, variant: str, path: str) -> bool:
    target = lab.target(service, variant)
    return all(
        http("GET", target.url + path, token=token).status == 200
        for token in target.tokens.values()
    )


def test_safe_scan_calls_neither_the_reset_nor_the_logout_and_sends_no_prompt(
    lab, http, shared_scans
) -> None:
    scanned = shared_scans.spec("items", "vulnerable")  # the accuracy gate's scan
    report = scanned.report

    assert scanned.before == scanned.after, (
        "a safe scan changed the store (a reset, a sign-out, a saved prompt …)"
    )
    assert report is not None
    skipped = {s.operation: s.reason for s in report.skipped}
    assert "`reset`" in skipped["GET /maintenance/reset"]
    assert "`logout`" in skipped["GET /auth/logout"]
    assert "`create`" in skipped["GET /referral-code"]  # "Get or create my referral code"
    assert _still_signed_in(lab, http, "items", "vulnerable", "/items")
    llm = [
        (f.type_id, f.operation, f.confidence)
        for f in report.findings
        if f.category == "llm_security"
    ]
    assert llm == [
        ("llm_security.endpoint-detected", "POST /v1/chat/completions", Confidence.tentative)
    ]
    assert report.complete


def test_active_scan_publishes_sends_and_configures_nothing_and_keeps_its_session(
    lab, http, shared_scans
) -> None:
    scanned = shared_scans.spec("items", "vulnerable", "active")  # the accuracy gate's scan
    report = scanned.report

    assert scanned.before == scanned.after, (
        "an active scan left the store changed after its own cleanup"
    )
    assert report is not None
    assert report.not_restored == [] and report.restored >= 1
    skipped = {s.operation for s in report.skipped}
    assert {
        "POST /items/{item_id}/publish",
        "POST /invitations",
        "PATCH /settings",
        "PATCH /users/me",
        "DELETE /prompts/{prompt_id}",
        "DELETE /webhooks/{webhook_id}",
        "GET /maintenance/reset",
        "GET /auth/logout",
        "GET /referral-code",
    } <= skipped
    assert report.complete, report.notes
    target = lab.target("items", "vulnerable")
    me = http("GET", target.url + "/users/me", token=target.tokens["alice"])
    assert me.status == 200 and me.json()["role"] == "user"
    assert _still_signed_in(lab, http, "items", "vulnerable", "/items")
    found = {(f.type_id, f.operation) for f in report.findings}
    assert ("unsafe_consumption.callback-url-parameter", "POST /webhooks") in found


@pytest.mark.parametrize("variant", ["vulnerable", "secure"])
def test_active_scan_writes_included_member_records_and_restores_them(lab, variant: str) -> None:
    report, unchanged = _scan(lab, "tenants", variant, "active", include=(MEMBERS,))

    assert unchanged and report.not_restored == []
    found = {(f.type_id, f.operation) for f in report.findings if f.severity.value != "info"}
    included = [
        (e.finding, e.operation)
        for e in load().entries("tenants")
        if "include" in e.needs and e.applies(mode="active", spec=True, identities=4, included=True)
    ]
    assert included, "the ground truth lists what only an --include scan shows"
    if variant == "vulnerable":
        assert set(included) <= found
    else:
        assert {f for f in found if f[1] == MEMBERS} == set()
