"""The GitHub Action, run the way GitHub runs it: action.yml's steps through bash, with its env."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.test_cli import _serve
from tests.integration.twin_app import TOKEN, make_app

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS = {step.get("name"): step for step in ACTION["runs"]["steps"]}


@pytest.fixture(scope="module")
def vulnerable_url() -> Iterator[str]:
    yield from _serve(make_app(vulnerable=True))


def _expand(text: str, inputs: dict[str, str], outputs: dict[str, str] | None = None) -> str:
    """What GitHub does to ``${{ … }}`` in a step, for the expressions action.yml uses."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        if expression.startswith("inputs."):
            name = expression.removeprefix("inputs.")
            return inputs.get(name, ACTION["inputs"][name].get("default", ""))
        if expression == "github.action_path":
            return str(ROOT)
        if expression.startswith("steps.scan.outputs.") and outputs is not None:
            return outputs.get(expression.removeprefix("steps.scan.outputs."), "")
        raise AssertionError(f"unexpected expression {expression!r} in action.yml")

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def _run_step(
    name: str, inputs: dict[str, str], tmp: Path, outputs=None
) -> subprocess.CompletedProcess:
    step = STEPS[name]
    env = {key: _expand(str(val), inputs) for key, val in step.get("env", {}).items()}
    env |= {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "RUNNER_TEMP": str(tmp),
        "GITHUB_OUTPUT": str(tmp / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "step_summary.md"),
        "MIDDLEBRICK_HOME": str(tmp / "home"),
    }
    script = _expand(step["run"], inputs, outputs)
    return subprocess.run(
        ["bash", "-e", "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _outputs(tmp: Path) -> dict[str, str]:
    lines = (tmp / "github_output").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_action_declares_the_documented_inputs_and_outputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    for name in ("url", "spec", "auth", "threshold", "fail-on", "format"):
        assert name in ACTION["inputs"]
    assert set(ACTION["outputs"]) >= {"score", "grade", "findings", "report-path"}
    assert any("upload-sarif" in str(step.get("uses", "")) for step in ACTION["runs"]["steps"])


def test_action_scan_step_writes_outputs_summary_and_sarif_and_the_gate_fails(
    vulnerable_url: str, tmp_path: Path
) -> None:
    inputs = {
        "url": vulnerable_url,
        "auth": f"bearer:{TOKEN}",
        "fail-on": "medium",
        "format": "junit",
    }
    scan = _run_step("Scan", inputs, tmp_path)
    assert scan.returncode == 0, scan.stderr
    outputs = _outputs(tmp_path)
    assert outputs["exit-code"] == "1" and outputs["grade"] in "ABCDF"
    report = json.loads(Path(outputs["report-path"]).read_text())
    assert outputs["findings"] == str(len(report["findings"])) and report["findings"]
    sarif = json.loads(Path(outputs["sarif-path"]).read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert (Path(outputs["report-path"]).parent / "report.xml").is_file()
    summary = (tmp_path / "step_summary.md").read_text()
    assert "middlebrick" in summary.lower() and outputs["score"] in summary
    for text in (scan.stdout, scan.stderr, summary, Path(outputs["sarif-path"]).read_text()):
        assert TOKEN not in text
    gate = _run_step("Gate", inputs, tmp_path, outputs)
    assert gate.returncode == 1


def test_action_gate_passes_without_a_fail_level(vulnerable_url: str, tmp_path: Path) -> None:
    scan = _run_step("Scan", {"url": vulnerable_url}, tmp_path)
    assert scan.returncode == 0, scan.stderr
    outputs = _outputs(tmp_path)
    assert outputs["exit-code"] == "0"
    assert _run_step("Gate", {"url": vulnerable_url}, tmp_path, outputs).returncode == 0


def test_action_step_fails_with_the_reason_on_a_usage_error(tmp_path: Path) -> None:
    scan = _run_step("Scan", {"url": "not a url"}, tmp_path)
    assert scan.returncode == 2 and "is not an http(s) URL" in scan.stderr
