"""The GitHub Action, run the way GitHub runs it: action.yml's steps through bash, with its env."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web

from middlebrick.github_action import MARKER, scan_arguments, scan_environment, sticky_comment
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
    name: str, inputs: dict[str, str], tmp: Path, outputs=None, runner_env=None
) -> subprocess.CompletedProcess:
    step = STEPS[name]
    env = {key: _expand(str(val), inputs) for key, val in step.get("env", {}).items()}
    env |= {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "RUNNER_TEMP": str(tmp),
        "GITHUB_OUTPUT": str(tmp / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp / "step_summary.md"),
        "MIDDLEBRICK_HOME": str(tmp / "home"),
        **(runner_env or {}),
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
    inputs = ("url", "spec", "auth", "threshold", "fail-on", "format", "server-url", "api-key")
    for name in (*inputs, "include", "exclude"):
        assert name in ACTION["inputs"]
    assert set(ACTION["outputs"]) >= {"score", "grade", "findings", "report-path"}
    assert any("upload-sarif" in str(step.get("uses", "")) for step in ACTION["runs"]["steps"])
    assert ACTION["inputs"]["comment"]["default"] == "false"  # the comment is opt-in


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


@dataclass
class FakeGitHub:
    """The three issue-comment routes of GitHub's REST API, on loopback."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, auth
    refuse_writes: bool = False

    def app(self) -> web.Application:
        async def listing(request: web.Request) -> web.Response:
            self.calls.append(("GET", request.path_qs, request.headers.get("Authorization", "")))
            page, size = int(request.query.get("page", "1")), int(request.query["per_page"])
            return web.json_response(self.comments[(page - 1) * size : page * size])

        async def create(request: web.Request) -> web.Response:
            self.calls.append(("POST", request.path, request.headers.get("Authorization", "")))
            if self.refuse_writes:
                return web.json_response({"message": "Resource not accessible"}, status=403)
            body = (await request.json())["body"]
            comment = {"id": 100 + len(self.comments), "body": body, "user": {"login": "bot"}}
            self.comments.append(comment)
            return web.json_response(comment, status=201)

        async def update(request: web.Request) -> web.Response:
            self.calls.append(("PATCH", request.path, request.headers.get("Authorization", "")))
            (comment,) = [c for c in self.comments if c["id"] == int(request.match_info["id"])]
            comment["body"] = (await request.json())["body"]
            return web.json_response(comment)

        app = web.Application()
        app.router.add_get("/repos/acme/shop/issues/7/comments", listing)
        app.router.add_post("/repos/acme/shop/issues/7/comments", create)
        app.router.add_patch("/repos/acme/shop/issues/comments/{id}", update)
        return app


@pytest.fixture
def github(tmp_path: Path) -> Iterator[tuple[FakeGitHub, dict[str, str]]]:
    fake = FakeGitHub(comments=[{"id": 1, "body": "LGTM", "user": {"login": "octocat"}}])
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    for base in _serve(fake.app()):
        yield (
            fake,
            {
                "GITHUB_API_URL": base,
                "GITHUB_REPOSITORY": "acme/shop",
                "GITHUB_EVENT_PATH": str(event),
                "GITHUB_SERVER_URL": "https://github.example",
                "GITHUB_RUN_ID": "42",
            },
        )


def test_action_keeps_one_pull_request_comment_updated_in_place(
    vulnerable_url: str, tmp_path: Path, github: tuple[FakeGitHub, dict[str, str]]
) -> None:
    fake, runner_env = github
    inputs = {
        "url": vulnerable_url,
        "auth": f"bearer:{TOKEN}",
        "comment": "true",
        "github-token": "ghs_fake-token",
    }
    first = _run_step("Scan", inputs, tmp_path / "1", runner_env=runner_env)
    assert first.returncode == 0, first.stderr
    assert "summary comment posted on pull request #7" in first.stdout
    second = _run_step("Scan", inputs, tmp_path / "2", runner_env=runner_env)
    assert second.returncode == 0, second.stderr
    assert "summary comment updated on pull request #7" in second.stdout
    assert fake.comments[0]["body"] == "LGTM"  # someone else's comment is untouched
    assert len(fake.comments) == 2 and fake.comments[1]["body"].startswith(MARKER)
    body = fake.comments[1]["body"]
    assert "Score" in body and "Worst findings" in body and TOKEN not in body
    assert "(https://github.example/acme/shop/actions/runs/42)" in body
    assert [method for method, _, _ in fake.calls] == ["GET", "POST", "GET", "PATCH"]
    assert {auth for _, _, auth in fake.calls} == {"Bearer ghs_fake-token"}
    assert "ghs_fake-token" not in first.stdout + first.stderr + second.stdout + second.stderr


