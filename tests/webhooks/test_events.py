"""Webhook events: built from reports and diffs, versioned, documented by a JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from middlebrick.coverage import Coverage
from middlebrick.findings import Severity
from middlebrick.report import Report
from middlebrick.report_diff import diff_reports
from middlebrick.webhooks import (
    AlertRules,
    MonitorRef,
    encode_event,
    json_schema,
    monitor_events,
    parse_event,
    render_payload,
    scan_completed,
    scan_failed,
)
from middlebrick.webhooks.events import public_target
from tests.render.sample import hostile_finding, sample_report

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "webhook-events.schema.json"
MONITOR = MonitorRef(id="mon-1", name="shop", target="http://127.0.0.1:8080/")


def _rescored(report: Report, score: int, grade: str, drop: int = 0) -> Report:
    kept = report.findings[drop:]
    return report.model_copy(update={"score": score, "grade": grade, "findings": kept})


def test_the_documented_schema_is_the_generated_one() -> None:
    documented = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert documented == json_schema(), (
        "docs/webhook-events.schema.json is stale; regenerate it with: .venv/bin/python -c "
        '"import json; from middlebrick.webhooks import json_schema; '
        'print(json.dumps(json_schema(), indent=2))" > docs/webhook-events.schema.json'
    )


def test_scan_completed_summarises_the_report_worst_findings_first() -> None:
    report = sample_report()
    event = scan_completed(report, report_url="http://127.0.0.1:8080/scans/scan-0001")
    data = event.data
    assert event.type == "scan.completed" and event.schema_version == 1
    assert event.id.startswith("evt_")
    assert (data.scan_id, data.score, data.grade, data.complete) == (
        "scan-0001",
        report.score,
        report.grade,
        False,
    )
    assert data.findings_total == len(report.findings) == len(data.findings)
    ranks = [f.severity.rank for f in data.findings]
    assert ranks == sorted(ranks, reverse=True)
    assert data.counts.high == report.counts_by_severity()[Severity.high]
    assert len(data.categories) == 12


def test_events_hold_no_evidence_and_no_credentials_of_the_target_url() -> None:
    report = sample_report(hostile_finding()).model_copy(
        update={"target": "https://alice:pa55word@api.example.org:8443/v1?api_key=k3y#frag"}
    )
    body = encode_event(scan_completed(report)).decode()
    for secret in ("pa55word", "alice", "k3y", "AKIAABCDEFGHIJKLMNOP", "curl", "frag"):
        assert secret not in body
    assert '"target":"https://api.example.org:8443/v1"' in body
    failed = encode_event(scan_failed("http://u:p4ss@[::1]:9/x?token=t0k", "unreachable"))
    assert b"p4ss" not in failed and b"t0k" not in failed and b"http://[::1]:9/x" in failed


def test_every_event_validates_against_the_schema_and_parses_back() -> None:
    old = sample_report()
    new = _rescored(old, 40, "F", drop=2)
    new = new.model_copy(update={"findings": [*new.findings, hostile_finding()]})
    rules = AlertRules(score_drop=5, new_finding_at=Severity.low, resolved=True)
    events = [
        scan_completed(old),
        scan_failed(old.target, "no answer"),
        *monitor_events(MONITOR, diff_reports(old, new), rules),
    ]
    assert {e.type for e in events} == {
        "scan.completed",
        "scan.failed",
        "monitor.regression",
        "monitor.new_findings",
        "monitor.resolved",
    }
    for event in events:
        body = encode_event(event)
        jsonschema.validate(json.loads(body), json_schema())
        assert parse_event(body) == event


def test_parse_event_ignores_fields_a_newer_version_adds_and_refuses_unknown_types() -> None:
    event = json.loads(encode_event(scan_failed("http://127.0.0.1:1/", "no answer")))
    event["data"]["hint"] = "added later"
    assert parse_event(json.dumps(event)).type == "scan.failed"
    event["type"] = "scan.exploded"
    with pytest.raises(ValueError):
        parse_event(json.dumps(event))


def test_monitor_reports_a_regression_when_the_score_drops_by_the_rule() -> None:
    old = sample_report()
    assert old.score is not None
    dropped = _rescored(old, old.score - 5, old.grade or "F")
    (event,) = monitor_events(MONITOR, diff_reports(old, dropped), AlertRules(score_drop=5))
    assert event.type == "monitor.regression"
    assert event.data.score_change == -5 and event.data.reasons == [
        f"score dropped by 5 (from {old.score} to {old.score - 5})"
    ]


def test_monitor_reports_a_worse_grade_even_for_a_small_drop() -> None:
    old = _rescored(sample_report(), 90, "A")
    new = _rescored(old, 89, "B")
    (event,) = monitor_events(MONITOR, diff_reports(old, new), AlertRules(score_drop=10))
    assert event.data.reasons == ["grade changed from A to B"]


def test_monitor_reports_a_scan_that_became_incomplete() -> None:
    old = _rescored(sample_report(), 90, "A")
    coverage = Coverage(
        operations=5, requested=5, usable=0, unusable={"answered 5xx": 5}, incomplete=["all 5xx"]
    )
    new = old.model_copy(update={"score": None, "grade": None, "coverage": coverage})

    (event,) = monitor_events(MONITOR, diff_reports(old, new), AlertRules(score_drop=10))

    assert event.data.reasons == ["the scan is incomplete, no grade (was A): all 5xx"]


def test_monitor_stays_quiet_when_nothing_got_worse() -> None:
    old = _rescored(sample_report(), 70, "C")
    better = _rescored(old, 85, "B")
    rules = AlertRules(score_drop=1, new_finding_at=Severity.info, resolved=False)
    assert monitor_events(MONITOR, diff_reports(old, old), rules) == []
    assert monitor_events(MONITOR, diff_reports(old, better), rules) == []


def test_monitor_reports_new_findings_only_at_or_above_the_rule_severity() -> None:
    old = sample_report()
    low = old.findings[-1]
    assert low.severity == Severity.low
    without_low = old.model_copy(update={"findings": old.findings[:-1]})
    rules = AlertRules(score_drop=None, grade_change=False, new_finding_at=Severity.high)
    assert monitor_events(MONITOR, diff_reports(without_low, old), rules) == []
    rules = rules.model_copy(update={"new_finding_at": Severity.low})
    (event,) = monitor_events(MONITOR, diff_reports(without_low, old), rules)
    assert event.type == "monitor.new_findings"
    assert [f.fingerprint for f in event.data.findings] == [low.fingerprint]


def test_monitor_reports_resolved_findings_when_asked() -> None:
    old = sample_report()
    fixed = old.model_copy(update={"findings": old.findings[1:]})
    quiet = AlertRules(score_drop=None, grade_change=False, new_finding_at=None)
    assert monitor_events(MONITOR, diff_reports(old, fixed), quiet) == []
    (event,) = monitor_events(
        MONITOR, diff_reports(old, fixed), quiet.model_copy(update={"resolved": True})
    )
    assert event.type == "monitor.resolved" and event.data.findings_total == 1


def test_public_target_keeps_scheme_host_port_and_path_only() -> None:
    assert public_target("http://a:b@host:81/p/q?x=1#f") == "http://host:81/p/q"
    assert public_target("https://[::1]/") == "https://[::1]/"


def test_slack_message_shows_target_text_literally() -> None:
    event = scan_completed(sample_report(hostile_finding()))
    slack = json.loads(render_payload(event, "slack"))
    texts = [block["text"] for block in slack["blocks"] if "text" in block]
    texts += [field for block in slack["blocks"] for field in block.get("fields", [])]
    assert texts and all(text["type"] == "plain_text" for text in texts)
    assert any("<script>" in text["text"] for text in texts)
    assert "<" not in slack["text"] and ">" not in slack["text"]


def test_teams_message_is_an_adaptive_card_with_target_text_in_text_runs() -> None:
    event = scan_completed(sample_report(hostile_finding()))
    teams = json.loads(render_payload(event, "teams"))
    (attachment,) = teams["attachments"]
    card = attachment["content"]
    assert teams["type"] == "message" and card["type"] == "AdaptiveCard"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    runs = [i["text"] for b in card["body"] if b["type"] == "RichTextBlock" for i in b["inlines"]]
    assert any("[link](http://evil.test)" in run or "<script>" in run for run in runs)
    assert not [b for b in card["body"] if b["type"] == "TextBlock"]  # TextBlock parses Markdown
