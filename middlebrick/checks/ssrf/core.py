"""SSRF: URL-accepting parameters, confirmed by the scanner's own loopback canary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

from middlebrick.checks._bodies import creates, of_created, probeable, probed_writes
from middlebrick.checks._canary import UNREACHABLE, Canary, Probe, reachable_from
from middlebrick.checks._probe import deleted
from middlebrick.checks._signatures import (
    CompiledSignature,
    Hit,
    ScanEnv,
    scan_exchange,
    signatures_for,
)
from middlebrick.checks._urlinputs import UrlInput, url_inputs, with_input
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Evidence, Finding, Severity
from middlebrick.http.exchange import Exchange

_PARAMETER = "ssrf.url-parameter"
_FETCH = "ssrf.confirmed-fetch"

METADATA_URL = "http://169.254.169.254/latest/meta-data/"
"""The cloud metadata listing asked for on targets that are not on loopback (AWS IMDSv1)."""

_PROBED = 2  # URL parameters probed per operation


@dataclass(frozen=True)
class _Sent:
    item: UrlInput
    baseline: Exchange
    probe: Probe
    exchange: Exchange


_BODIES = 10  # active mode: writes of each kind (POST, update of a created object) probed


@check(
    category="ssrf",
    emits={_PARAMETER, _FETCH},
    per_operation=2 * _PROBED,
    max_requests=2 * _BODIES * (2 + _PROBED),
    writes=True,  # active mode: POSTs (reads, removable creations), through the write journal
)
async def url_parameters(ctx: CheckContext) -> AsyncIterator[Finding]:
    """URL-accepting parameters, and whether the server fetches what they name.

    Finds every input that takes a URL to fetch: query, path and JSON/form body fields named
    like a URL (``url``, ``image_url``, ``href``, ``feed`` …), declared ``format: uri``, or whose
    example or baseline value is an absolute URL. Redirect targets (``next``, ``return_to``)
    and callbacks (``callback_url``, ``webhook``) belong to unsafe_consumption.

    For each readable operation (its first two such query or path parameters; operations
    whose baseline was refused with 401/403 are skipped) the check sends the baseline request
    with the parameter set to a URL of its own loopback canary (127.0.0.1, a random port, an
    unguessable token per probe) and waits up to a second after its last probe for late hits.
    Active mode does the same with the first two URL fields of the JSON bodies of up to ten
    POST operations that name a read (``/preview``-style fetchers named ``/search`` …) or that
    create in a collection whose objects the API documents a ``DELETE`` for, and of the PUT
    and PATCH of such a collection's objects (sent to an object the check creates first): the
    body is sent once as its own baseline, then once per field with the canary's URL; the object
    each creation made is deleted at once by the write journal (probing stops if one cannot
    be), the one an update was probed on after its probes.
    On a target that is not on loopback, a probe the server did not refuse with 4xx is
    followed by one asking for the cloud metadata listing (``METADATA_URL``).

    - confirmed-fetch (confirmed): the canary received a request for the probe's token, a
      blind SSRF the response alone would not show; the detail says whether the response
      also carried the canary's answer. Critical when the metadata probe's answer holds cloud
      metadata (an AMI listing, an instance identity document, IAM credentials).
    - url-parameter: at its catalogue severity when the server was shown to request the URL
      (confirmed) or its answer shows it tried to connect (``Connection refused``,
      ``ECONNREFUSED``, ``Max retries exceeded`` … absent from the baseline; firm); as info
      otherwise, naming why it was recognised and what the probe got back (an allow-list
      answers 4xx), or why it was not probed (a write in safe mode, a body field of a
      write the scan could not undo).
    """
    reachable = reachable_from(ctx.base_url)
    unprobed: list[tuple[UrlInput, str]] = []
    chosen: list[tuple[UrlInput, Exchange]] = []
    bodies: list[UrlInput] = []
    bodies_of = probeable(ctx)
    in_bodies = (
        (lambda op: bodies_of(op) or of_created(ctx, op)) if ctx.scan.mode == "active" else None
    )
    async for operation in ctx.each(ctx.surface.operations):
        exchange = ctx.baseline.get(operation.key)
        request = exchange.request if exchange is not None else None
        inputs = [i for i in url_inputs(operation, request) if i.kind == "fetch"]
        for item in inputs:
            if item.where == "body" and in_bodies is not None and in_bodies(operation):
                if sum(1 for b in bodies if b.operation is operation) < _PROBED:
                    bodies.append(item)
                continue
            probed = sum(1 for chosen_item, _ in chosen if chosen_item.operation is operation)
            why = _not_probed(item, exchange, probed)
            if why is not None or exchange is None:
                unprobed.append((item, why or "its operation gave no baseline answer"))
            else:
                chosen.append((item, exchange))
    if chosen or bodies:
        async with Canary() as canary:
            sent: list[_Sent] = [record async for record in _body_probes(ctx, canary, bodies)]
            for item, exchange in chosen:
                probe = canary.probe()
                probe_request = with_input(exchange.request, item, probe.url)
                if probe_request is None:
                    unprobed.append((item, "the baseline's URL has no place for its value"))
                    continue
                answer = await ctx.send(probe_request, follow_redirects=False)
                sent.append(_Sent(item, exchange, probe, answer))
            await canary.settle()
            for record in sent:
                for finding in await _judge(ctx, canary, record, reachable=reachable):
                    yield finding
    for item, why in unprobed:
        yield ctx.finding(
            _PARAMETER,
            item.operation,
            parameter=item.name,
            detail=f"`{item.operation.key}` takes a URL in {item.label} ({item.reason}); "
            f"not probed: {why}",
            severity=Severity.info,
            confidence=Confidence.tentative,
        )


async def _judge(
    ctx: CheckContext, canary: Canary, record: _Sent, *, reachable: bool
) -> list[Finding]:
    item, probe, answer = record.item, record.probe, record.exchange
    name, key = item.name, item.operation.key
    hits = canary.hits(probe)
    said = f"{name}={probe.url} made `{key}` answer {_status(answer)}"
    if hits:
        relayed = answer.response is not None and probe.marker in answer.response.text
        how = (
            "and the response carried the canary's answer (the fetched content is returned)"
            if relayed
            else "(a blind fetch: the response does not show it)"
        )
        evidence: list[tuple[str, Exchange] | Evidence] = [("probe", answer)]
        evidence.append(canary.evidence(hits[0]))
        return [
            ctx.finding(
                _FETCH,
                item.operation,
                parameter=name,
                detail=f"{said}; the scanner's canary received {hits[0].describe()} {how}",
                evidence=evidence,
                confidence=Confidence.confirmed,
                match=probe.marker if relayed else None,
            ),
            ctx.finding(
                _PARAMETER,
                item.operation,
                parameter=name,
                detail=f"`{key}` fetches the URL given in `{name}` ({item.reason}): {said} and "
                f"the canary received {hits[0].describe()}",
                evidence=evidence,
                confidence=Confidence.confirmed,
            ),
        ]
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    tried = _new_hits(record.baseline, answer, signatures_for({_PARAMETER}), env)
    refused = answer.response is None or 400 <= answer.response.status < 500
    if not reachable and not refused:
        metadata = await _metadata_probe(ctx, record, env)
        if metadata is not None:
            return metadata
    if tried:
        return [
            ctx.finding(
                _PARAMETER,
                item.operation,
                parameter=name,
                detail=f"{said} with {tried[0].match!r}: the server tried to connect to the URL "
                f"given in `{name}` ({item.reason})",
                evidence=[("probe", answer)],
                match=tried[0].match,
            )
        ]
    outcome = "refused it, as an allow-list would" if refused else "gave no sign of a fetch"
    note = "" if reachable else f"; {UNREACHABLE}"
    return [
        ctx.finding(
            _PARAMETER,
            item.operation,
            parameter=name,
            detail=f"`{key}` takes a URL in `{name}` ({item.reason}); {said}: it {outcome}, "
            f"and the canary received nothing{note}",
            evidence=[("probe", answer)],
            severity=Severity.info,
            confidence=Confidence.tentative,
        )
    ]


async def _metadata_probe(ctx: CheckContext, record: _Sent, env: ScanEnv) -> list[Finding] | None:
    """Ask a remote target's URL parameter for the cloud metadata listing; findings if shown."""
    item = record.item
    request = with_input(record.baseline.request, item, METADATA_URL)
    if request is None:
        return None
    answer = await ctx.send(request, follow_redirects=False)
    shown = _new_hits(record.baseline, answer, signatures_for({_FETCH}), env)
    if not shown:
        return None
    said = f"{item.name}={METADATA_URL} made `{item.operation.key}` answer {_status(answer)}"
    return [
        ctx.finding(
            _FETCH,
            item.operation,
            parameter=item.name,
            detail=f"{said} with cloud metadata ({shown[0].match!r}): the server fetched the "
            "instance metadata service and returned what it said",
            evidence=[("probe", answer)],
            confidence=Confidence.confirmed,
            severity=Severity.critical,
            match=shown[0].match,
        ),
        ctx.finding(
            _PARAMETER,
            item.operation,
            parameter=item.name,
            detail=f"`{item.operation.key}` fetches the URL given in `{item.name}` "
            f"({item.reason}): {said} with cloud metadata",
            evidence=[("probe", answer)],
            confidence=Confidence.confirmed,
            match=shown[0].match,
        ),
    ]


