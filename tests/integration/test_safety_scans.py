"""Whole scans against an API full of traps: what safe and active mode send, skip and undo.

The app (``safety_app``) accepts every method and records every request, so these tests fail
on any request the policy should have stopped, whichever check sent it.
"""

from __future__ import annotations

from typing import Any

import pytest

from middlebrick.checks.registry import load_all
from middlebrick.config import Credential, Limits, ScanRequest
from middlebrick.engine import scan
from middlebrick.events import CheckFinished
from middlebrick.report import Report
from middlebrick.testing import LiveApp
from tests.integration.safety_app import READS, TOKENS, Recorder, make_app

IDENTITIES = {
    name: Credential(headers=(("Authorization", f"Bearer {token}"),))
    for name, token in zip(("alice", "bob"), TOKENS, strict=True)
}
NEVER = {"/admin/reset", "/auth/logout"}
SURFACES = {"spec": {}, "served": {"spec": None}, "crawl": {"find_served_spec": False}}


async def _scan(
    recorder: Recorder, *, surface: str = "spec", events: list[Any] | None = None, **changes: Any
) -> Report:
    async with LiveApp(make_app(recorder)) as url:
        values: dict[str, Any] = {
            "target": url,
            "spec": f"{url}/openapi.json",
            "identities": IDENTITIES,
            "limits": Limits(rate=500, burst=5),
            **SURFACES[surface],
            **changes,
        }
        sink = events.append if events is not None else None
        return await scan(ScanRequest(**values), on_event=sink)


_SAFE: dict[str, tuple[Recorder, dict[str, Any], list[Any], Report]] = {}


async def _safe_scan(surface: str) -> tuple[Recorder, dict[str, Any], list[Any], Report]:
    """The safe scan of a fresh app (its recorder, its state before, the scan's events and its
    report), made once for this module per surface: the tests read the same scan."""
    if surface not in _SAFE:
        recorder = Recorder()
        before = recorder.snapshot()
        events: list[Any] = []
        report = await _scan(recorder, surface=surface, events=events)
        _SAFE[surface] = (recorder, before, events, report)
    return _SAFE[surface]


@pytest.mark.parametrize("surface", sorted(SURFACES))
async def test_safe_scan_sends_only_get_head_and_options_and_changes_nothing(surface: str) -> None:
    recorder, before, events, report = await _safe_scan(surface)

    ran = {e.check for e in events if isinstance(e, CheckFinished) and e.status != "failed"}
    assert ran == {spec.name for spec in load_all().values() if spec.mode == "safe"}
    assert recorder.writes() == []
    assert {m for m, _, _ in recorder.seen} <= READS
    assert {p for _, p, _ in recorder.seen} & NEVER == set()
    assert recorder.snapshot() == before
    assert report.complete, report.notes
    skipped = {s.operation for s in report.skipped}
    assert {"GET /admin/reset", "GET /auth/logout"} <= skipped
    assert not any(s.operation.startswith(("POST", "PATCH", "DELETE")) for s in report.skipped)


async def test_safe_scan_sends_no_prompt_and_reports_the_ai_endpoint_unconfirmed() -> None:
    recorder, _, _, report = await _safe_scan("spec")

    llm = [f for f in report.findings if f.category == "llm_security"]
    assert [(f.type_id, f.operation) for f in llm] == [
        ("llm_security.endpoint-detected", "POST /v1/chat/completions")
    ]
    assert ("POST", "/notes") not in recorder.writes()
    assert any("--include 'POST /v1/chat/completions'" in note for note in report.notes)


async def test_safe_scan_sends_prompts_only_to_the_operation_include_names() -> None:
    recorder = Recorder()
    before = recorder.snapshot()

    await _scan(recorder, include=("POST /v1/chat/completions",))

    assert {w for w in recorder.writes()} == {("POST", "/v1/chat/completions")}
    assert recorder.snapshot() == before


async def test_active_scan_calls_nothing_irreversible_and_leaves_no_trace() -> None:
    recorder = Recorder()
    before = recorder.snapshot()

    report = await _scan(recorder, mode="active")

    writes = set(recorder.writes())
    assert {p for _, p, _ in recorder.seen} & NEVER == set()
    assert not {w for w in writes if w[1].endswith("/publish")}
    assert ("POST", "/invitations") not in writes
    assert ("PATCH", "/settings") not in writes and ("PATCH", "/me") not in writes
    assert ("PATCH", "/items/i-1") not in writes, "it writes only objects it created"
    created = {p for m, p in writes if m == "DELETE"}
    assert created and all(p.startswith(("/notes/n-", "/webhooks/w-")) for p in created)
    assert recorder.snapshot() == before
    assert report.not_restored == [] and report.restored >= 1
    assert report.complete, report.notes
    skipped = {s.operation for s in report.skipped}
    assert {
        "POST /items/{item_id}/publish",
        "POST /invitations",
        "PATCH /settings",
        "PATCH /me",
        "DELETE /items/{item_id}",
    } <= skipped


async def test_active_scan_never_breaks_its_own_session_on_the_privilege_field() -> None:
    recorder = Recorder()

    report = await _scan(recorder, mode="active", include=("PATCH /me",))

    assert recorder.broken == set()
    assert recorder.state["profiles"]["u-alice"]["role"] == "user"
    assert report.complete, report.notes


async def test_a_session_that_starts_failing_mid_scan_makes_the_report_incomplete() -> None:
    recorder = Recorder(break_after=25)

    report = await _scan(recorder)

    assert not report.complete
    (note,) = [n for n in report.notes if n.startswith("the session of")]
    assert "the session of identity 'alice' broke" in note
    assert "answered 500 where it had answered 200" in note
    assert "no write preceded it" in note


async def test_a_write_that_breaks_a_session_is_named_in_the_report() -> None:
    recorder = Recorder()

    async def breaks_alice_on_her_first_item_write(request: Any, handler: Any) -> Any:
        answer = await handler(request)
        alice = request.headers.get("Authorization", "").endswith("0001")
        if alice and request.method == "PATCH" and request.path.startswith("/items/"):
            recorder.broken.add("u-alice")
        return answer

    app = make_app(recorder)
    app.middlewares.append(web_middleware(breaks_alice_on_her_first_item_write))
    async with LiveApp(app) as url:
        report = await scan(
            ScanRequest(
                target=url,
                spec=f"{url}/openapi.json",
                identities=IDENTITIES,
                mode="active",
                include=("PATCH /items/{item_id}",),  # not created by the scan: named to be written
                limits=Limits(rate=500, burst=5),
            )
        )

    assert not report.complete
    (note,) = [n for n in report.notes if n.startswith("the session of")]
    assert "the session of identity 'alice' broke" in note
    assert "the last write before it was PATCH /items/" in note


def web_middleware(function: Any) -> Any:
    """``function`` as an aiohttp middleware (kept here: only this test adds one)."""
    from aiohttp import web

    return web.middleware(function)
