"""The llm_endpoints check on a fake chat endpoint answering with recorded answers."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from middlebrick.checks.context import CheckContext
from middlebrick.checks.llm_security import _phase as _llm_phase
from middlebrick.checks.llm_security._detectors import Judge
from middlebrick.checks.llm_security._endpoints import CONTROL_PATH, Endpoint
from middlebrick.checks.llm_security._reply import Reply
from middlebrick.checks.llm_security._request import HARMLESS, ChatFormat
from middlebrick.checks.registry import load_all
from middlebrick.config import ScanRequest, Tier
from middlebrick.errors import NotApplicable
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request
from middlebrick.knowledge import llm_probes
from middlebrick.knowledge.llm_models import LlmPhaseLimits
from middlebrick.spec.model import Operation, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, make_baseline, response, run_check

NAME = "llm_security.llm_endpoints"
PATH = "/v1/chat/completions"
KEY = f"POST {PATH}"
MODEL = "llama-3.1-8b-instruct-itemsbot-ft2"
USAGE = {"prompt_tokens": 64, "completion_tokens": 24, "total_tokens": 88}
SCHEMA = {
    "type": "object",
    "required": ["messages"],
    "properties": {
        "model": {"type": "string", "default": "itemsbot"},
        "messages": {
            "type": "array",
            "items": {"properties": {"role": {"type": "string"}, "content": {"type": "string"}}},
        },
        "max_tokens": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
    },
}
CHAT_OP = Operation("POST", PATH, request_body=RequestBody("application/json", SCHEMA))
AUTHENTICATED = ScanRequest(
    target=BASE, headers=(("Authorization", "Bearer t0ken"),), mode="active"
)
LAB_FLAWS = {
    "llm_security.endpoint-detected",
    "llm_security.unauthenticated-endpoint",
    "llm_security.model-disclosure",
    "llm_security.usage-metadata",
    "llm_security.system-prompt-leak",
    "llm_security.prompt-injection",
    "llm_security.jailbreak",
    "llm_security.data-exfiltration",
    "llm_security.output-injection",
    "llm_security.unbounded-output",
}


def _method_not_allowed(request: Request) -> Any:
    return response(405, {"detail": "Method Not Allowed"}, {"Allow": "POST"}, url=request.url)


async def _run(
    sender: FakeSender,
    *,
    operations: tuple[Operation, ...] = (CHAT_OP,),
    scan: ScanRequest = AUTHENTICATED,
) -> list[Finding]:
    return await run_check(
        NAME,
        baseline=make_baseline([]),
        sender=sender,
        scan=scan,
        surface=Surface(base_url=BASE, operations=operations),
    )


def _by_id(findings: list[Finding]) -> dict[str, Finding]:
    return {f.type_id: f for f in findings}


def _posts(sender: FakeSender) -> list[Request]:
    return [r for r in sender.sent if r.method == "POST"]


async def test_llm_endpoints_reports_every_lab_flaw_of_a_vulnerable_chat_endpoint(
    recordings: Any,
) -> None:
    bot = recordings.bot("vulnerable", model=MODEL, usage=USAGE)
    sender = FakeSender({("POST", PATH): bot, ("GET", PATH): _method_not_allowed})

    found = _by_id(await _run(sender))

    assert LAB_FLAWS | {"llm_security.tool-abuse", "llm_security.no-grounding"} == set(found)
    assert all(f.operation == KEY for f in found.values())
    assert found["llm_security.unauthenticated-endpoint"].severity is Severity.critical
    assert found["llm_security.unauthenticated-endpoint"].confidence is Confidence.confirmed
    assert found["llm_security.system-prompt-leak"].confidence is Confidence.confirmed
    leak = found["llm_security.prompt-injection"]
    assert "canary" in leak.detail
    assert [e.label for e in leak.evidence][-1] == "harmless message (control)"


async def test_llm_endpoints_stays_quiet_when_the_endpoint_is_the_secure_twin(
    recordings: Any,
) -> None:
    bot = recordings.bot("secure", authenticated_only=True)
    sender = FakeSender({("POST", PATH): bot})

    findings = await _run(sender)

    assert {f.type_id for f in findings} == {
        "llm_security.endpoint-detected",
        "llm_security.no-grounding",
    }
    assert all(f.severity is Severity.info for f in findings)
    anonymous = [r for r in _posts(sender) if r.identity == "anonymous"]
    assert len(anonymous) == 1, "one anonymous replay of the harmless message"


async def test_llm_endpoints_stays_quiet_on_probes_when_the_endpoint_echoes_its_input(
    recordings: Any,
) -> None:
    sender = FakeSender({("POST", PATH): recordings.bot("echo", authenticated_only=True)})

    found = {f.type_id for f in await _run(sender)}

    assert found == {
        "llm_security.endpoint-detected",
        "llm_security.no-grounding",
        "llm_security.output-injection",  # the probe's markup comes back unescaped
    }


async def test_llm_endpoints_reports_the_endpoint_without_a_spec_by_its_usual_path(
    recordings: Any,
) -> None:
    sender = FakeSender(
        {("GET", PATH): _method_not_allowed, ("POST", PATH): recordings.bot("vulnerable")}
    )

    found = _by_id(await _run(sender, operations=()))

    detected = found["llm_security.endpoint-detected"]
    assert detected.operation == KEY
    assert "405" in detected.detail and "Allow: POST" in detected.detail
    assert [e.label for e in detected.evidence] == ["harmless message", "path probe"]
    assert LAB_FLAWS - {"llm_security.model-disclosure", "llm_security.usage-metadata"} <= set(
        found
    )
    assert ("GET", CONTROL_PATH) in {(r.method, r.url.removeprefix(BASE)) for r in sender.sent}


async def test_llm_endpoints_stays_quiet_when_every_path_answers_like_a_catch_all() -> None:
    sender = FakeSender()
    sender.routes = {("GET", p.path): _method_not_allowed for p in llm_probes().paths} | {
        ("GET", CONTROL_PATH): _method_not_allowed
    }

    with pytest.raises(NotApplicable, match="no AI/LLM endpoint"):
        await _run(sender, operations=())

    assert _posts(sender) == []


async def test_llm_endpoints_sends_no_post_when_nothing_looks_like_an_ai_endpoint() -> None:
    notes = Operation(
        "POST",
        "/rooms/{room}/messages",
        request_body=RequestBody("application/json", {"properties": {"text": {"type": "string"}}}),
    )
    sender = FakeSender({("GET", "/chat"): _method_not_allowed})

    with pytest.raises(NotApplicable):
        await _run(sender, operations=(notes,))

    assert _posts(sender) == []


async def test_llm_endpoints_tries_a_weak_path_only_when_its_answer_speaks_of_prompts(
    recordings: Any,
) -> None:
    def speaks(request: Request) -> Any:
        return response(422, {"detail": "field required: messages"}, url=request.url)

    quiet = FakeSender({("GET", "/chat"): _method_not_allowed})
    chatty = FakeSender({("GET", "/chat"): speaks, ("POST", "/chat"): recordings.bot("secure")})

    with pytest.raises(NotApplicable):
        await _run(quiet, operations=())
    assert _posts(quiet) == []
    found = _by_id(await _run(chatty, operations=()))
    assert found["llm_security.endpoint-detected"].operation == "POST /chat"


async def test_llm_endpoints_reports_unauthenticated_firm_when_the_scan_has_no_credentials(
    recordings: Any,
) -> None:
    sender = FakeSender({("POST", PATH): recordings.bot("secure")})

    found = _by_id(await _run(sender, scan=ScanRequest(target=BASE, mode="active")))

    finding = found["llm_security.unauthenticated-endpoint"]
    assert finding.confidence is Confidence.firm
    assert not [r for r in _posts(sender) if r.identity == "anonymous"]


@pytest.mark.parametrize(("tier", "probes"), [("quick", 7), ("standard", 18), ("deep", 25)])
async def test_llm_endpoints_sends_the_tier_probes_one_at_a_time_within_the_declared_cost(
    tier: str, probes: int, recordings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(_llm_phase, "pause", pause)
    bot = recordings.bot("secure", authenticated_only=True)
    sender = FakeSender({("POST", PATH): bot, ("GET", PATH): _method_not_allowed})
    scan = AUTHENTICATED.model_copy(update={"tier": Tier(tier)})

    await _run(sender, scan=scan, operations=())

    probe_posts = [r for r in _posts(sender) if recordings.text(r) != HARMLESS]
    assert len(probe_posts) == probes
    assert len(pauses) == probes - 1
    assert pauses[0] == getattr(llm_probes().limits, tier).pause_s
    spec = load_all()[NAME]
    assert len(sender.sent) <= spec.max_requests


def _endpoint(recordings: Any) -> Endpoint:
    exchange = Exchange(Request("POST", BASE + PATH), response(200, recordings.chat("Hi")))
    return Endpoint(
        KEY, BASE + PATH, ChatFormat("messages", "messages"), exchange, Reply("Hi", 2), "test"
    )


def _context(sender: FakeSender) -> CheckContext:
    surface = Surface(base_url=BASE, operations=())
    return CheckContext(AUTHENTICATED, surface, make_baseline([]), sender)


async def test_phase_stops_at_its_request_limit_and_says_so(recordings: Any) -> None:
    sender = FakeSender({("POST", PATH): recordings.bot("vulnerable")})
    phase = _llm_phase.Phase(LlmPhaseLimits(pause_s=0, max_requests=3, max_seconds=30), 64)

    await phase.run(_context(sender), _endpoint(recordings), llm_probes().probes, Judge(None))

    assert len(sender.sent) == 3 and phase.sent == 3
    assert phase.cut is not None and "3 request limit" in phase.cut


async def test_phase_stops_at_its_time_limit(recordings: Any) -> None:
    ticks = itertools.count(0, 10.0)  # every look at the clock: ten more seconds
    sender = FakeSender({("POST", PATH): recordings.bot("vulnerable")})
    limits = LlmPhaseLimits(pause_s=0, max_requests=30, max_seconds=35)
    phase = _llm_phase.Phase(limits, 64, clock=lambda: next(ticks))

    await phase.run(_context(sender), _endpoint(recordings), llm_probes().probes, Judge(None))

    assert 0 < phase.sent < 5
    assert phase.cut is not None and "35 s limit" in phase.cut


async def test_llm_endpoints_stays_passive_in_safe_mode_on_an_endpoint_the_spec_describes(
    recordings: Any,
) -> None:
    sender = FakeSender({("POST", PATH): recordings.bot("vulnerable", model=MODEL, usage=USAGE)})

    found = await _run(sender, scan=AUTHENTICATED.model_copy(update={"mode": "safe"}))

    assert [(f.type_id, f.operation, f.confidence) for f in found] == [
        ("llm_security.endpoint-detected", KEY, Confidence.tentative)
    ]
    assert "messages" in found[0].detail and "no message" in found[0].detail
    assert _posts(sender) == []


async def test_llm_endpoints_stays_quiet_when_a_free_text_field_belongs_to_a_collection(
    recordings: Any,
) -> None:
    body = RequestBody(
        "application/json",
        {
            "type": "object",
            "properties": {"prompt": {"type": "string"}, "model": {"type": "string"}},
        },
    )
    saved = Operation("POST", "/prompts", request_body=body)
    listing = Operation("GET", "/prompts")
    removal = Operation("DELETE", "/prompts/{prompt_id}")
    sender = FakeSender({("POST", "/prompts"): response(201, {"prompt_id": "p1", "prompt": "x"})})

    with pytest.raises(NotApplicable):
        await _run(sender, operations=(saved, listing, removal))

    assert _posts(sender) == []