async def _body_probes(
    ctx: CheckContext, canary: Canary, items: list[UrlInput]
) -> AsyncIterator[_Sent]:
    """Active mode: each URL body field set to a canary URL in its operation's body baseline;
    what a creation made is deleted before the next probe."""
    keys = {item.operation.key for item in items}
    async for operation, baseline, _ in probed_writes(
        ctx, (), _BODIES, only=lambda operation: operation.key in keys
    ):
        for item in (i for i in items if i.operation.key == operation.key):
            probe = canary.probe()
            request = with_input(baseline.request, item, probe.url)
            if request is None:
                continue
            answer = await ctx.send(request, follow_redirects=False)
            yield _Sent(item, baseline, probe, answer)
            if creates(ctx, operation) and not deleted(await ctx.undo()):
                return


def _not_probed(item: UrlInput, exchange: Exchange | None, probed: int) -> str | None:
    """Why a URL input is not probed, or ``None`` when it is."""
    if item.where == "body":
        return (
            "body fields are probed in active mode only, on reads and on creations whose "
            "objects the API documents a DELETE for"
        )
    if item.operation.method != "GET":
        return "only query and path parameters of GET operations are probed"
    if exchange is None or exchange.response is None:
        return "its operation gave no baseline answer"
    if exchange.response.status in (401, 403):
        return f"its operation refused the scan's credentials ({exchange.response.status})"
    if probed >= _PROBED:
        return f"only {_PROBED} parameters are probed per operation"
    return None


def _new_hits(
    baseline: Exchange, answer: Exchange, sigs: Collection[CompiledSignature], env: ScanEnv
) -> list[Hit]:
    """Hits in ``answer`` of signatures that did not hit the baseline."""
    known = {hit.signature for hit in scan_exchange(baseline, sigs, env)}
    return [hit for hit in scan_exchange(answer, sigs, env) if hit.signature not in known]


def _status(exchange: Exchange) -> str:
    if exchange.response is None:
        return f"no response ({exchange.error})"
    return str(exchange.response.status)
