"""The GitHub Action's step (``action.yml``): scan, write reports, outputs and a job summary.

Run by the composite action as ``python -m middlebrick.github_action`` with the action's inputs
in ``INPUT_*`` environment variables. It calls the ``middlebrick scan`` command exactly as a user
would (on a middlebrick service with ``server-url``, the API key passed in the environment, never
on the command line), writing JSON, SARIF and Markdown reports (plus the requested format) to
``OUTPUT_DIR``; then appends the Markdown report to ``$GITHUB_STEP_SUMMARY``, writes ``score``,
``grade``, ``findings``, ``report-path``, ``sarif-path`` and ``exit-code`` to ``$GITHUB_OUTPUT``
and, with ``comment: true`` on a pull request, keeps one summary comment on it (found again by a
hidden marker and updated in place). It always exits 0 when the scan ran, so the SARIF upload
can follow; the action's last step exits with ``exit-code``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["MARKER", "main", "scan_arguments", "scan_environment", "sticky_comment"]

MARKER = "<!-- middlebrick:pull-request-summary -->"
_MAX_PAGES = 30  # comments read to find the summary comment: 3,000

_EXTENSIONS = {"html": "html", "pdf": "pdf", "junit": "xml", "markdown": "md", "table": "txt"}


def scan_arguments(env: Mapping[str, str], out: Path) -> list[str]:
    """The ``middlebrick scan`` arguments for the action's inputs."""
    url = env.get("INPUT_URL", "").strip()
    if not url:
        raise SystemExit("error: the action needs the 'url' input")
    args = ["scan", url, "--no-color", "--no-save"]
    args += ["-f", "summary", "-f", f"json:{out / 'report.json'}"]
    args += ["-f", f"sarif:{out / 'middlebrick.sarif'}", "-f", f"markdown:{out / 'summary.md'}"]
    extra = env.get("INPUT_FORMAT", "").strip()
    for fmt in (f.strip() for f in extra.split(",") if f.strip()):
        if fmt not in ("summary", "json", "sarif", "markdown"):
            args += ["-f", f"{fmt}:{out / ('report.' + _EXTENSIONS.get(fmt, fmt))}"]
    for name, flag in (
        ("INPUT_SPEC", "--spec"),
        ("INPUT_SPEC_ROOT", "--spec-root"),
        ("INPUT_AUTH", "--auth"),
        ("INPUT_THRESHOLD", "--threshold"),
        ("INPUT_FAIL_ON", "--fail-on"),
        ("INPUT_BASELINE", "--baseline"),
        ("INPUT_IGNORE_FILE", "--ignore-file"),
        ("INPUT_CONFIG", "--config"),
    ):
        value = env.get(name, "").strip()
        if value:
            args += [flag, value]
    for name, flag in (
        ("INPUT_IDENTITIES", "--identity"),
        ("INPUT_HEADERS", "--header"),
        ("INPUT_INCLUDE", "--include"),
        ("INPUT_EXCLUDE", "--exclude"),
    ):
        for line in env.get(name, "").splitlines():
            if line.strip():
                args += [flag, line.strip()]
    if env.get("INPUT_ACTIVE", "").strip().lower() == "true":
        args.append("--active")
    if env.get("INPUT_ALLOW_INCOMPLETE", "").strip().lower() == "true":
        args.append("--allow-incomplete")
    server = env.get("INPUT_SERVER_URL", "").strip()
    if server:
        args += ["--server", server]
    elif env.get("INPUT_API_KEY", "").strip():
        raise SystemExit("error: the 'api-key' input needs 'server-url', the service it is for")
    args += shlex.split(env.get("INPUT_ARGS", ""))
    return args


