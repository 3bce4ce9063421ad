"""The BFLA and property-authorization checks alone against the running lab, and what they undo.

Each test runs one check the way the engine does (discovery, baseline, verified identities)
against one lab target, so that what it writes can be read back afterwards: the active checks
must leave the seeded records as they found them.
"""

from __future__ import annotations

from typing import Any

import pytest

from lab.identities import USERS
from lab.items.seed import item_id
from lab.runner import Target
from middlebrick.baseline import build_baseline
from middlebrick.config import Credential, ScanRequest
from middlebrick.discovery import discover
from middlebrick.findings import Confidence, Finding
from middlebrick.http.client import HttpClient
from middlebrick.http.exchange import Request
from middlebrick.identities import establish, own_ids
from middlebrick.testing import run_check

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module", autouse=True)
def seeded(lab: Any) -> None:
    """Start from the seed data of the services these tests write, whatever earlier tests
    wrote."""
    lab.reseed("items", "tenants", "profiles")


async def _run(
    target: Target, check: str, *, mode: str = "safe", include: tuple[str, ...] = ()
) -> list[Finding]:
    users = list(target.tokens)
    scan = ScanRequest(
        target=target.url,
        mode=mode,  # type: ignore[arg-type]
        identities={
            name: Credential(headers=(("Authorization", f"Bearer {target.tokens[name]}"),))
            for name in users
        },
        include=include,
    )
    async with HttpClient(scan) as client:
        root = await client.send(Request("GET", target.url))
        surface = await discover(client, target.url)
        baseline = await build_baseline(client, surface, root=root, own=own_ids(scan))
        identities = await establish(client, scan, baseline)
        return await run_check(
            check,
            baseline=baseline,
            sender=client,
            scan=scan,
            surface=surface,
            identities=identities,
        )


def _member(http: Any, target: Target, number: int) -> dict[str, Any]:
    reply = http("GET", f"{target.url}/api/members/{number}", token=target.tokens["alice"])
    record: dict[str, Any] = reply.json()
    return record


MEMBERS = ("PATCH /api/members/{member_id}",)


async def test_tenants_member_records_are_never_written_unless_included(lab, http):
    target = lab.target("tenants", "vulnerable")
    before = _member(http, target, 2)

    found = await _run(target, "bfla.privileged_methods", mode="active")

    assert found == []
    assert _member(http, target, 2) == before


async def test_tenants_privileged_write_to_an_included_operation_is_confirmed_and_restored(
    lab, http
):
    target = lab.target("tenants", "vulnerable")

    found = await _run(target, "bfla.privileged_methods", mode="active", include=MEMBERS)

    assert [(f.operation, f.confidence) for f in found] == [
        ("PATCH /api/members/{member_id}", Confidence.confirmed)
    ]
    assert "identity bob" in found[0].detail
    assert "written back and read again" in found[0].detail
    assert _member(http, target, 2)["status"] == "active"


async def test_tenants_mass_assignment_never_raises_the_scanning_users_own_role(lab, http):
    target = lab.target("tenants", "vulnerable")

    found = await _run(
        target, "property_authorization.mass_assignment", mode="active", include=MEMBERS
    )

    assert found == []
    alice = _member(http, target, 1)
    assert (alice["role"], alice["is_admin"]) == ("user", False)


async def test_items_mass_assignment_is_confirmed_and_the_flag_restored(lab, http):
    target = lab.target("items", "vulnerable")

    check = "property_authorization.mass_assignment"
    patch = "PATCH /items/{item_id}"  # the items exist before the scan: written only if named

    found = await _run(target, check, mode="active", include=(patch,))
    unnamed = await _run(target, check, mode="active")

    assert [f.operation for f in found] == [patch] and unnamed == []
    item = http("GET", f"{target.url}/items/{item_id('alice', 1)}", token=target.tokens["alice"])
    assert item.json()["is_admin"] is False


@pytest.mark.parametrize("service", ["items", "tenants"])
async def test_secure_twins_refuse_every_write_and_stay_quiet(lab, service):
    target = lab.target(service, "secure")

    for check in ("bfla.privileged_methods", "property_authorization.mass_assignment"):
        assert await _run(target, check, mode="active", include=MEMBERS) == []


async def test_tenants_sort_key_projection_returns_password_hashes_only_on_the_vulnerable_twin(lab):
    check = "property_authorization.client_projection"

    found = await _run(lab.target("tenants", "vulnerable"), check)
    quiet = await _run(lab.target("tenants", "secure"), check)

    assert [(f.operation, f.parameter) for f in found] == [("GET /api/members", "sort_key")]
    assert quiet == []


async def test_profiles_admin_dashboard_is_reached_by_an_ordinary_user_only_on_the_vulnerable_twin(
    lab,
):
    found = await _run(lab.target("profiles", "vulnerable"), "bfla.admin_paths")
    quiet = await _run(lab.target("profiles", "secure"), "bfla.admin_paths")

    admin = [f for f in found if f.operation == "GET /admin"]
    assert [f.confidence for f in admin] == [Confidence.firm]
    assert f"alice (its token says role='{USERS['alice'].role}'" in admin[0].detail
    assert quiet == []
