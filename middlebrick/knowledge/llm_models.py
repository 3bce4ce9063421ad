"""Pydantic models of ``llm_probes.yaml``: AI endpoint detection and the prompt probes, by tier.

Loaded and validated once, at start-up, like every knowledge file (``knowledge.models``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from middlebrick.knowledge.models import SignatureExamples, Strict

LlmTier = Literal["quick", "standard", "deep"]
_LLM_TIERS: tuple[LlmTier, ...] = ("quick", "standard", "deep")
_LLM_PLACEHOLDER = re.compile(r"\{(canary|payload)\}")
_LLM_NEEDS_CANARY = frozenset({"canary", "jailbreak", "markup", "tool_call"})


def _compile_all(patterns: tuple[str, ...]) -> tuple[str, ...]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"regex {pattern!r} does not compile: {exc}") from exc
    return patterns


class LlmPhaseLimits(Strict):
    """How the probes of one tier are paced and bounded (per scan, all endpoints together)."""

    pause_s: float = Field(ge=0, le=5)
    max_requests: int = Field(ge=1, le=100)
    max_seconds: float = Field(gt=0, le=600)


class LlmLimits(Strict):
    """The phase limits of each tier, and the output cap asked of every probe but length ones."""

    quick: LlmPhaseLimits
    standard: LlmPhaseLimits
    deep: LlmPhaseLimits
    max_tokens: int = Field(ge=16, le=4096)
    max_endpoints: int = Field(ge=1, le=5)


class LlmPath(Strict):
    """A usual path of an AI endpoint, probed with GET when no operation looks like one.

    ``strong``: the path alone says "LLM" (``/v1/chat/completions``), so a 405 there is enough
    to try one harmless message; a weak path (``/chat``) also needs LLM words in its answer.
    """

    path: str = Field(pattern=r"^/[A-Za-z0-9._~/-]*$")
    strong: bool = False
    body: Literal["messages", "prompt", "question", "input"] = "messages"


class LlmMarkers(Strict):
    """Case-insensitive regexes that mark a kind of answer, with examples a contract test runs."""

    regex: tuple[str, ...] = Field(min_length=1)
    examples: SignatureExamples

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _compile_all(value)

    def compiled(self) -> tuple[re.Pattern[str], ...]:
        """The regexes, compiled case-insensitive and multi-line."""
        return tuple(re.compile(p, re.IGNORECASE | re.MULTILINE) for p in self.regex)


class LlmMarkerGroups(Strict):
    """The vocabulary the detectors read answers with."""

    refusal: LlmMarkers
    compliance: LlmMarkers
    prompt: LlmMarkers
    model: LlmMarkers  # a model name, in a response field or header
    model_claim: LlmMarkers  # the answer saying which model it is
    secret: LlmMarkers
    markup: LlmMarkers
    model_headers: tuple[str, ...] = Field(min_length=1)
    usage_headers: tuple[str, ...] = Field(min_length=1)
    grounding_fields: tuple[str, ...] = Field(min_length=1)


class LlmDetector(Strict):
    """How a probe's answer is judged: a detector kind and its parameters."""

    kind: Literal[
        "canary",
        "prompt_leak",
        "jailbreak",
        "secret",
        "markup",
        "length",
        "tool_call",
        "model_name",
    ]
    min_markers: int = Field(1, ge=1, le=5)  # prompt_leak: distinct prompt markers needed
    min_tokens: int | None = Field(None, ge=1)  # length: output tokens that prove no cap

    @model_validator(mode="after")
    def _parameters_fit_the_kind(self) -> LlmDetector:
        if (self.kind == "length") != (self.min_tokens is not None):
            raise ValueError("min_tokens is required by, and only allowed for, kind 'length'")
        return self


class LlmProbe(Strict):
    """One prompt probe: what it sends (``{canary}``/``{payload}`` placeholders), how it judges."""

    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    tier: LlmTier
    technique: Literal[
        "system-prompt-extraction",
        "instruction-override",
        "jailbreak",
        "encoding-bypass",
        "delimiter-injection",
        "indirect-injection",
        "data-exfiltration",
        "tool-abuse",
        "cost-exploitation",
        "output-injection",
        "model-identity",
    ]
    finding: str = Field(pattern=r"^llm_security\.[a-z0-9]+(?:-[a-z0-9]+)*$")
    message: str = Field(min_length=8, max_length=4000)
    payload: str | None = Field(None, max_length=2000)  # encoded, then put in {payload}
    encoding: Literal["base64", "rot13", "homoglyph"] | None = None
    max_tokens: int | None = Field(None, ge=1, le=32000)  # asked instead of the default cap
    detector: LlmDetector
    confidence: Literal["confirmed", "firm", "tentative"]

    @model_validator(mode="after")
    def _template_is_complete(self) -> LlmProbe:
        in_message = set(_LLM_PLACEHOLDER.findall(self.message))
        in_payload = set(_LLM_PLACEHOLDER.findall(self.payload or ""))
        if ("payload" in in_message) != (self.payload is not None) or (
            (self.payload is None) != (self.encoding is None)
        ):
            raise ValueError("payload, encoding and a {payload} placeholder go together")
        if "payload" in in_payload:
            raise ValueError("a payload cannot hold {payload}")
        if self.detector.kind in _LLM_NEEDS_CANARY and "canary" not in in_message | in_payload:
            raise ValueError(f"detector {self.detector.kind!r} needs a {{canary}} placeholder")
        if self.detector.kind == "length" and self.max_tokens is None:
            raise ValueError("a length probe must ask for max_tokens")
        return self


class LlmProbePack(Strict):
    """``llm_probes.yaml``: limits per tier, usual AI paths, marker vocabulary, the probes."""

    limits: LlmLimits
    paths: tuple[LlmPath, ...] = Field(min_length=1, max_length=32)
    markers: LlmMarkerGroups
    probes: tuple[LlmProbe, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_unique_and_tiers_fit(self) -> LlmProbePack:
        ids = [p.id for p in self.probes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate probe ids {dupes}")
        for tier in _LLM_TIERS:
            count = len(self.for_tier(tier))
            cap = getattr(self.limits, tier).max_requests
            if count > cap:
                raise ValueError(f"tier {tier} has {count} probes but max_requests {cap}")
        return self

    def for_tier(self, tier: str) -> tuple[LlmProbe, ...]:
        """The probes a scan of ``tier`` sends: its own and those of the lighter tiers."""
        depth = _LLM_TIERS.index(tier)
        return tuple(p for p in self.probes if _LLM_TIERS.index(p.tier) <= depth)
