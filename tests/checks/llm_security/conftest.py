"""Fixtures of the llm_security tests: recorded answers, a fake chat endpoint, no pauses.

``recordings`` gives the answers of ``recorded_answers.yaml``: ``body(probe_id, variant)``,
``chat(content)`` and ``bot(variant)``, a responder for ``FakeSender`` that answers the harmless
message with the control and each probe with its recorded ``vulnerable`` or ``secure`` answer
(``"echo"`` repeats every message back).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from middlebrick.checks.llm_security import _phase as _llm_phase
from middlebrick.checks.llm_security._request import HARMLESS, canary_for, render
from middlebrick.http.exchange import Request, Response
from middlebrick.knowledge import llm_probes
from middlebrick.testing import response

RECORDED: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "recorded_answers.yaml").read_text(encoding="utf-8")
)


@pytest.fixture(autouse=True)
def _no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(seconds: float) -> None:
        return None

    monkeypatch.setattr(_llm_phase, "pause", instant)


class Recordings:
    """The recorded answers and the fake endpoint built on them."""

    control: str = RECORDED["control"]
    probe_ids: frozenset[str] = frozenset(RECORDED["probes"])

    @staticmethod
    def body(probe_id: str, variant: str) -> dict[str, Any]:
        """The recorded answer of one probe as a JSON body, its canary filled in."""
        return recorded_body(probe_id, variant)

    @staticmethod
    def chat(content: str, **extra: Any) -> dict[str, Any]:
        """An OpenAI-style chat completion carrying ``content``."""
        return chat_body(content, **extra)

    @staticmethod
    def text(request: Request) -> str:
        """The text a request sends."""
        return last_user_text(request)

    @staticmethod
    def bot(
        variant: str, *, authenticated_only: bool = False, **extra: Any
    ) -> Callable[[Request], Response]:
        """A responder answering the harmless message and every probe from the recordings."""
        return chat_bot(variant, authenticated_only=authenticated_only, **extra)


@pytest.fixture
def recordings() -> Recordings:
    """The recorded answers and the fake chat endpoint."""
    return Recordings()


def recorded_body(probe_id: str, variant: str) -> dict[str, Any]:
    """The recorded answer of one probe as a JSON body, its canary filled in."""
    answer = RECORDED["probes"][probe_id][variant]
    canary = canary_for(probe_id)
    if isinstance(answer, str):
        return chat_body(answer.replace("{canary}", canary))
    return json.loads(json.dumps(answer).replace("{canary}", canary))


def chat_body(content: str, **extra: Any) -> dict[str, Any]:
    """An OpenAI-style chat completion carrying ``content``."""
    return {
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        **extra,
    }


def last_user_text(request: Request) -> str:
    """The text a request sends (last user message, or a ``prompt``/``question`` field)."""
    data = json.loads(request.body or b"{}")
    if isinstance(data.get("messages"), list):
        users = [m for m in data["messages"] if m.get("role") == "user"]
        return str(users[-1]["content"]) if users else ""
    return str(data.get("prompt") or data.get("question") or "")


def chat_bot(
    variant: str, *, authenticated_only: bool = False, **extra: Any
) -> Callable[[Request], Response]:
    """A responder answering the harmless message and every probe from the recordings."""
    messages = {render(p, canary_for(p.id)): p.id for p in llm_probes().probes}

    def answer(request: Request) -> Response:
        if authenticated_only and request.identity == "anonymous":
            return response(401, {"detail": "Not authenticated"}, url=request.url)
        text = last_user_text(request)
        if variant == "echo":
            return response(200, chat_body(text, **extra), url=request.url)
        if text == HARMLESS or text not in messages:
            return response(200, chat_body(RECORDED["control"], **extra), url=request.url)
        body = recorded_body(messages[text], variant)
        return response(200, {**extra, **body}, url=request.url)

    return answer
