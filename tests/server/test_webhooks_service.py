"""Webhooks through the service, to a local receiver: endpoints per organisation (the secret
shown once), signed deliveries that verify while tampered bodies and old timestamps do not,
retries (a receiver failing twice then succeeding gets exactly one accepted delivery), the
delivery log, disabling with a notice, manual re-send, and the monitor events."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from middlebrick.webhooks import HEADER, SignatureError, parse_event, verify
from tests.server.conftest import Hooks, Org, Running, SwitchTarget

UNREACHABLE = "http://127.0.0.1:9/"  # nothing listens there: the scan fails at once


def _endpoint(service: Running, org: Org, url: str, **fields: Any) -> dict[str, Any]:
    with service.client(org) as http:
        created = http.post("/api/v1/webhooks", json={"name": "receiver", "url": url, **fields})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def _scan(service: Running, org: Org, url: str) -> dict[str, object]:
    with service.client(org) as http:
        scan_id = http.post("/api/v1/scans", json={"url": url}).json()["id"]
    return service.wait(org, scan_id)


def _log(service: Running, org: Org, endpoint_id: int, count: int) -> list[dict[str, Any]]:
    """The endpoint's delivery log once ``count`` deliveries are no longer pending."""
    deadline = time.monotonic() + 60
    with service.client(org) as http:
        while time.monotonic() < deadline:
            items = http.get(f"/api/v1/webhooks/{endpoint_id}/deliveries").json()["items"]
            if len(items) >= count and all(d["state"] != "pending" for d in items):
                return list(items)
            time.sleep(0.2)
    raise AssertionError(f"{count} deliveries to endpoint {endpoint_id} did not end")


def test_scan_completed_is_delivered_signed_and_only_the_untouched_body_verifies(
    service: Running, target_url: str, hooks: Hooks
) -> None:
    org = service.org("Signed")
    endpoint = _endpoint(service, org, hooks.url)
    filtered = _endpoint(service, org, hooks.url, events=["monitor.regression"])
    secret = endpoint["secret"]
    assert secret.startswith("whsec_") and endpoint["origin"] == hooks.url.rsplit("/", 1)[0]
    with service.client(org) as http:
        shown = http.get(f"/api/v1/webhooks/{endpoint['id']}").text
        listed = http.get("/api/v1/webhooks").text
    assert secret not in shown + listed and "/hooks" not in shown + listed
    scan = _scan(service, org, target_url)
    [(headers, body)] = hooks.wait(1)
    verify(body, headers[HEADER], secret)
    event = parse_event(body)
    assert event.type == "scan.completed" and event.data.scan_id == scan["id"]
    assert event.data.score == scan["score"]
    with pytest.raises(SignatureError, match="does not match"):
        verify(body.replace(b'"score":', b'"score":1'), headers[HEADER], secret)
    with pytest.raises(SignatureError, match="away from now"):
        verify(body, headers[HEADER], secret, now=time.time() + 301)
    [delivery] = _log(service, org, endpoint["id"], 1)
    assert delivery["state"] == "delivered" and delivery["event_type"] == "scan.completed"
    assert [a["status"] for a in delivery["attempts"]] == [200]
    assert delivery["attempts"][0]["latency_ms"] >= 0
    time.sleep(0.5)
    assert len(hooks.got) == 1  # the endpoint taking monitor.regression only got nothing
    assert _log(service, org, filtered["id"], 0) == []


def test_receiver_failing_twice_then_succeeding_gets_exactly_one_accepted_delivery(
    service: Running, hooks: Hooks
) -> None:
    org = service.org("Flaky")
    hooks.script = [503, 500]
    endpoint = _endpoint(service, org, hooks.url)
    scan = _scan(service, org, UNREACHABLE)
    assert scan["status"] == "failed"
    got = hooks.wait(3)
    [delivery] = _log(service, org, endpoint["id"], 1)
    time.sleep(1.0)
    assert len(hooks.got) == 3  # no fourth try after the success
    assert delivery["state"] == "delivered"
    assert [a["status"] for a in delivery["attempts"]] == [503, 500, 200]
    ids = {headers["Middlebrick-Event-Id"] for headers, _ in got}
    assert len(ids) == 1 and len({body for _, body in got}) == 1  # the same event, three tries
    for headers, body in got:
        verify(body, headers[HEADER], endpoint["secret"])
    event = parse_event(got[-1][1])
    assert event.type == "scan.failed" and event.data.scan_id == scan["id"]


def test_endpoint_that_keeps_failing_is_disabled_and_a_resend_enables_it(
    service: Running, hooks: Hooks
) -> None:
    org = service.org("Broken")
    hooks.script = [400] * 5  # refused at once, not retried
    endpoint = _endpoint(service, org, hooks.url)
    for count in range(1, 6):
        _scan(service, org, UNREACHABLE)
        _log(service, org, endpoint["id"], count)
    with service.client(org) as http:
        state = http.get(f"/api/v1/webhooks/{endpoint['id']}").json()
    assert state["disabled"] is True and state["failures"] == 5
    assert (
        "disabled after 5 failed deliveries in a row (last: HTTP 400)" in state["disabled_reason"]
    )
    _scan(service, org, UNREACHABLE)
    skipped = _log(service, org, endpoint["id"], 6)[0]
    assert skipped["state"] == "skipped" and skipped["attempts"] == []
    assert len(hooks.got) == 5  # nothing sent to a disabled endpoint
    with service.client(org) as http:
        resent = http.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{skipped['id']}/resend")
        assert resent.status_code == 202
        log = _log(service, org, endpoint["id"], 7)
        state = http.get(f"/api/v1/webhooks/{endpoint['id']}").json()
    assert log[0]["resent_from"] == skipped["id"] and log[0]["state"] == "delivered"
    assert state["disabled"] is False and state["failures"] == 0
    headers, body = hooks.got[-1]
    assert headers["Middlebrick-Event-Id"] == parse_event(body).id
    verify(body, headers[HEADER], endpoint["secret"])


