"""LLM / AI security: AI endpoints found, read passively, then probed with a tier of prompts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from middlebrick.checks._compare import looks_like_denial
from middlebrick.checks._signatures import ScanEnv
from middlebrick.checks.context import CheckContext
from middlebrick.checks.llm_security._detectors import Judge
from middlebrick.checks.llm_security._endpoints import (
    EXTRA_TRIES,
    Candidate,
    Endpoint,
    find_endpoints,
)
from middlebrick.checks.llm_security._passive import Observation, observe
from middlebrick.checks.llm_security._phase import Phase, Signal
from middlebrick.checks.llm_security._reply import STRONG, parse_reply
from middlebrick.checks.llm_security._request import HARMLESS
from middlebrick.checks.registry import check
from middlebrick.errors import NotApplicable, ScanInterrupted
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange
from middlebrick.knowledge import catalogue, llm_probes

_DETECTED = "llm_security.endpoint-detected"
_UNAUTHENTICATED = "llm_security.unauthenticated-endpoint"
_ORDER = tuple(type_id for type_id in catalogue() if type_id.startswith("llm_security."))
_PACK = llm_probes()
_LIMITS = _PACK.limits
# The most requests one run sends: detection (two formats per candidate tried, the usual paths
# and their control), one anonymous replay per endpoint, and the deep tier's probes.
_COST = (
    2 * (_LIMITS.max_endpoints + EXTRA_TRIES)
    + len(_PACK.paths)
    + 1
    + 2 * (_LIMITS.max_endpoints + EXTRA_TRIES)
    + _LIMITS.max_endpoints
    + _LIMITS.deep.max_requests
)
_EVIDENCE = 2  # probe exchanges shown per finding, besides the control


@dataclass(frozen=True)
class _Shown:
    """One reason for a finding: a passive observation or a probe's verdict."""

    finding: str
    confidence: Confidence
    sentence: str
    label: str
    exchange: Exchange
    match: str | None


@check(category="llm_security", emits=set(_ORDER), max_requests=_COST, writes=True)
async def llm_endpoints(ctx: CheckContext) -> AsyncIterator[Finding]:
    """AI / LLM endpoints: detected, read passively, then probed with the scan tier's prompts.

    **Detection.** POST operations whose request schema carries `messages` or a text field
    beside `model`/`temperature`/`max_tokens`, or whose path is a usual AI path, are
    candidates; collections (a GET lists the same path, or a DELETE removes their objects) are
    not, unless their path is a usual AI path. Without one, the usual AI paths of
    `knowledge/llm_probes.yaml` are requested with GET beside a path that cannot exist; a
    strong path (`/v1/chat/completions`) answering 405/400/401/403/422 where the control did
    not, or a weak path (`/chat`) whose answer speaks of prompts, is a candidate.

    **Safe mode sends no prompt**: a candidate is reported as detected (info, tentative) from
    its description or its GET answer alone, with a note on how to probe it (`--active`, or
    `--include 'POST /path'`). In active mode, or to an operation named with `--include`, a
    candidate gets one harmless message (`Hello! In one short sentence, what can you help me
    with?`) whose answer must have the shape of generated text (`choices`, `usage`, Anthropic
    or Ollama shapes, streamed or not) to make the endpoint detected (info), and then:

    **From the harmless exchange**: the model named in a field or header, token
    usage or cost figures, no citation/source field (info), instruction text already in the
    answer (tentative). Without a detected endpoint the category shows as not checked.
    **Unauthenticated**: the harmless request replayed without
    credentials answers with generated text (one request).

    **Probes** (`--tier`: 7 quick, 18 standard, 25 deep): system-prompt extraction,
    instruction override, role-play jailbreaks, base64 / ROT13 / homoglyph encodings,
    delimiter and nested injection, injection through quoted or fetched content, secret and
    personal-data exfiltration, tool-call injection, unbounded output and HTML/markdown output
    injection, sent one at a time with a pause, within the tier's request and time limits.
    Each probe's detector judges its answer against the harmless answer and the other
    answers: canaries obeyed rather than echoed, instruction or persona text that the control
    lacks, secrets that no request held, unescaped markup, output length.
    """
    pack = llm_probes()
    tier = ctx.scan.tier.value
    endpoints, unsent = await find_endpoints(ctx, pack)
    if not endpoints and not unsent:
        raise NotApplicable("no AI/LLM endpoint was detected")
    for candidate in unsent:
        yield _unconfirmed(ctx, candidate)
    phase = Phase(getattr(pack.limits, tier), pack.limits.max_tokens, pack.markers.grounding_fields)
    probes = pack.for_tier(tier)
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    for endpoint in endpoints:
        shown = [_from_observation(o, endpoint) for o in observe(endpoint, pack.markers)]
        if phase.interrupted is None:
            try:
                anonymous = await _unauthenticated(ctx, endpoint)
            except ScanInterrupted as exc:
                phase.interrupted, anonymous = exc, None
            if anonymous is not None:
                shown.append(anonymous)
        signals: list[Signal] = []
        before = phase.sent
        if phase.interrupted is None:
            judge = Judge(endpoint.reply, env, sent=[HARMLESS])
            signals = await phase.run(ctx, endpoint, probes, judge)
        shown += [_from_signal(s) for s in signals]
        yield _detected(ctx, endpoint, phase, (phase.sent - before, len(probes)), tier)
        for type_id in _ORDER:
            reasons = [s for s in shown if s.finding == type_id]
            if reasons:
                yield _finding(ctx, endpoint, type_id, reasons)
    if phase.interrupted is not None:
        raise phase.interrupted


