"""What the harmless detection exchange alone shows: model name, usage figures, grounding, leaks.

No request is sent here. Each observation names the finding it supports, how sure it is, and a
sentence saying what was seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from middlebrick.checks.llm_security._detectors import new_markers, vocabulary
from middlebrick.checks.llm_security._endpoints import Endpoint
from middlebrick.checks.llm_security._request import HARMLESS
from middlebrick.findings import Confidence
from middlebrick.knowledge.llm_models import LlmMarkerGroups

MODEL = "llm_security.model-disclosure"
USAGE = "llm_security.usage-metadata"
GROUNDING = "llm_security.no-grounding"
PROMPT = "llm_security.system-prompt-leak"

PASSIVE_PROMPT_MARKERS = 3
"""Distinct instruction markers a harmless answer must hold to count as a prompt fragment."""


@dataclass(frozen=True)
class Observation:
    """One thing the detection exchange shows."""

    finding: str
    confidence: Confidence
    reason: str
    match: str | None = None


def observe(endpoint: Endpoint, markers: LlmMarkerGroups) -> list[Observation]:
    """The observations of one endpoint's harmless exchange, in a fixed order."""
    found = [_model(endpoint, markers), _usage(endpoint, markers), _grounding(endpoint)]
    found.append(_prompt_fragments(endpoint))
    return [o for o in found if o is not None]


def _model(endpoint: Endpoint, markers: LlmMarkerGroups) -> Observation | None:
    resp = endpoint.exchange.response
    named: list[tuple[str, str]] = []
    if endpoint.reply.model:
        named.append(("the `model` field", endpoint.reply.model))
    if resp is not None:
        for header in markers.model_headers:
            value = resp.headers.get(header)
            if value and value.strip():
                named.append((f"the {header} header", value.strip()))
    sent = (endpoint.format.sent_model or "").lower()
    named = [
        (where, value) for where, value in named if not (sent and value.lower().startswith(sent))
    ]
    if not named:
        return None
    where, value = named[0]
    known = any(p.search(value) for p in vocabulary().model)
    return Observation(
        MODEL,
        Confidence.confirmed if known else Confidence.firm,
        f"the answer names the model in {where}: {value[:80]}"
        + ("" if sent else " (the request named none)"),
        value[:80],
    )


def _usage(endpoint: Endpoint, markers: LlmMarkerGroups) -> Observation | None:
    if endpoint.reply.usage:
        figures = ", ".join(f"{k}={v:g}" for k, v in list(endpoint.reply.usage.items())[:4])
        return Observation(
            USAGE, Confidence.confirmed, f"the answer reports token usage or cost: {figures}"
        )
    resp = endpoint.exchange.response
    if resp is None:
        return None
    headers = [h for h in markers.usage_headers if resp.headers.get(h)]
    if not headers:
        return None
    shown = ", ".join(f"{h}: {resp.headers.get(h)}" for h in headers[:3])
    return Observation(
        USAGE, Confidence.firm, f"the answer's headers report token figures: {shown}"
    )


def _grounding(endpoint: Endpoint) -> Observation | None:
    if endpoint.reply.grounding:
        return None
    return Observation(
        GROUNDING,
        Confidence.firm,
        "the answer has no citation, source or reference field beside the generated text",
    )


def _prompt_fragments(endpoint: Endpoint) -> Observation | None:
    found = new_markers(vocabulary().prompt, endpoint.reply.content, not_in=[HARMLESS])
    if len(found) < PASSIVE_PROMPT_MARKERS:
        return None
    quoted = ", ".join(f"“{f[:60]}”" for f in found[:3])
    return Observation(
        PROMPT,
        Confidence.tentative,
        f"the answer to a harmless message already holds instruction text ({quoted})",
        found[0],
    )
