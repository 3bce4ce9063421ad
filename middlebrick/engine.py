"""Run one scan: scope -> surface -> baseline -> checks -> filter -> score -> report."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from middlebrick import __version__
from middlebrick.baseline import Baseline, build_baseline
from middlebrick.check_runs import category_statuses, cut_of, run_check, stop_reason
from middlebrick.checks.registry import CheckSpec, load_all
from middlebrick.config import ScanRequest
from middlebrick.coverage import Coverage, measure
from middlebrick.discovery import discover
from middlebrick.discovery.wellknown import fetch_spec, spec_fetcher
from middlebrick.errors import (
    ScanInterrupted,
    SpecError,
    TargetUnreachable,
)
from middlebrick.events import (
    EventSink,
    ScanFinished,
    ScanStarted,
    SurfaceReady,
)
from middlebrick.filtering import ScanFacts
from middlebrick.findings import Finding
from middlebrick.fingerprint import detect_framework, detect_store
from middlebrick.http.client import HttpClient
from middlebrick.http.exchange import Request
from middlebrick.http.policy import Skipped
from middlebrick.identities import (
    Identities,
    establish,
    own_ids,
    owned_by_resource,
    primary_name,
    recheck,
)
from middlebrick.report import Cut, NotRestored, Report, SkippedOperation, SpecInfo, build_report
from middlebrick.scan_facts import RECONFIRMED_AT_MOST, gather_facts, reconfirm
from middlebrick.scoring import CategoryStatus
from middlebrick.spec.background import off_loop
from middlebrick.spec.load import load_spec
from middlebrick.spec.model import ApiSpec, Surface

_GRACE_S = 10.0  # beyond the time budget, the hard stop that guarantees the scan ends
_UNDO_REQUESTS = 200  # requests the undo of one check may send past the request budget
_UNDO_SECONDS = 4.0  # and seconds past the time budget (within the grace above)

BUDGET_BASE = 500
"""Requests of the default budget besides the checks' and the baseline's: discovery (at most
128 when crawling), identities, the final session check."""


async def scan(
    request: ScanRequest, *, on_event: EventSink | None = None, stop: asyncio.Event | None = None
) -> Report:
    """Scan one target and return its report.

    Raises ``TargetUnreachable`` when the target does not answer at all and ``SpecError`` when
    the given API description cannot be loaded; every other problem ends up as a note in a
    (possibly partial) report. Setting ``stop`` (Ctrl-C) ends the time budget at once: requests
    in flight are cut, writes are still undone, and the partial report says it was interrupted.
    """
    emit: EventSink = on_event or (lambda _event: None)
    started = datetime.now(UTC)
    emit(ScanStarted(request.target, request.mode, request.tier.value))
    spec: ApiSpec | None = None
    async with HttpClient(request, stop=stop) as client:  # the time budget runs from here
        try:
            async with asyncio.timeout(request.limits.time_budget + _GRACE_S):
                spec = (
                    await _load_spec(request, client.limiter.remaining()) if request.spec else None
                )
                outcome = await _run(request, client, spec, emit)
        except TimeoutError:
            raise TargetUnreachable(
                f"the scan of {request.target} did not finish within its time budget; "
                "raise --timeout or check that the target answers"
            ) from None
        findings, statuses, surface = outcome.findings, outcome.statuses, outcome.surface
        notes = [*surface.notes, *client.notes, *outcome.identity_notes, *outcome.safety_notes]
        seconds = client.limiter.elapsed()
        if client.limiter.interrupted:
            notes.insert(0, f"interrupted (Ctrl-C) after {seconds:.1f} s: this report is partial")
        notes.append(client.limiter.pace.note(client.stats.requests, seconds))
        report = build_report(
            findings=findings,
            category_status=statuses,
            context=request.context,
            version=__version__,
            scan_id=uuid.uuid4().hex,
            target=request.target,
            started_at=started,
            finished_at=datetime.now(UTC),
            duration_s=round((datetime.now(UTC) - started).total_seconds(), 3),
            mode=request.mode,
            tier=request.tier.value,
            operations=len(surface.operations),
            requests=client.stats.requests,
            framework=outcome.framework,
            spec=_spec_info(surface.spec),
            surface_origin=surface.origin,
            notes=_dedupe(notes),
            coverage=outcome.coverage,
            complete=not outcome.credentials_lost
            and outcome.coverage.graded
            and all(
                status == "checked" or status == "not_checked" for status, _ in statuses.values()
            ),
            skipped=outcome.skipped,
            restored=outcome.restored,
            not_restored=outcome.not_restored,
            cut=outcome.cut,
            facts=outcome.facts,
        )
        report = client.redactor.model(report)  # every text, whatever put a secret there
        if client.limiter.interrupted:
            report = report.model_copy(update={"complete": False})
    emit(ScanFinished(report))
    return report


@dataclass
class _Outcome:
    findings: list[Finding]
    statuses: dict[str, tuple[CategoryStatus, str | None]]
    surface: Surface
    framework: str | None
    identity_notes: list[str]
    credentials_lost: bool
    skipped: list[SkippedOperation]
    restored: int
    not_restored: list[NotRestored]
    safety_notes: list[str]
    cut: list[Cut]
    coverage: Coverage
    facts: ScanFacts


async def _run(
    request: ScanRequest, client: HttpClient, spec: ApiSpec | None, emit: EventSink
) -> _Outcome:
    try:
        root = await client.send(Request("GET", request.target))
    except ScanInterrupted as exc:  # a budget spent on the first request: nothing was reached
        raise TargetUnreachable(
            f"the target {request.target} did not answer before the scan's budget ran out "
            f"({exc}); raise --timeout or check that the API is running"
        ) from None
    if root.response is None:
        raise TargetUnreachable(
            f"the target {request.target} did not answer ({root.error}); "
            "check the URL and that the API is running"
        )
    stopped: list[str] = []
    try:
        surface = await discover(
            client,
            request.target,
            spec=spec,
            find_served=request.find_served_spec,
            max_spec_bytes=request.limits.max_spec_bytes,
            time_left=client.limiter.remaining,
        )
    except ScanInterrupted as exc:  # the report says what was done; the gate fails on it
        stopped.append(f"discovery stopped early: {exc}")
        surface = _undiscovered(request.target, spec, stopped[-1])
    client.journal.learn(surface.operations)
    testable, skipped = client.scope.policy.learn(surface)
    surface = replace(surface, operations=testable)
    emit(SurfaceReady(len(surface.operations), surface.origin))
    checks = [
        spec_ for spec_ in load_all().values() if request.mode == "active" or spec_.mode == "safe"
    ]
    client.limiter.scale_budget(allowance(checks, len(surface.operations)))
    cut: list[Cut] = []
    try:
        baseline = await build_baseline(
            client,
            surface,
            root=root,
            on_event=emit,
            own=own_ids(request),
            owned=owned_by_resource(request),
            identity=primary_name(request),
        )
    except ScanInterrupted as exc:
        stopped.append(f"the baseline stopped early: {exc}")
        baseline = Baseline(root=root)
        readable = [op.key for op in surface.operations if op.method == "GET"]
        cut.append(cut_of("baseline", stop_reason(exc), readable))
    client.notes.extend(_baseline_notes(baseline))
    client.journal.watch(baseline.pool.forget)  # a deleted object's ids leave the pool
    try:
        identities = await establish(client, request, baseline)
    except ScanInterrupted as exc:
        client.notes.append(f"the identities could not be verified: {exc}")
        identities = Identities()
    notes = list(identities.notes)
    _watch(client, identities)
    answers = [ex.response for ex in baseline.responses() if ex.response]
    framework = detect_framework(answers)
    stack = (framework, detect_store(answers))
    context = (request, surface, baseline, client, stack, identities, emit)
    may_write = request.mode == "active" or bool(request.include)
    writers = [check for check in checks if check.writes and may_write]
    readers = [check for check in checks if check not in writers]
    results = dict(
        zip(
            readers,
            await asyncio.gather(*(run_check(check, *context) for check in readers)),
            strict=True,
        )
    )
    for check in writers:  # one at a time, each undone before the next
        results[check] = await run_check(check, *context)
        await _undo(client, check.name)
        await _recheck(client, check.name)
    await _undo(client, None)
    raised = [(at, finding) for found, _, _, _ in results.values() for at, finding in found]
    findings, dropped = _before_breaks(client, raised)
    facts = gather_facts(client, baseline, identities, raised)
    with client.limiter.overtime(requests=RECONFIRMED_AT_MOST, seconds=_UNDO_SECONDS):
        facts = await reconfirm(client, facts, findings)
    statuses = category_statuses(
        checks, [(check, status, note) for check, (_, status, note, _) in results.items()]
    )
    cut += [short for _, _, _, short in results.values() if short is not None]
    try:
        lost = await recheck(client, identities)
    except ScanInterrupted:
        lost = []
    journal = client.journal
    safety = [b.sentence() for b in client.health.breaks] + dropped
    return _Outcome(
        findings,
        statuses,
        surface,
        framework,
        notes + lost,
        bool(lost) or bool(client.health.breaks),
        _skipped([s for s in skipped if client.scope.policy.still_refuses(s)], client.refused),
        sum(r.state in ("restored", "deleted") for r in journal.results),
        [NotRestored(url=r.url, check=r.owner, detail=r.detail) for r in journal.not_restored],
        safety,
        cut,
        measure(
            len(surface.operations),
            [op.key for op in surface.operations if op.method == "GET"],
            baseline.exchanges,
            stopped=stopped,
        ),
        facts,
    )


def _undiscovered(target: str, spec: ApiSpec | None, why: str) -> Surface:
    """The surface when discovery stopped early: the spec's operations as given, else none."""
    return Surface(
        base_url=target.rstrip("/"),
        operations=spec.operations if spec is not None else (),
        spec=spec,
        origin="spec file" if spec is not None else "url",
        notes=(why,),
    )


