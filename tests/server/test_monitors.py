"""Monitors: the REST API (create, list, change, run, runs with their diffs, delete), on
SQLite and PostgreSQL; and the scheduler with an injectable clock (no sleeping for hours)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest

from middlebrick.jobs.monitors import MonitorRunner, Scheduler
from middlebrick.jobs.policy import TargetPolicy
from middlebrick.jobs.schedule import Schedule, ScheduleError
from middlebrick.store import Repository, open_store
from middlebrick.store.records import MonitorInfo, now
from tests.integration.twin_app import TOKEN
from tests.server.conftest import Org, Running, SwitchTarget, make_org, postgres_database

PROBLEM = "application/problem+json"


def _wait_run(service: Running, org: Org, monitor_id: int, count: int) -> list[dict[str, Any]]:
    """The monitor's runs once ``count`` of them have ended."""
    deadline = time.monotonic() + 120
    with service.client(org) as http:
        while time.monotonic() < deadline:
            runs = http.get(f"/api/v1/monitors/{monitor_id}/runs").json()["items"]
            if len(runs) >= count and all(r["status"] != "running" for r in runs):
                return list(runs)
            time.sleep(0.3)
    raise AssertionError(f"monitor {monitor_id} did not end {count} run(s)")


def test_monitor_runs_are_diffed_with_the_previous_scan_and_raise_the_rules_events(
    service: Running, switch_target: SwitchTarget
) -> None:
    org = service.org("Monitored")
    with service.client(org) as http:
        created = http.post(
            "/api/v1/monitors",
            json={
                "name": "staging",
                "url": switch_target.url,
                "schedule": "daily",
                "rules": {"score_drop": 5, "new_finding_at": "medium", "resolved": True},
                "enabled": False,  # run by hand only: the service's scheduler leaves it alone
            },
        )
        assert created.status_code == 201, created.text
        monitor = created.json()
        assert monitor["schedule"] == "daily" and not monitor["credentials"]
        first = http.post(f"/api/v1/monitors/{monitor['id']}/runs")
        assert first.status_code == 202 and first.json()["trigger"] == "manual"
        [baseline] = _wait_run(service, org, monitor["id"], 1)
        assert baseline["status"] == "completed" and baseline["previous_scan_id"] is None
        assert baseline["events"] == [] and baseline["new_findings"] is None
        switch_target.serve(vulnerable=True)  # a deploy makes it worse
        http.post(f"/api/v1/monitors/{monitor['id']}/runs")
        worse, _ = _wait_run(service, org, monitor["id"], 2)
        assert worse["previous_scan_id"] == baseline["scan_id"]
        assert worse["score_change"] < 0 and worse["new_findings"] > 0
        assert worse["events"] == ["monitor.regression", "monitor.new_findings"]
        detail = http.get(f"/api/v1/monitors/{monitor['id']}/runs/{worse['id']}").json()
        assert detail["diff"]["old"]["scan_id"] == baseline["scan_id"]
        assert detail["diff"]["new"]["scan_id"] == worse["scan_id"]
        assert len(detail["diff"]["new_findings"]) == worse["new_findings"]
        switch_target.serve(vulnerable=False)  # and the fix
        http.post(f"/api/v1/monitors/{monitor['id']}/runs")
        better = _wait_run(service, org, monitor["id"], 3)[0]
        assert better["resolved"] == worse["new_findings"] and better["events"] == [
            "monitor.resolved"
        ]