def test_sticky_comment_only_on_a_pull_request_and_never_fails_the_step(
    tmp_path: Path, github: tuple[FakeGitHub, dict[str, str]]
) -> None:
    fake, runner_env = github
    env = {**runner_env, "INPUT_GITHUB_TOKEN": "ghs_fake-token"}
    push = tmp_path / "push.json"
    push.write_text(json.dumps({"ref": "refs/heads/main"}))
    said = sticky_comment({**env, "GITHUB_EVENT_PATH": str(push)}, f"{MARKER}\nhello")
    assert said.startswith("::notice::") and fake.calls == []
    fake.refuse_writes = True
    said = sticky_comment(env, f"{MARKER}\nhello")
    assert said == "::warning::middlebrick: GitHub refused the comment (HTTP 403)"
    unreachable = {**env, "GITHUB_API_URL": "http://127.0.0.1:9"}
    assert sticky_comment(unreachable, "x").startswith("::warning::")


def test_action_runs_on_a_service_with_the_api_key_only_in_the_environment(tmp_path: Path) -> None:
    env = {
        "INPUT_URL": "https://api.example.org",
        "INPUT_SERVER_URL": "http://127.0.0.1:8080",
        "INPUT_API_KEY": "mbk_secret-key",
    }
    args = scan_arguments(env, tmp_path)
    assert args[args.index("--server") + 1] == "http://127.0.0.1:8080"
    assert not [a for a in args if "mbk_secret-key" in a]
    assert scan_environment(env)["MIDDLEBRICK_API_KEY"] == "mbk_secret-key"
    assert "MIDDLEBRICK_API_KEY" not in scan_environment({"INPUT_URL": "http://x"})
    with pytest.raises(SystemExit, match="needs 'server-url'"):
        scan_arguments({"INPUT_URL": "http://x", "INPUT_API_KEY": "k"}, tmp_path)


def test_action_passes_each_include_and_exclude_line_as_a_flag(tmp_path: Path) -> None:
    env = {
        "INPUT_URL": "https://staging.example.test",
        "INPUT_INCLUDE": "POST /v1/chat/completions\n\nPATCH /drafts/*\n",
        "INPUT_EXCLUDE": "/admin/**",
    }

    args = scan_arguments(env, tmp_path)

    flags = [(a, b) for a, b in pairwise(args) if a in ("--include", "--exclude")]
    assert flags == [
        ("--include", "POST /v1/chat/completions"),
        ("--include", "PATCH /drafts/*"),
        ("--exclude", "/admin/**"),
    ]


def test_action_passes_the_spec_root_as_a_flag(tmp_path: Path) -> None:
    env = {"INPUT_URL": "https://staging.example.test", "INPUT_SPEC": "api/openapi.yaml"}

    without = scan_arguments(env, tmp_path)
    widened = scan_arguments({**env, "INPUT_SPEC_ROOT": "."}, tmp_path)

    assert "--spec-root" not in without and "spec-root" in ACTION["inputs"]
    assert [(a, b) for a, b in pairwise(widened) if a == "--spec-root"] == [("--spec-root", ".")]


def test_action_passes_allow_incomplete_only_when_true(tmp_path: Path) -> None:
    base = {"INPUT_URL": "https://staging.example.test", "INPUT_THRESHOLD": "80"}

    assert "--allow-incomplete" in scan_arguments(
        {**base, "INPUT_ALLOW_INCOMPLETE": "true"}, tmp_path
    )
    assert "--allow-incomplete" not in scan_arguments(
        {**base, "INPUT_ALLOW_INCOMPLETE": "false"}, tmp_path
    )
    assert ACTION["inputs"]["allow-incomplete"]["default"] == "false"