def test_slack_endpoint_gets_an_unsigned_slack_message(service: Running, hooks: Hooks) -> None:
    org = service.org("Chatty")
    endpoint = _endpoint(service, org, hooks.url, format="slack")
    assert endpoint["secret"] is None and endpoint["format"] == "slack"
    _scan(service, org, UNREACHABLE)
    [(headers, body)] = hooks.wait(1)
    assert HEADER not in headers
    message = json.loads(body)
    assert set(message) == {"text", "blocks"} and "failed" in message["text"]


def test_monitor_events_are_delivered_when_a_run_regresses(
    service: Running, hooks: Hooks, switch_target: SwitchTarget
) -> None:
    org = service.org("Watched")
    endpoint = _endpoint(
        service, org, hooks.url, events=["monitor.regression", "monitor.new_findings"]
    )
    with service.client(org) as http:
        monitor = http.post(
            "/api/v1/monitors",
            json={
                "name": "prod",
                "url": switch_target.url,
                "schedule": "every-6-hours",
                "enabled": False,
            },
        ).json()
        http.post(f"/api/v1/monitors/{monitor['id']}/runs")
        _wait_runs(service, org, monitor["id"], 1)
        switch_target.serve(vulnerable=True)
        http.post(f"/api/v1/monitors/{monitor['id']}/runs")
        _wait_runs(service, org, monitor["id"], 2)
    got = hooks.wait(2)
    events = [parse_event(body) for _, body in got]
    assert sorted(e.type for e in events) == ["monitor.new_findings", "monitor.regression"]
    for headers, body in got:
        verify(body, headers[HEADER], endpoint["secret"])
    regression = next(e for e in events if e.type == "monitor.regression")
    assert regression.data.monitor.id == str(monitor["id"])
    assert regression.data.monitor.name == "prod"
    assert regression.data.score_change is not None and regression.data.score_change < 0


def _wait_runs(service: Running, org: Org, monitor_id: int, count: int) -> None:
    deadline = time.monotonic() + 120
    with service.client(org) as http:
        while time.monotonic() < deadline:
            runs = http.get(f"/api/v1/monitors/{monitor_id}/runs").json()["items"]
            if len(runs) >= count and all(r["status"] != "running" for r in runs):
                return
            time.sleep(0.3)
    raise AssertionError("the monitor's runs did not end")


def test_endpoints_and_deliveries_of_another_organisation_are_not_found(
    service: Running, hooks: Hooks
) -> None:
    owner = service.org("Owner")
    endpoint = _endpoint(service, owner, hooks.url)
    _scan(service, owner, UNREACHABLE)
    [delivery] = _log(service, owner, endpoint["id"], 1)
    other = service.org("Other")
    with service.client(other) as http:
        for method, path in (
            ("GET", f"/api/v1/webhooks/{endpoint['id']}"),
            ("DELETE", f"/api/v1/webhooks/{endpoint['id']}"),
            ("GET", f"/api/v1/webhooks/{endpoint['id']}/deliveries"),
            ("POST", f"/api/v1/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/resend"),
        ):
            assert http.request(method, path).status_code == 404, (method, path)
        assert http.get("/api/v1/webhooks").json()["items"] == []
    with service.client(owner) as http:
        assert http.delete(f"/api/v1/webhooks/{endpoint['id']}").status_code == 204
        assert http.get(f"/api/v1/webhooks/{endpoint['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"url": "ftp://example.org/x"}, "http:// or https://"),
        ({"url": "https://hooks.example.org", "format": "xml"}, "format"),
        ({"url": "https://hooks.example.org", "events": ["scan.started"]}, "events"),
    ],
)
def test_bad_endpoint_is_a_problem_that_does_not_echo_the_url(
    service: Running, body: dict[str, Any], detail: str
) -> None:
    with service.client(service.a) as http:
        response = http.post("/api/v1/webhooks", json={"name": "x", **body})
    assert response.status_code == 422 and detail in response.json()["detail"]
    assert "hooks.example.org" not in response.text


def test_failed_deliveries_running_at_the_same_time_each_count(
    service: Running, hooks: Hooks
) -> None:
    org = service.org("Concurrent")
    hooks.script = [400] * 100
    endpoint = _endpoint(service, org, hooks.url)
    with service.client(org) as http:
        for _ in range(5):  # five scans end together: their deliveries overlap
            http.post("/api/v1/scans", json={"url": UNREACHABLE})
    _log(service, org, endpoint["id"], 5)
    with service.client(org) as http:
        state = http.get(f"/api/v1/webhooks/{endpoint['id']}").json()
    assert state["failures"] == 5 and state["disabled"] is True