def test_monitor_api_creates_lists_changes_and_deletes(service: Running, target_url: str) -> None:
    org = service.org("Scheduled")
    with service.client(org) as http:
        body = {"name": "nightly", "url": target_url, "schedule": "0 3 * * 1-5", "enabled": False}
        monitor = http.post("/api/v1/monitors", json=body).json()
        assert [m["id"] for m in http.get("/api/v1/monitors").json()["items"]] == [monitor["id"]]
        changed = http.patch(
            f"/api/v1/monitors/{monitor['id']}", json={"schedule": "weekly", "enabled": False}
        ).json()
        assert changed["schedule"] == "weekly" and changed["enabled"] is False
        bad = http.patch(f"/api/v1/monitors/{monitor['id']}", json={"schedule": "*/5 * * * *"})
        assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
        assert "more often than every 15 minutes" in bad.json()["detail"]
        assert http.delete(f"/api/v1/monitors/{monitor['id']}").status_code == 204
        assert http.get(f"/api/v1/monitors/{monitor['id']}").status_code == 404


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"schedule": "every 5 minutes"}, "is not one of every-6-hours, daily, weekly, monthly"),
        ({"schedule": "0 0 31 2 *"}, "is not valid"),
        ({"rules": {"score_drop": 0}}, "rules.score_drop"),
        ({"url": "ftp://x"}, "http(s) URL"),
    ],
)
def test_monitor_with_a_bad_field_is_a_problem(
    service: Running, target_url: str, change: dict[str, Any], detail: str
) -> None:
    body = {"name": "m", "url": target_url, "schedule": "daily", **change}
    with service.client(service.a) as http:
        response = http.post("/api/v1/monitors", json=body)
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert detail in response.json()["detail"]


def test_monitor_of_another_organisation_is_not_found(service: Running, target_url: str) -> None:
    with service.client(service.a) as http:
        monitor = http.post(
            "/api/v1/monitors",
            json={"name": "mine", "url": target_url, "schedule": "daily", "enabled": False},
        ).json()
    with service.client(service.b) as http:
        for method, path in (
            ("GET", f"/api/v1/monitors/{monitor['id']}"),
            ("PATCH", f"/api/v1/monitors/{monitor['id']}"),
            ("DELETE", f"/api/v1/monitors/{monitor['id']}"),
            ("POST", f"/api/v1/monitors/{monitor['id']}/runs"),
            ("GET", f"/api/v1/monitors/{monitor['id']}/runs"),
            ("GET", f"/api/v1/monitors/{monitor['id']}/runs/1"),
        ):
            response = http.request(method, path, json={} if method == "PATCH" else None)
            assert response.status_code == 404, (method, path, response.text)
        assert monitor["id"] not in [m["id"] for m in http.get("/api/v1/monitors").json()["items"]]


def test_monitor_credentials_are_sealed_and_never_shown(service: Running, target_url: str) -> None:
    body = {
        "name": "as alice",
        "url": target_url,
        "schedule": "monthly",
        "identities": [{"name": "alice", "auth": f"bearer:{TOKEN}"}],
        "enabled": False,
    }
    with service.client(service.a) as http:
        created = http.post("/api/v1/monitors", json=body)
        listed = http.get("/api/v1/monitors")
    assert created.status_code == 201 and created.json()["credentials"] is True
    assert created.json()["identities"] == ["alice"]
    assert TOKEN not in created.text and TOKEN not in listed.text
    stored = service.repo.monitor(service.a.id, created.json()["id"])
    assert stored is not None and stored.sealed_credentials is not None
    assert TOKEN.encode() not in stored.sealed_credentials


# The scheduler, with a clock the test moves.


@dataclass
class Recorder:
    """A dispatcher and outbox that only record what they were handed."""

    scans: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def submit(self, scan_id: str) -> None:
        self.scans.append(scan_id)

    def deliver(self, endpoint_id: int, event: str) -> None:
        self.events.append(event)

    def resend(self, endpoint_id: int, delivery_id: str) -> None:
        raise AssertionError("no re-send expected")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Repository]:
    """A store of its own: the running service's scheduler does not see these monitors."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([f"sqlite:///{tmp_path_factory.mktemp('clock') / 's.db'}"])
    else:
        urls = postgres_database()
    for url in urls:
        repo = open_store(url)
        yield repo
        repo.close()


def _setup(
    repo: Repository, name: str, schedule: str, *, allow_private: bool = True
) -> tuple[Scheduler, Recorder, Clock, MonitorInfo]:
    """A monitor due now, and a scheduler whose clock starts at the monitor's creation."""
    org = make_org(repo, name)
    monitor = repo.add_monitor(
        org.id,
        url="http://127.0.0.1:9/",
        name=name,
        schedule=schedule,
        options={"mode": "safe", "identities": []},
        spec_document=None,
        sealed=None,
        rules={},
        next_run_at=now(),
    )
    recorder, clock = Recorder(), Clock(monitor.created_at)
    runner = MonitorRunner(repo, recorder, recorder, TargetPolicy(allow_private=allow_private))
    return Scheduler(repo, runner, clock=clock), recorder, clock, monitor


