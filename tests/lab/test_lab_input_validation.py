"""The input_validation checks against the running lab: every ground-truth flaw, quiet twins.

Each service × variant is scanned with the input_validation checks alone (safe mode, the
surface discovered from the served spec); the vulnerable variant must show every safe-mode
``input_validation`` entry of the ground truth and the secure twin nothing above info. The
flaws themselves are pinned down with direct requests, so a lab change shows here first.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lab.identities import USERS
from lab.runner import Lab, Target
from lab.truth import load
from middlebrick.baseline import build_baseline
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import load_all
from middlebrick.config import Credential, ScanRequest
from middlebrick.discovery import discover
from middlebrick.findings import Finding, Severity
from middlebrick.fingerprint import detect_framework
from middlebrick.http.client import HttpClient
from middlebrick.http.exchange import Request
from tests.lab.conftest import running

pytestmark = pytest.mark.lab

SERVICES = ("items", "tenants", "profiles", "shop", "blog")


async def _input_validation(target: Target) -> list[Finding]:
    """Findings of the safe-mode input_validation checks on one lab target."""
    first = next(iter(target.tokens))
    scan = ScanRequest(
        target=target.url,
        headers=(("Authorization", f"{target.auth_scheme} {target.tokens[first]}"),),
        identities={
            name: Credential(headers=(("Authorization", f"{target.auth_scheme} {token}"),))
            for name, token in target.tokens.items()
        },
    )
    checks = [
        spec
        for spec in load_all().values()
        if spec.category == "input_validation" and spec.mode == "safe"
    ]
    found: list[Finding] = []
    async with HttpClient(scan) as client:
        root = await client.send(Request("GET", scan.target))
        surface = await discover(client, scan.target)
        baseline = await build_baseline(client, surface, root=root)
        framework = detect_framework(ex.response for ex in baseline.responses() if ex.response)
        for spec in checks:
            ctx = CheckContext(scan, surface, baseline, client, spec=spec, framework=framework)
            found += [finding async for finding in spec.func(ctx)]
    return found


@pytest.mark.parametrize("service", SERVICES)
async def test_input_validation_checks_find_every_ground_truth_flaw(lab: Lab, service: str) -> None:
    expected = {
        (entry.finding, entry.operation)
        for entry in load().services[service].expected
        if entry.category == "input_validation" and entry.mode == "safe"
    }

    target = running(lab, service, "vulnerable")
    found = {(f.type_id, f.operation) for f in await _input_validation(target)}

    assert expected <= found, sorted(expected - found)


@pytest.mark.parametrize("service", SERVICES)
async def test_input_validation_checks_stay_quiet_on_the_secure_twin(
    lab: Lab, service: str
) -> None:
    found = await _input_validation(running(lab, service, "secure"))

    assert [(f.type_id, f.operation) for f in found if f.severity != Severity.info] == []


def test_profiles_flaws_behind_the_ground_truth(lab: Lab, http: Any) -> None:
    vulnerable, secure = lab.target("profiles", "vulnerable"), lab.target("profiles", "secure")
    alice = vulnerable.tokens["alice"]
    tautology = {"status": "open' OR 'a'<>'b"}
    everything = {"filter": json.dumps({"email": {"ComparisonOperator": "NOT_NULL"}})}

    orders = http("GET", vulnerable.url + "/api/orders", token=alice, params=tautology).json()
    users = http("GET", vulnerable.url + "/api/users/search", token=alice, params=everything)
    missing = http("GET", vulnerable.url + "/items/mbzq_no_such_table/x", token=alice)
    other = http("GET", vulnerable.url + "/items/users/x", token=alice)
    console = http("GET", vulnerable.url + "/console")

    assert {o["owner_id"] for o in orders["orders"]} > {orders["orders"][0]["owner_id"]}
    assert users.json()["count"] > 1
    assert missing.status == 400 and "ResourceNotFoundException" in missing.text
    assert other.status == 404 and "in users" in other.text
    assert "Werkzeug Debugger" in console.text
    token = secure.tokens["alice"]
    assert http("GET", secure.url + "/api/orders", token=token, params=tautology).status == 400
    assert (
        http("GET", secure.url + "/api/users/search", token=token, params=everything).status == 400
    )
    assert http("GET", secure.url + "/console").status == 404


def test_tenants_secure_twin_refuses_an_object_where_a_value_is_expected(
    lab: Lab, http: Any
) -> None:
    secure = lab.target("tenants", "secure")

    answer = http(
        "PATCH",
        f"{secure.url}/api/members/{USERS['alice'].user_id}",
        token=secure.tokens["alice"],
        json_body={"priority": {"mbzq": 1}},
    )

    assert answer.status == 400
