"""The GitHub Action's step (``action.yml``): scan, write reports, outputs and a job summary.

Run by the composite action as ``python -m middlebrick.github_action`` with the action's inputs
in ``INPUT_*`` environment variables. It calls the ``middlebrick scan`` command exactly as a user
would, writing JSON, SARIF and Markdown reports (plus the requested format) to ``OUTPUT_DIR``; then
appends the Markdown report to ``$GITHUB_STEP_SUMMARY`` and writes ``score``, ``grade``,
``findings``, ``report-path``, ``sarif-path`` and ``exit-code`` to ``$GITHUB_OUTPUT``. It always
exits 0 when the scan ran, so the SARIF upload can follow; the action's last step exits with
``exit-code``.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["main", "scan_arguments"]

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
    for line in env.get("INPUT_IDENTITIES", "").splitlines():
        if line.strip():
            args += ["--identity", line.strip()]
    for line in env.get("INPUT_HEADERS", "").splitlines():
        if line.strip():
            args += ["--header", line.strip()]
    if env.get("INPUT_ACTIVE", "").strip().lower() == "true":
        args.append("--active")
    args += shlex.split(env.get("INPUT_ARGS", ""))
    return args


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the scan for the action; return the process exit code of this step."""
    env = os.environ if env is None else env
    out = Path(env.get("OUTPUT_DIR") or env.get("RUNNER_TEMP") or ".") / "middlebrick"
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "middlebrick", *scan_arguments(env, out)]
    code = subprocess.run(command, check=False).returncode
    if code not in (0, 1):
        return code  # usage error or unreachable target: the step fails here, with the reason
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    outputs = {
        "score": "" if report["score"] is None else str(report["score"]),
        "grade": report["grade"] or "",
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