def test_scheduler_runs_a_due_monitor_once_and_missed_runs_once_not_per_slot(
    store: Repository,
) -> None:
    scheduler, recorder, clock, monitor = _setup(store, "Clockwork", "every-6-hours")
    assert len(scheduler.tick()) == 1 and len(recorder.scans) == 1
    assert scheduler.tick() == []  # not due again at the same moment
    anchor = monitor.created_at.replace(microsecond=0)
    stored = store.monitor(monitor.org_id, monitor.id)
    assert stored is not None and stored.next_run_at == anchor + timedelta(hours=6)
    for scan_id in recorder.scans:  # the scan ends (no worker ran it here)
        store.fail(scan_id, "not run in this test")
    clock.now = anchor + timedelta(days=3, minutes=1)  # the service was down for three days
    assert len(scheduler.tick()) == 1 and len(recorder.scans) == 2
    stored = store.monitor(monitor.org_id, monitor.id)
    assert stored is not None and stored.next_run_at == anchor + timedelta(days=3, hours=6)
    assert scheduler.tick() == []


def test_two_schedulers_start_a_due_run_once(store: Repository) -> None:
    first, recorded, _clock, monitor = _setup(store, "Twice", "daily")
    second = Scheduler(store, first.runner, clock=first.clock)
    started = first.tick() + second.tick()
    assert len(started) == 1 and len(recorded.scans) == 1
    assert len(store.runs(monitor.org_id, monitor.id)) == 1


def test_scheduler_skips_a_run_while_the_previous_one_waits_for_its_scan(
    store: Repository,
) -> None:
    scheduler, recorder, clock, monitor = _setup(store, "Busy", "every-6-hours")
    scheduler.tick()
    clock.now += timedelta(hours=7)
    [skipped] = scheduler.tick()
    assert skipped.status == "skipped" and "previous run" in (skipped.reason or "")
    assert len(recorder.scans) == 1
    runs = store.runs(monitor.org_id, monitor.id)
    assert [r.status for r in runs] == ["skipped", "running"]


def test_scheduled_run_refused_by_the_policy_fails_and_says_why(store: Repository) -> None:
    scheduler, recorder, _clock, monitor = _setup(store, "Private", "daily", allow_private=False)
    store.add_endpoint(
        monitor.org_id, name="h", origin="http://x:80", sealed=b"x", format="json", events=None
    )
    [run] = scheduler.tick()
    assert run.status == "failed" and "loopback or private address" in (run.reason or "")
    assert recorder.scans == [] and len(recorder.events) == 1
    assert '"type":"scan.failed"' in recorder.events[0]


def test_schedules_count_from_the_monitor_s_creation_and_cron_is_utc() -> None:
    anchor = datetime(2026, 1, 31, 9, 17, 5)
    assert Schedule.parse("daily", anchor).next_after(anchor) == datetime(2026, 2, 1, 9, 17, 5)
    assert Schedule.parse("every-6-hours", anchor).next_after(
        datetime(2026, 2, 1, 0, 0)
    ) == datetime(2026, 2, 1, 3, 17, 5)
    assert Schedule.parse("weekly", anchor).next_after(anchor) == datetime(2026, 2, 7, 9, 17, 5)
    monthly = Schedule.parse("monthly", anchor)
    assert monthly.next_after(anchor) == datetime(2026, 2, 28, 9, 17, 5)  # the month's last day
    assert monthly.next_after(datetime(2026, 3, 1)) == datetime(2026, 3, 31, 9, 17, 5)
    cron = Schedule.parse("  0 3 * *   MON ", anchor)
    assert cron.text == "0 3 * * MON"
    assert cron.next_after(anchor) == datetime(2026, 2, 2, 3, 0)


@pytest.mark.parametrize(
    "text", ["", "hourly", "* * * * *", "*/10 * * * *", "0 0 30 2 *", "1 2 3 4 5 6", "61 * * * *"]
)
def test_schedule_refuses_what_is_not_an_interval_or_a_usable_cron_expression(
    text: str,
) -> None:
    with pytest.raises(ScheduleError):
        Schedule.parse(text, datetime(2026, 3, 2, 9, 17, 5))