async def _unauthenticated(ctx: CheckContext, endpoint: Endpoint) -> _Shown | None:
    """The harmless request without credentials: answered with generated text?"""
    if not ctx.scan.headers and not ctx.scan.identities:
        return _Shown(
            _UNAUTHENTICATED,
            Confidence.firm,
            "the scan sent no credentials and the endpoint answered the harmless message with "
            "generated text",
            "harmless message (no credentials)",
            endpoint.exchange,
            None,
        )
    anonymous = await ctx.send(endpoint.exchange.request.without_credentials())
    resp = anonymous.response
    if resp is None or not resp.ok or looks_like_denial(resp):
        return None
    reply = parse_reply(resp)
    if reply is None or not reply.content.strip():
        return None
    if reply.strength < min(endpoint.reply.strength, STRONG):
        return None
    return _Shown(
        _UNAUTHENTICATED,
        Confidence.confirmed,
        f"the harmless message sent without credentials got {resp.status} with generated text, "
        f"as the authenticated request did ({_status(endpoint.exchange)})",
        "anonymous",
        anonymous,
        None,
    )


def _unconfirmed(ctx: CheckContext, candidate: Candidate) -> Finding:
    """A candidate the scan may not send a message to, reported from what it read alone."""
    ctx.note(
        f"{candidate.operation} looks like an AI endpoint but was sent no prompt: safe mode "
        f"sends only GET, HEAD and OPTIONS; probe it with --active or --include "
        f"'{candidate.operation}'"
    )
    return ctx.finding(
        _DETECTED,
        candidate.operation,
        detail=f"`{candidate.operation}` looks like an AI endpoint: {candidate.how}. It was sent "
        "no message (safe mode), so this is unconfirmed",
        evidence=[("path probe", candidate.hint)] if candidate.hint is not None else [],
        confidence=Confidence.tentative,
    )


def _detected(
    ctx: CheckContext, endpoint: Endpoint, phase: Phase, sent: tuple[int, int], tier: str
) -> Finding:
    reply = endpoint.reply
    shape = "a streamed model answer" if reply.streamed else "a model answer"
    cut = f" ({phase.cut})" if phase.cut and sent[0] < sent[1] else ""
    evidence: list[tuple[str, Exchange]] = [("harmless message", endpoint.exchange)]
    if endpoint.hint is not None:
        evidence.append(("path probe", endpoint.hint))
    return ctx.finding(
        _DETECTED,
        endpoint.operation,
        detail=f"`{endpoint.operation}` answered a harmless message with {shape} "
        f"({_status(endpoint.exchange)}); it was tried because {endpoint.how}. "
        f"{sent[0]} of the {tier} tier's {sent[1]} probes were sent to it{cut}",
        evidence=evidence,
        confidence=Confidence.confirmed if reply.strength == STRONG else Confidence.firm,
    )


def _finding(
    ctx: CheckContext, endpoint: Endpoint, type_id: str, reasons: Sequence[_Shown]
) -> Finding:
    best = max(reasons, key=lambda r: r.confidence.rank)
    sentences = "; ".join(dict.fromkeys(r.sentence for r in reasons[:3]))
    more = f" (and {len(reasons) - 3} more)" if len(reasons) > 3 else ""
    evidence: list[tuple[str, Exchange]] = []
    for reason in [best, *(r for r in reasons if r is not best)]:
        if all(reason.exchange is not ex for _, ex in evidence) and len(evidence) < _EVIDENCE:
            evidence.append((reason.label, reason.exchange))
    if all(ex is not endpoint.exchange for _, ex in evidence):
        evidence.append(("harmless message (control)", endpoint.exchange))
    return ctx.finding(
        type_id,
        endpoint.operation,
        detail=f"{sentences}{more}",
        evidence=evidence,
        confidence=best.confidence,
        match=best.match,
    )


def _from_observation(observation: Observation, endpoint: Endpoint) -> _Shown:
    return _Shown(
        observation.finding,
        observation.confidence,
        observation.reason,
        "harmless message",
        endpoint.exchange,
        observation.match,
    )


def _from_signal(signal: Signal) -> _Shown:
    probe = signal.probe
    return _Shown(
        probe.finding,
        signal.verdict.confidence,
        f"probe `{probe.id}` ({probe.technique}): {signal.verdict.reason}",
        f"probe {probe.id}",
        signal.exchange,
        signal.verdict.match,
    )


def _status(exchange: Exchange) -> str:
    return str(exchange.response.status) if exchange.response is not None else "no answer"
