"""The GitHub Action against a real ``middlebrick serve`` on loopback: ``server-url`` and
``api-key`` run the scan on the service, with the key only in the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_github_action import _outputs, _run_step
from tests.server.conftest import Running


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_action_runs_the_scan_on_the_service_and_gates_on_its_report(
    service: Running, vulnerable_url: str, tmp_path: Path
) -> None:
    inputs = {
        "url": vulnerable_url,
        "server-url": service.url,
        "api-key": service.a.key,
        "fail-on": "high",
    }
    scan = _run_step("Scan", inputs, tmp_path)
    assert scan.returncode == 0, scan.stderr
    outputs = _outputs(tmp_path)
    report = json.loads(Path(outputs["report-path"]).read_text())
    with service.client(service.a) as http:
        stored = http.get(f"/api/v1/scans/{report['scan_id']}").json()
    assert stored["status"] == "completed" and stored["target"] == vulnerable_url
    assert outputs["score"] == str(stored["score"]) and outputs["grade"] == stored["grade"]
    assert outputs["exit-code"] == "1" and report["findings"]  # the gate failed on high
    assert json.loads(Path(outputs["sarif-path"]).read_text())["runs"][0]["results"]
    assert service.a.key not in scan.stdout + scan.stderr
    assert service.a.key not in (tmp_path / "step_summary.md").read_text()
    assert _run_step("Gate", inputs, tmp_path, outputs).returncode == 1
    with service.client(service.b) as http:  # the scan is the key's organisation's
        assert http.get(f"/api/v1/scans/{report['scan_id']}").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_action_with_a_wrong_api_key_fails_the_step_with_the_reason(
    service: Running, vulnerable_url: str, tmp_path: Path
) -> None:
    inputs = {"url": vulnerable_url, "server-url": service.url, "api-key": "mb_not-a-key"}
    scan = _run_step("Scan", inputs, tmp_path)
    assert scan.returncode == 2 and "API key" in scan.stderr
    assert "mb_not-a-key" not in scan.stdout + scan.stderr