def _watch(client: HttpClient, identities: Identities) -> None:
    """Tell the session watch and the journal who the scan acts as."""
    for identity in (identities.primary, *identities.others):
        if identity is None:
            continue
        client.journal.protect(identity.self_ids)
        verifier = identities.verifier
        if verifier is not None and identity.verified:
            key = None if identity is identities.primary else identity.name
            client.health.verify_with(key, verifier.request, name=identity.name)


async def _undo(client: HttpClient, owner: str | None) -> None:
    """Undo what ``owner`` (every check when ``None``) wrote, even past the scan's budgets."""
    with client.limiter.overtime(requests=_UNDO_REQUESTS, seconds=_UNDO_SECONDS):
        try:
            await client.journal.undo(owner)
        except ScanInterrupted as exc:
            client.journal.abandon(owner, f"undoing it stopped early: {exc}")


async def _recheck(client: HttpClient, after: str) -> None:
    """Re-verify every identity after a writing check, so a break is pinned on it."""
    with contextlib.suppress(ScanInterrupted):
        await client.health.recheck(after)


def _before_breaks(
    client: HttpClient, raised: list[tuple[float, Finding]]
) -> tuple[list[Finding], list[str]]:
    """The findings raised before any session broke, and a note on those dropped after it."""
    if not client.health.breaks:
        return [finding for _, finding in raised], []
    cut = min(b.at for b in client.health.breaks)
    kept = [finding for at, finding in raised if at <= cut]
    dropped = len(raised) - len(kept)
    if not dropped:
        return kept, []
    return kept, [
        f"{dropped} finding(s) raised after the session broke were dropped: they could not be "
        "re-confirmed"
    ]


