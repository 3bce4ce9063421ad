"""The password-reset check alone against the running lab: only an ``--include`` sends it.

The accuracy gates never name an operation with ``--include``, so the shop's reset flaw (an
entry that ``needs: [include]``) is proven here: the check runs the way the engine does
(discovery, the safety policy, baseline, verified identities) against each shop twin.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from lab.runner import Target
from lab.truth import load
from middlebrick.baseline import build_baseline
from middlebrick.config import Credential, ScanRequest
from middlebrick.discovery import discover
from middlebrick.findings import Confidence, Finding
from middlebrick.http.client import HttpClient
from middlebrick.http.exchange import Request
from middlebrick.identities import establish, own_ids
from middlebrick.testing import run_check

pytestmark = pytest.mark.lab

RESET = "POST /api/v2/auth/password-reset"


async def _run(target: Target, check: str, *, include: tuple[str, ...] = ()) -> list[Finding]:
    scan = ScanRequest(
        target=target.url,
        mode="active",
        identities={
            name: Credential(headers=(("Authorization", f"{target.auth_scheme} {token}"),))
            for name, token in target.tokens.items()
        },
        include=include,
    )
    async with HttpClient(scan) as client:
        root = await client.send(Request("GET", target.url))
        surface = await discover(client, target.url)
        client.journal.learn(surface.operations)  # as the engine does: what active mode may send
        testable, _ = client.scope.policy.learn(surface)
        surface = replace(surface, operations=testable)
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


async def test_reset_check_sends_nothing_unless_included(lab: Any) -> None:
    target = lab.target("shop", "vulnerable")

    assert await _run(target, "authentication.reset_enumeration") == []


async def test_reset_check_finds_the_included_reset_that_tells_addresses_apart(lab: Any) -> None:
    try:
        vulnerable = await _run(
            lab.target("shop", "vulnerable"), "authentication.reset_enumeration", include=(RESET,)
        )
        secure = await _run(
            lab.target("shop", "secure"), "authentication.reset_enumeration", include=(RESET,)
        )
    finally:
        lab.reseed()  # the scan's own user got one reset link (a row) in each twin

    included = [e for e in load().entries("shop") if "include" in e.needs and e.operation == RESET]
    assert [(e.finding, e.operation, e.parameter) for e in included] == [
        ("authentication.user-enumeration", RESET, "email")
    ]
    assert [(f.type_id, f.operation, f.parameter, f.confidence) for f in vulnerable] == [
        ("authentication.user-enumeration", RESET, "email", Confidence.confirmed)
    ]
    assert secure == []
