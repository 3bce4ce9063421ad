"""The engine's side of the Filter: server errors seen after the scan's writes are sent again."""

from __future__ import annotations

import base64

from aiohttp import web

from middlebrick.config import Credential, ScanRequest
from middlebrick.filtering import ScanFacts, filter_findings
from middlebrick.findings import Confidence, Finding, Severity, fingerprint
from middlebrick.http.client import HttpClient
from middlebrick.http.exchange import Request
from middlebrick.scan_facts import _basic_user, reconfirm
from middlebrick.testing import LiveApp

TYPE = "input_validation.type-confusion"


def _app(state: dict[str, bool]) -> web.Application:
    """``GET /report`` fails while ``state["broken"]`` holds (a write of the scan broke it)."""

    async def report(request: web.Request) -> web.Response:
        if state["broken"]:
            return web.json_response({"error": "internal"}, status=500)
        return web.json_response({"total": 3})

    app = web.Application()
    app.router.add_get("/report", report)
    return app


async def _judge(*, still_broken: bool) -> tuple[ScanFacts, list[Finding]]:
    state = {"broken": True}
    async with LiveApp(_app(state)) as url, HttpClient(ScanRequest(target=url)) as client:
        seen = await client.send(Request("GET", f"{url}/report"))
        flaw = Finding(
            type_id=TYPE,
            category="input_validation",
            title="title",
            severity=Severity.medium,
            confidence=Confidence.firm,
            operation="GET /report",
            detail="500 on a read",
            evidence=(client.record(seen),),
            fingerprint=fingerprint(TYPE, "GET /report"),
        )
        state["broken"] = still_broken  # the scan's writes undone (or not: a real fault)
        facts = ScanFacts(writes=(1.0,), raised={flaw.fingerprint: 2.0})
        facts = await reconfirm(client, facts, [flaw])
        return facts, filter_findings([flaw], facts).findings


async def test_a_server_error_gone_once_the_writes_are_undone_is_dropped() -> None:
    facts, kept = await _judge(still_broken=False)

    assert kept == []
    assert facts.contradicted == frozenset({fingerprint(TYPE, "GET /report")})


async def test_a_server_error_that_stays_is_reconfirmed_and_kept() -> None:
    facts, kept = await _judge(still_broken=True)

    assert [f.type_id for f in kept] == [TYPE]
    assert facts.reconfirmed == frozenset({fingerprint(TYPE, "GET /report")})
    assert "failed the same way" in kept[0].detail


def test_an_identitys_basic_user_id_names_it_and_other_schemes_name_nobody() -> None:
    basic = ("Authorization", "Basic " + base64.b64encode(b"alice:s3cret-pass").decode())
    scan = ScanRequest(
        target="http://127.0.0.1:8000",
        identities={
            "alice": Credential(headers=(basic,)),
            "bob": Credential(headers=(("Authorization", "Bearer abc.def.ghi"),)),
        },
    )

    assert _basic_user(scan, "alice", primary=False) == frozenset({"alice"})
    assert _basic_user(scan, "bob", primary=False) == frozenset()
