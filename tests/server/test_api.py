"""The REST API, route by route, on SQLite and on PostgreSQL (each test runs on both stores)."""

from __future__ import annotations

import json

import pytest

from middlebrick.report import Report
from tests.server.conftest import Running

PROBLEM = "application/problem+json"


def test_post_scan_returns_202_and_get_scan_reports_the_outcome(
    service: Running, scans: dict[str, str], target_url: str
) -> None:
    with service.client(service.a) as http:
        body = http.get(f"/api/v1/scans/{scans['a1']}").json()
    assert body["status"] == "completed" and body["progress"] == 100
    assert body["target"] == target_url
    assert isinstance(body["score"], int) and body["grade"]
    assert body["passed"] == (body["score"] >= 50)
    assert set(body["categories"]) >= {"authentication", "bola", "llm_security"}
    assert body["coverage"]["operations"] > 0 and body["coverage"]["requests"] > 0
    assert all(f["fingerprint"] and f["severity"] for f in body["findings"])
    assert sum(body["severities"].values()) == len(body["findings"])


def test_get_scans_lists_newest_first_with_filters(
    service: Running, scans: dict[str, str], target_url: str
) -> None:
    with service.client(service.a) as http:
        page = http.get("/api/v1/scans", params={"limit": 1}).json()
        assert page["total"] >= 2 and len(page["items"]) == 1
        by_url = http.get("/api/v1/scans", params={"target": target_url}).json()
        target_id = by_url["items"][0]["target_id"]
        by_id = http.get("/api/v1/scans", params={"target": str(target_id)}).json()
        done = http.get("/api/v1/scans", params={"status": "completed", "offset": 1}).json()
        none = http.get("/api/v1/scans", params={"status": "failed"}).json()
    assert {s["id"] for s in by_url["items"]} >= {scans["a1"], scans["a2"]}
    assert by_id["items"] == by_url["items"]
    assert [s["id"] for s in by_url["items"]].index(scans["a2"]) < [
        s["id"] for s in by_url["items"]
    ].index(scans["a1"])
    assert done["offset"] == 1 and len(done["items"]) == done["total"] - 1
    assert none["items"] == [] and none["total"] == 0


@pytest.mark.parametrize(
    ("ext", "media", "marker"),
    [
        ("json", "application/json", b'"scan_id"'),
        ("sarif", "application/sarif+json", b'"version": "2.1.0"'),
        ("junit", "application/xml", b"<testsuites"),
        ("md", "text/markdown", b"# "),
        ("html", "text/html", b"<!doctype html>"),
    ],
)
def test_report_exports_render_each_format(
    service: Running, scans: dict[str, str], ext: str, media: str, marker: bytes
) -> None:
    with service.client(service.a) as http:
        response = http.get(f"/api/v1/scans/{scans['a1']}/report.{ext}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media)
    assert "attachment" in response.headers["content-disposition"]
    assert marker in response.content[:4000].lower() or marker in response.content
    if ext == "json":
        assert Report.model_validate_json(response.content).scan_id


def test_report_of_unknown_format_is_a_problem(service: Running, scans: dict[str, str]) -> None:
    with service.client(service.a) as http:
        response = http.get(f"/api/v1/scans/{scans['a1']}/report.docx")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert "json" in response.json()["detail"]


def test_diff_lists_new_resolved_and_unchanged(service: Running, scans: dict[str, str]) -> None:
    with service.client(service.a) as http:
        body = http.get(f"/api/v1/scans/{scans['a1']}/diff/{scans['a2']}").json()
    assert body["old"]["scan_id"] == scans["a1"] and body["new"]["scan_id"] == scans["a2"]
    total = len(body["new_findings"]) + len(body["unchanged"])
    with service.client(service.a) as http:
        new = http.get(f"/api/v1/scans/{scans['a2']}").json()
    assert total == len(new["findings"])


def test_targets_list_their_score_history(
    service: Running, scans: dict[str, str], target_url: str
) -> None:
    with service.client(service.a) as http:
        items = http.get("/api/v1/targets").json()["items"]
    target = next(t for t in items if t["url"] == target_url)
    history = [h["scan_id"] for h in target["history"]]
    assert scans["a1"] in history and scans["a2"] in history
    assert history.index(scans["a1"]) < history.index(scans["a2"])  # oldest first
    assert scans["b1"] not in history


def test_events_stream_progress_lines_and_end(service: Running, scans: dict[str, str]) -> None:
    with service.client(service.a) as http:
        response = http.get(f"/api/v1/scans/{scans['a1']}/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block.split("\n") for block in response.text.strip().split("\n\n")]
    kinds = [lines[0].removeprefix("event: ") for lines in events]
    assert "line" in kinds and kinds[-1] == "end"
    texts = [json.loads(lines[1].removeprefix("data: ")) for lines in events]
    assert any(str(t.get("text", "")).startswith("scanning ") for t in texts)
    assert texts[-1]["status"] == "completed"


def test_delete_scan_removes_it(service: Running, target_url: str) -> None:
    with service.client(service.a) as http:
        scan_id = http.post("/api/v1/scans", json={"url": target_url}).json()["id"]
        assert http.delete(f"/api/v1/scans/{scan_id}").status_code == 204
        gone = http.get(f"/api/v1/scans/{scan_id}")
        again = http.delete(f"/api/v1/scans/{scan_id}")
    assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM
    assert again.status_code == 404


def test_openapi_document_is_served(service: Running) -> None:
    with service.client() as http:
        document = http.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/scans", "/api/v1/scans/{scan_id}", "/api/v1/targets"} <= set(document["paths"])
    assert "/api/v1/scans/{old}/diff/{new}" in document["paths"]
