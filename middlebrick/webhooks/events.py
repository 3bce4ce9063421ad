"""Webhook events: what middlebrick tells a receiver, as versioned JSON (schema version 1).

Every event is an envelope ``{id, type, schema_version, created_at, data}``; ``type`` is one of
``scan.completed``, ``scan.failed``, ``monitor.regression``, ``monitor.new_findings`` and
``monitor.resolved`` and decides the shape of ``data``. Receivers dispatch on ``type`` and should
ignore fields they do not know: version 1 only ever gains optional fields; a change that removes
or renames one raises ``schema_version``. ``json_schema()`` is the JSON Schema of all events
(``docs/webhook-events.schema.json`` is generated from it and a test keeps them equal).

Events hold summaries, never evidence: no request, header, curl command or response excerpt, so
nothing a scan was given to authenticate with can reach a receiver. A target URL is shown without
its user-info, query and fragment.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from middlebrick.findings import Finding, Severity
from middlebrick.report import Report
from middlebrick.report_diff import ReportDiff

__all__ = [
    "EVENT_TYPES",
    "AlertRules",
    "EventType",
    "FindingRef",
    "MonitorRef",
    "ScanRef",
    "ScanSummary",
    "WebhookEvent",
    "encode_event",
    "json_schema",
    "monitor_events",
    "parse_event",
    "public_target",
    "scan_completed",
    "scan_failed",
]

SCHEMA_VERSION: Literal[1] = 1
MAX_FINDINGS = 50  # findings listed in one event, worst first; ``findings_total`` counts them all

EventType = Literal[
    "scan.completed",
    "scan.failed",
    "monitor.regression",
    "monitor.new_findings",
    "monitor.resolved",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]

_SEVERITIES = sorted(Severity, key=lambda s: s.rank, reverse=True)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")  # a newer minor field is skipped


class FindingRef(_Model):
    """One finding, by its stable fingerprint, without evidence."""

    fingerprint: str
    type_id: str
    category: str
    title: str
    severity: Severity
    confidence: str
    operation: str
    parameter: str | None = None


class SeverityCounts(_Model):
    """Number of findings of each severity."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0


class CategoryRef(_Model):
    """One category's line: score (None when not checked), status and number of findings."""

    id: str
    score: int | None
    status: str
    findings: int


class ScanRef(_Model):
    """A scan, briefly: which, when, and how it scored."""

    scan_id: str
    target: str
    finished_at: datetime
    score: int | None
    grade: str | None
    complete: bool


class ScanSummary(ScanRef):
    """A finished scan: its score, categories and worst findings (at most ``MAX_FINDINGS``)."""

    started_at: datetime
    duration_s: float
    mode: str
    tier: str
    context: str
    operations: int
    requests: int
    counts: SeverityCounts
    categories: list[CategoryRef]
    findings_total: int
    findings: list[FindingRef]
    report_url: str | None = None  # where the service shows the report, when there is one


class MonitorRef(_Model):
    """The monitor a run belongs to."""

    id: str
    name: str
    target: str


class ScanFailure(_Model):
    """A scan that ended without a report, and why."""

    scan_id: str | None
    target: str
    reason: str
    failed_at: datetime


class Regression(_Model):
    """A monitor run that scored worse than the previous one; ``reasons`` says which rules fired."""

    monitor: MonitorRef
    previous: ScanRef
    current: ScanRef
    score_change: int | None
    reasons: list[str]


class FindingsChange(_Model):
    """Findings that appeared (``monitor.new_findings``) or went away (``monitor.resolved``)."""

    monitor: MonitorRef
    previous: ScanRef
    current: ScanRef
    findings_total: int
    findings: list[FindingRef]


class _Envelope(_Model):
    id: str = Field(default_factory=lambda: f"evt_{uuid.uuid4().hex}")
    schema_version: Literal[1] = SCHEMA_VERSION
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ScanCompleted(_Envelope):
    """``scan.completed``: a scan finished with a report (partial ones too: see ``complete``)."""

    type: Literal["scan.completed"] = "scan.completed"
    data: ScanSummary


class ScanFailed(_Envelope):
    """``scan.failed``: a scan ended without a report (target unreachable, unreadable spec …)."""

    type: Literal["scan.failed"] = "scan.failed"
    data: ScanFailure


class MonitorRegression(_Envelope):
    """``monitor.regression``: the score dropped or the grade got worse."""

    type: Literal["monitor.regression"] = "monitor.regression"
    data: Regression


class MonitorNewFindings(_Envelope):
    """``monitor.new_findings``: findings at or above the monitor's severity appeared."""

    type: Literal["monitor.new_findings"] = "monitor.new_findings"
    data: FindingsChange


class MonitorResolved(_Envelope):
    """``monitor.resolved``: findings of the previous run are gone."""

    type: Literal["monitor.resolved"] = "monitor.resolved"
    data: FindingsChange


