"""Organisations are walled off: keys, limits, and credentials that are never kept or shown."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import inspect, select, text

from tests.server.conftest import Running, sqlite_files_hold
from tests.server.test_api import PROBLEM

SECRETS = ("s3cr3t-token-for-tests-0001", "header-secret-4711")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/scans/{a1}"),
        ("GET", "/api/v1/scans/{a1}/report.json"),
        ("GET", "/api/v1/scans/{a1}/report.html"),
        ("GET", "/api/v1/scans/{a1}/events"),
        ("GET", "/api/v1/scans/{a1}/diff/{a2}"),
        ("GET", "/api/v1/scans/{b1}/diff/{a2}"),
        ("GET", "/api/v1/scans/{a1}/diff/{b1}"),
        ("DELETE", "/api/v1/scans/{a1}"),
    ],
)
def test_another_organisation_gets_not_found_for_each_route(
    service: Running,
    scans: dict[str, str],
    method: str,
    path: str,
) -> None:
    with service.client(service.b) as http:
        response = http.request(method, path.format(**scans))
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    with service.client(service.a) as http:  # and the scan is still there for its owner
        assert http.get(f"/api/v1/scans/{scans['a1']}").status_code == 200


def test_another_organisation_lists_none_of_the_scans_or_targets(
    service: Running,
    scans: dict[str, str],
) -> None:
    with service.client(service.b) as http:
        listed = {s["id"] for s in http.get("/api/v1/scans", params={"limit": 200}).json()["items"]}
        history = {
            h["scan_id"] for t in http.get("/api/v1/targets").json()["items"] for h in t["history"]
        }
        a_target = http.get(f"/api/v1/scans/{scans['b1']}").json()["target_id"]
    assert scans["b1"] in listed and not {scans["a1"], scans["a2"]} & listed
    assert scans["b1"] in history and not {scans["a1"], scans["a2"]} & history
    with service.client(service.a) as http:
        mine = http.get("/api/v1/scans", params={"target": str(a_target)}).json()
    assert mine["total"] == 0  # Bravo's target id, asked by Acme: nothing


def test_guessed_scan_ids_are_not_found(service: Running) -> None:
    with service.client(service.b) as http:
        for guess in (uuid.uuid4().hex, "1", "0" * 32, "%2e%2e"):
            response = http.get(f"/api/v1/scans/{guess}")
            assert response.status_code == 404, guess


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "mb_not-a-key"},
        {"Authorization": "Bearer mb_not-a-key"},
        {"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"},
    ],
)
def test_requests_without_a_live_key_are_refused(service: Running, headers: dict[str, str]) -> None:
    with service.client() as http:
        response = http.get("/api/v1/scans", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_bearer_key_is_accepted_and_revoked_key_refused(service: Running) -> None:
    org = service.org(f"Revoked-{uuid.uuid4().hex[:6]}")
    with service.client() as http:
        ok = http.get("/api/v1/scans", headers={"Authorization": f"Bearer {org.key}"})
        key_id = service.repo.keys(org.id)[0].id
        assert service.repo.revoke_key(org.id, key_id)
        refused = http.get("/api/v1/scans", headers=org.headers)
    assert ok.status_code == 200 and ok.json()["total"] == 0
    assert refused.status_code == 401


def test_rate_limit_answers_429_with_retry_after(service: Running) -> None:
    org = service.org(f"Limited-{uuid.uuid4().hex[:6]}", rate_limit=3)
    with service.client(org) as http:
        answers = [http.get("/api/v1/targets") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["ratelimit-limit"] == "3"
    assert answers[2].headers["ratelimit-remaining"] == "0"
    assert answers[3].headers["content-type"] == PROBLEM
    assert int(answers[3].headers["retry-after"]) >= 1


def test_daily_quota_answers_429(service: Running, target_url: str) -> None:
    org = service.org(f"Quota-{uuid.uuid4().hex[:6]}", daily=1)
    with service.client(org) as http:
        first = http.post("/api/v1/scans", json={"url": target_url})
        second = http.post("/api/v1/scans", json={"url": target_url})
    assert first.status_code == 202
    assert second.status_code == 429 and "quota" in second.json()["detail"]
    service.wait(org, first.json()["id"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.org"}, "target"),
        ({"url": "http://127.0.0.1:1", "mode": "reckless"}, "mode"),
        ({"url": "http://127.0.0.1:1", "spec": "{}", "spec_url": "http://x/o.json"}, "spec"),
        ({"url": "http://127.0.0.1:1", "threshold": 101}, "threshold"),
        (
            {"url": "http://127.0.0.1:1", "identities": [{"name": "a", "auth": "magic:SEKRIT-1"}]},
            "identity",
        ),
        (
            {"url": "http://127.0.0.1:1", "headers": {"Host": "SEKRIT-2"}},
            "host",
        ),
        ({"url": "http://127.0.0.1:1", "surprise": 1}, "surprise"),
    ],
)
def test_invalid_scan_requests_are_problems_that_echo_no_secret(
    service: Running, body: dict[str, object], field: str
) -> None:
    with service.client(service.a) as http:
        response = http.post("/api/v1/scans", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert field in response.json()["detail"].lower()
    assert "SEKRIT" not in response.text


def _stored(service: Running, secret: str) -> bool:
    """Whether the store holds ``secret``: in any byte of the SQLite files, or in any row of any
    PostgreSQL table."""
    if service.database_url.startswith("sqlite:///"):
        return sqlite_files_hold(service.database_url, secret)
    with service.repo.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                if secret in repr(tuple(row)):
                    return True
    return False


def test_scan_credentials_are_never_stored_nor_shown(
    service: Running,
    scans: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    shown = []
    with service.client(service.a) as http:
        for path in (
            "/api/v1/scans/{a2}",
            "/api/v1/scans?limit=200",
            "/api/v1/scans/{a2}/events",
            "/api/v1/scans/{a1}/diff/{a2}",
            "/api/v1/targets",
            *(
                f"/api/v1/scans/{{a2}}/report.{ext}"
                for ext in ("json", "sarif", "junit", "md", "html")
            ),
        ):
            shown.append(http.get(path.format(**scans)).content)
    for secret in SECRETS:
        assert not _stored(service, secret)
        assert not any(secret.encode() in body for body in shown)
        assert secret not in caplog.text
    with service.repo.engine.connect() as connection:
        from middlebrick.store.models import Scan

        sealed = connection.execute(
            select(Scan.sealed_credentials).where(Scan.id == scans["a2"])
        ).scalar()
    assert sealed is None  # erased once the scan ended
