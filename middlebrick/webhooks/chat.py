"""Payload formats: the raw JSON event, or a Slack or Microsoft Teams incoming-webhook message.

Slack gets ``{"text", "blocks"}`` (Block Kit, every block ``plain_text``); Teams gets a
Workflows "post to a channel" message holding an Adaptive Card, whose target-supplied text goes
in ``TextRun``\\ s (never parsed as Markdown). Text from a target (operations, titles) is thus
shown literally: it cannot mention ``@channel``, add links or change the layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from middlebrick.render._text import shorten
from middlebrick.webhooks.events import (
    FindingRef,
    MonitorNewFindings,
    MonitorRegression,
    MonitorResolved,
    ScanCompleted,
    ScanFailed,
    WebhookEvent,
    encode_event,
)

__all__ = ["PayloadFormat", "render_payload"]

PayloadFormat = Literal["json", "slack", "teams"]

_LISTED = 5  # findings named in a chat message; the rest are counted


@dataclass(frozen=True)
class _Message:
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    link: str | None = None


def render_payload(event: WebhookEvent, fmt: PayloadFormat = "json") -> bytes:
    """The HTTP body that delivers ``event`` in format ``fmt``."""
    if fmt == "json":
        return encode_event(event)
    message = _describe(event)
    body = _slack(message) if fmt == "slack" else _teams(message)
    return json.dumps(body, separators=(",", ":")).encode()


def _describe(event: WebhookEvent) -> _Message:
    if isinstance(event, ScanCompleted):
        scan = event.data
        unscored = "incomplete (no grade)" if not scan.complete else "not scored"
        score = unscored if scan.score is None else f"{scan.score}/100 (grade {scan.grade})"
        counts = ", ".join(f"{n} {sev}" for sev, n in scan.counts.model_dump().items() if n)
        return _Message(
            title=f"middlebrick: {scan.target} scored {score}",
            facts=[
                ("Findings", counts or "none"),
                ("Mode", f"{scan.mode}, {scan.tier}"),
                ("Scan", scan.scan_id + ("" if scan.complete else " (partial)")),
            ],
            lines=_listed(scan.findings, scan.findings_total),
            link=scan.report_url,
        )
    if isinstance(event, ScanFailed):
        failure = event.data
        return _Message(
            title=f"middlebrick: the scan of {failure.target} failed",
            lines=[failure.reason],
        )
    if isinstance(event, MonitorRegression):
        change = event.data
        return _Message(
            title=f"middlebrick monitor {change.monitor.name}: {change.monitor.target} regressed",
            facts=[("Score", f"{change.previous.score} -> {change.current.score}")],
            lines=change.reasons,
        )
    verb = "new" if isinstance(event, MonitorNewFindings) else "resolved"
    assert isinstance(event, MonitorNewFindings | MonitorResolved)
    found = event.data
    return _Message(
        title=(
            f"middlebrick monitor {found.monitor.name}: {found.findings_total} {verb} "
            f"finding(s) at {found.monitor.target}"
        ),
        lines=_listed(found.findings, found.findings_total),
    )


def _listed(findings: list[FindingRef], total: int) -> list[str]:
    lines = [f"{f.severity.value.upper()}: {f.title} ({f.operation})" for f in findings[:_LISTED]]
    if total > len(lines):
        lines.append(f"… and {total - len(lines)} more")
    return lines


def _slack(message: _Message) -> dict[str, Any]:
    def plain(text: str, limit: int) -> dict[str, Any]:
        return {"type": "plain_text", "text": shorten(text, limit), "emoji": False}

    blocks: list[dict[str, Any]] = [{"type": "header", "text": plain(message.title, 150)}]
    if message.facts:
        blocks.append(
            {"type": "section", "fields": [plain(f"{k}: {v}", 500) for k, v in message.facts]}
        )
    if message.lines:
        text = "\n".join(shorten(line, 300) for line in message.lines)
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": text[:2900]}})
    if message.link:
        blocks.append({"type": "context", "elements": [plain(message.link, 500)]})
    fallback = shorten(message.title, 300)
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        fallback = fallback.replace(old, new)
    return {"text": fallback, "blocks": blocks}


def _teams(message: _Message) -> dict[str, Any]:
    def runs(text: str, limit: int, **style: Any) -> dict[str, Any]:
        run = {"type": "TextRun", "text": shorten(text, limit), **style}
        return {"type": "RichTextBlock", "inlines": [run]}

    body: list[dict[str, Any]] = [runs(message.title, 300, weight="Bolder", size="Medium")]
    if message.facts:
        facts = [{"title": k, "value": shorten(v, 300)} for k, v in message.facts]
        body.append({"type": "FactSet", "facts": facts})
    body.extend(runs(line, 300) for line in message.lines)
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open report", "url": message.link}]
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
    return {"type": "message", "attachments": [attachment]}