def _skipped(skipped: list[Skipped], refused: dict[str, str]) -> list[SkippedOperation]:
    """The report's list of what was not tested: operations, then other refused requests."""
    listed = [SkippedOperation(operation=s.operation, reason=s.reason) for s in skipped]
    known = {s.operation for s in skipped}
    for where, reason in refused.items():
        if not any(reason.startswith(f"{key}:") for key in known):
            listed.append(SkippedOperation(operation=where, reason=reason))
    return listed


def allowance(checks: Iterable[CheckSpec], operations: int) -> int:
    """The default request budget: the baseline and every check's declared cost on the surface.

    Discovery, identities and the final session check get ``BUDGET_BASE`` besides; the
    limiter caps the sum at ``BUDGET_CEILING``.
    """
    checks = list(checks)
    fixed = sum(check.max_requests for check in checks)
    per_operation = 1 + sum(check.per_operation for check in checks)
    return BUDGET_BASE + fixed + per_operation * operations


async def _load_spec(request: ScanRequest, seconds: float) -> ApiSpec:
    """The given API description, loaded within ``seconds`` (what the time budget has left)."""
    source = request.spec or ""
    cap = request.limits.max_spec_bytes
    root = Path(request.spec_root) if request.spec_root else None
    try:
        async with asyncio.timeout(seconds):
            if urlsplit(source).scheme not in ("http", "https"):
                return await off_loop(lambda: load_spec(Path(source), root=root, max_bytes=cap))
            async with HttpClient(spec_fetcher(request)) as client:
                return await fetch_spec(client, source, max_bytes=cap)
    except TimeoutError:
        raise SpecError(
            f"the API description {source} did not load within the time budget of "
            f"{request.limits.time_budget:g} s; raise --timeout"
        ) from None


def _baseline_notes(baseline: Baseline) -> list[str]:
    """Plain sentences for operations whose baseline failed or was cut, so the gaps are visible."""
    failed = [
        f"{key} ({ex.error})" for key, ex in baseline.exchanges.items() if ex.response is None
    ]
    cut = [key for key, ex in baseline.exchanges.items() if ex.response and ex.response.truncated]
    notes = []
    if failed:
        notes.append(f"{len(failed)} operation(s) gave no usable answer: " + ", ".join(failed[:10]))
    if cut:
        notes.append(f"{len(cut)} response body(ies) cut at the size cap: " + ", ".join(cut[:10]))
    return notes


def _spec_info(spec: ApiSpec | None) -> SpecInfo | None:
    if spec is None:
        return None
    return SpecInfo(
        source=spec.source,
        title=spec.title,
        version=spec.version,
        spec_version=spec.spec_version,
        operations=len(spec.operations),
    )


def _dedupe(notes: list[str]) -> list[str]:
    return list(dict.fromkeys(n for n in notes if n))