def scan_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The scan's environment: the runner's, plus the service's API key, which stays off the
    command line (``middlebrick scan`` reads ``MIDDLEBRICK_API_KEY``)."""
    child = dict(env)
    key = env.get("INPUT_API_KEY", "").strip()
    if key:
        child["MIDDLEBRICK_API_KEY"] = key
    return child


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the scan for the action; return the process exit code of this step."""
    env = os.environ if env is None else env
    out = Path(env.get("OUTPUT_DIR") or env.get("RUNNER_TEMP") or ".") / "middlebrick"
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "middlebrick", *scan_arguments(env, out)]
    code = subprocess.run(command, check=False, env=scan_environment(env)).returncode
    if code not in (0, 1):
        return code  # usage error or unreachable target: the step fails here, with the reason
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    outputs = {
        "score": "" if report["score"] is None else str(report["score"]),
        "grade": report["grade"] or ("incomplete" if _ungraded(report) else ""),
        "findings": str(len(report["findings"])),
        "report-path": str(out / "report.json"),
        "sarif-path": str(out / "middlebrick.sarif"),
        "exit-code": str(code),
    }
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as stream:
            stream.writelines(f"{key}={value}\n" for key, value in outputs.items())
    if env.get("GITHUB_STEP_SUMMARY"):
        with open(env["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as stream:
            stream.write((out / "summary.md").read_text(encoding="utf-8"))
    if env.get("INPUT_COMMENT", "").strip().lower() == "true":
        print(sticky_comment(env, _comment_body(env, out / "report.json")))
    return 0


def sticky_comment(env: Mapping[str, str], body: str) -> str:
    """Create or update the one summary comment on the pull request; say what was done.

    Never fails the step: without a pull request, a token or the right to comment (a fork's
    read-only token), it says so as a workflow warning.
    """
    number = _pull_request(env.get("GITHUB_EVENT_PATH", ""))
    if number is None:
        return "::notice::middlebrick: not a pull request, so no comment was posted"
    token = env.get("INPUT_GITHUB_TOKEN", "").strip()
    repo = env.get("GITHUB_REPOSITORY", "")
    if not token or not repo:
        return "::warning::middlebrick: no github-token or repository, so no comment was posted"
    api = env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    try:
        existing = _find_comment(api, repo, number, token)
        if existing is None:
            _github(api, "POST", f"/repos/{repo}/issues/{number}/comments", token, {"body": body})
            return f"middlebrick: summary comment posted on pull request #{number}"
        _github(api, "PATCH", f"/repos/{repo}/issues/comments/{existing}", token, {"body": body})
        return f"middlebrick: summary comment updated on pull request #{number}"
    except urllib.error.HTTPError as exc:
        return f"::warning::middlebrick: GitHub refused the comment (HTTP {exc.code})"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"::warning::middlebrick: the comment could not be posted ({type(exc).__name__})"


def _comment_body(env: Mapping[str, str], report_path: Path) -> str:
    from middlebrick.gate import load_report
    from middlebrick.render.markdown import render_markdown_summary

    text = render_markdown_summary(load_report(report_path))
    server, repo, run = (
        env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if server and repo and run:
        text += f"Full report: the [job summary]({server}/{repo}/actions/runs/{run}).\n"
    return f"{MARKER}\n{text}"


def _pull_request(event_path: str) -> int | None:
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    number = (event.get("pull_request") or {}).get("number") if isinstance(event, dict) else None
    return number if isinstance(number, int) else None


def _find_comment(api: str, repo: str, number: int, token: str) -> int | None:
    for page in range(1, _MAX_PAGES + 1):
        path = f"/repos/{repo}/issues/{number}/comments?per_page=100&page={page}"
        comments = _github(api, "GET", path, token)
        if not isinstance(comments, list):
            return None
        for comment in comments:
            if isinstance(comment, dict) and MARKER in str(comment.get("body", "")):
                return int(comment["id"])
        if len(comments) < 100:
            return None
    return None


def _github(api: str, method: str, path: str, token: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(api + path, data=data, method=method)
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("X-GitHub-Api-Version", "2022-11-28")
    request.add_header("User-Agent", "middlebrick-action")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    request.add_unredirected_header("Authorization", f"Bearer {token}")  # never to a redirect
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


if __name__ == "__main__":
    sys.exit(main())


def _ungraded(report: dict[str, Any]) -> bool:
    """Whether the report has no grade because the scan reached too little of the API."""
    coverage = report.get("coverage") or {}
    return bool(coverage.get("incomplete"))
