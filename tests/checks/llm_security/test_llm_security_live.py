"""End to end on loopback, without a spec: a chat endpoint and its fixed twin, one flag apart.

The app answers with the lab's rule-based ItemsBot (``lab/items/llm.py``); the vulnerable
variant needs no token and returns the model and usage, the secure one requires a token,
refuses the probes, caps and escapes its output and returns no metadata.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lab.items import llm
from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Confidence, Severity
from middlebrick.testing import LiveApp

TOKEN = "live-llm-token-0042"
PATH = "/v1/chat/completions"


def _app(*, vulnerable: bool, seen: list[tuple[str, str]]) -> web.Application:
    async def chat(request: web.Request) -> web.Response:
        if not vulnerable and request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"detail": "Not authenticated"}, status=401)
        body = await request.json()
        answer = llm.reply(body["messages"], body.get("max_tokens"), secure=not vulnerable)
        out: dict[str, Any] = {
            "object": "chat.completion",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.content},
                    "finish_reason": answer.finish_reason,
                }
            ],
        }
        if vulnerable:
            out["model"] = llm.MODEL
            out["usage"] = {
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": answer.completion_tokens,
            }
        return web.json_response(out)

    async def index(request: web.Request) -> web.Response:
        return web.json_response({"service": "catalogue assistant"})

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append((request.method, request.path))
        return await handler(request)  # type: ignore[no-any-return]

    app = web.Application(middlewares=[record])
    app.router.add_get("/", index)
    app.router.add_post(PATH, chat)
    return app


async def _scan(
    *, vulnerable: bool, mode: str = "active", include: tuple[str, ...] = ()
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    async with LiveApp(_app(vulnerable=vulnerable, seen=seen)) as url:
        report = await scan(
            ScanRequest(
                target=url,
                headers=(("Authorization", f"Bearer {TOKEN}"),),
                mode=mode,  # type: ignore[arg-type]
                include=include,
            )
        )
    found = {f.type_id: f for f in report.findings if f.category == "llm_security"}
    return found, seen


async def test_llm_endpoints_reports_the_vulnerable_chat_endpoint_found_without_a_spec() -> None:
    found, _ = await _scan(vulnerable=True)

    assert {
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
    } <= set(found)
    assert {f.operation for f in found.values()} == {f"POST {PATH}"}


async def test_llm_endpoints_stays_quiet_above_info_when_the_endpoint_is_the_secure_twin() -> None:
    found, seen = await _scan(vulnerable=False)

    assert "llm_security.endpoint-detected" in found
    assert [f.type_id for f in found.values() if f.severity is not Severity.info] == []
    assert ("POST", PATH) in seen


async def test_llm_endpoints_reports_the_endpoint_unconfirmed_and_sends_no_prompt_in_safe_mode():
    found, seen = await _scan(vulnerable=True, mode="safe")

    assert set(found) == {"llm_security.endpoint-detected"}
    detected = found["llm_security.endpoint-detected"]
    assert detected.confidence is Confidence.tentative and detected.severity is Severity.info
    assert {method for method, _ in seen} <= {"GET", "HEAD", "OPTIONS"}


async def test_llm_endpoints_probes_in_safe_mode_only_what_include_names() -> None:
    found, seen = await _scan(vulnerable=True, mode="safe", include=(f"POST {PATH}",))

    assert "llm_security.system-prompt-leak" in found
    assert {(method, path) for method, path in seen if method == "POST"} == {("POST", PATH)}