WebhookEvent = Annotated[
    ScanCompleted | ScanFailed | MonitorRegression | MonitorNewFindings | MonitorResolved,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[WebhookEvent] = TypeAdapter(WebhookEvent)


class AlertRules(_Model):
    """When a monitor run raises events, compared with the previous run.

    ``score_drop``: a drop of at least this many points is a regression (None: never);
    ``grade_change``: a worse grade is a regression; ``new_finding_at``: new findings at or above
    this severity raise ``monitor.new_findings`` (None: never); ``resolved``: resolved findings
    raise ``monitor.resolved``.
    """

    score_drop: int | None = Field(default=5, ge=1, le=100)
    grade_change: bool = True
    new_finding_at: Severity | None = Severity.high
    resolved: bool = False


def public_target(url: str) -> str:
    """``url`` without user-info, query and fragment: what an event may say about a target."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def scan_completed(report: Report, *, report_url: str | None = None) -> ScanCompleted:
    """The ``scan.completed`` event of a report."""
    counts = {sev.value: n for sev, n in report.counts_by_severity().items()}
    return ScanCompleted(
        data=ScanSummary(
            **_scan_ref(report).model_dump(),
            started_at=report.started_at,
            duration_s=report.duration_s,
            mode=report.mode,
            tier=report.tier.value,
            context=report.context.value,
            operations=report.operations,
            requests=report.requests,
            counts=SeverityCounts(**counts),
            categories=[
                CategoryRef(id=c.id, score=c.score, status=c.status, findings=c.findings)
                for c in report.categories
            ],
            findings_total=len(report.findings),
            findings=_refs(report.findings),
            report_url=report_url,
        )
    )


def scan_failed(target: str, reason: str, *, scan_id: str | None = None) -> ScanFailed:
    """The ``scan.failed`` event of a scan of ``target`` that ended with ``reason``."""
    return ScanFailed(
        data=ScanFailure(
            scan_id=scan_id,
            target=public_target(target),
            reason=reason,
            failed_at=datetime.now(UTC),
        )
    )


def monitor_events(
    monitor: MonitorRef, diff: ReportDiff, rules: AlertRules
) -> list[ScanCompleted | MonitorRegression | MonitorNewFindings | MonitorResolved]:
    """The events a monitor run raises under ``rules``: regression, new findings, resolved."""
    previous, current = _scan_ref(diff.old), _scan_ref(diff.new)
    events: list[ScanCompleted | MonitorRegression | MonitorNewFindings | MonitorResolved] = []
    reasons = _regressions(diff, rules)
    if reasons:
        events.append(
            MonitorRegression(
                data=Regression(
                    monitor=monitor,
                    previous=previous,
                    current=current,
                    score_change=diff.score_change,
                    reasons=reasons,
                )
            )
        )
    threshold = rules.new_finding_at
    if threshold is not None:
        new = [f for f in diff.added if f.severity.rank >= threshold.rank]
        if new:
            change = _change(monitor, previous, current, new)
            events.append(MonitorNewFindings(data=change))
    if rules.resolved and diff.resolved:
        change = _change(monitor, previous, current, list(diff.resolved))
        events.append(MonitorResolved(data=change))
    return events


def parse_event(body: bytes | str) -> WebhookEvent:
    """An event from the JSON a receiver got (after ``verify``); a ``ValueError`` if it is not."""
    return _ADAPTER.validate_json(body)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of every webhook event (version ``SCHEMA_VERSION``)."""
    schema = _ADAPTER.json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"middlebrick webhook event, schema version {SCHEMA_VERSION}",
        **schema,
    }


def _scan_ref(report: Report) -> ScanRef:
    return ScanRef(
        scan_id=report.scan_id,
        target=public_target(report.target),
        finished_at=report.finished_at,
        score=report.score,
        grade=report.grade,
        complete=report.complete,
    )


def _refs(findings: list[Finding]) -> list[FindingRef]:
    worst = sorted(findings, key=lambda f: (-f.severity.rank, f.type_id, f.operation))
    return [
        FindingRef(
            fingerprint=f.fingerprint,
            type_id=f.type_id,
            category=f.category,
            title=f.title,
            severity=f.severity,
            confidence=f.confidence.value,
            operation=f.operation,
            parameter=f.parameter,
        )
        for f in worst[:MAX_FINDINGS]
    ]


def _change(
    monitor: MonitorRef, previous: ScanRef, current: ScanRef, findings: list[Finding]
) -> FindingsChange:
    return FindingsChange(
        monitor=monitor,
        previous=previous,
        current=current,
        findings_total=len(findings),
        findings=_refs(findings),
    )


_GRADES = "ABCDF"


def _regressions(diff: ReportDiff, rules: AlertRules) -> list[str]:
    reasons: list[str] = []
    change = diff.score_change
    if rules.score_drop is not None and change is not None and -change >= rules.score_drop:
        reasons.append(f"score dropped by {-change} (from {diff.old.score} to {diff.new.score})")
    old, new = diff.old.grade or "", diff.new.grade or ""
    if rules.grade_change and old and new and _GRADES.find(new) > _GRADES.find(old):
        reasons.append(f"grade changed from {old} to {new}")
    if rules.grade_change and old and not diff.new.graded:
        why = "; ".join(diff.new.incomplete_reasons()[:1])
        reasons.append(f"the scan is incomplete, no grade (was {old}): {why}")
    return reasons


def encode_event(event: BaseModel) -> bytes:
    """The JSON body of an event, as sent."""
    return json.dumps(event.model_dump(mode="json"), separators=(",", ":")).encode()
