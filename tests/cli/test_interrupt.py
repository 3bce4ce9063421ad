"""Ctrl-C during a scan: it stops promptly, writes the partial report where asked, says where,
and exits 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cli._run import CLI
from tests.cli.conftest import Echo


def _start(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "scan", url, "--no-color", "--no-save", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _wait_for(process: subprocess.Popen[str], words: str, seconds: float) -> list[str]:
    """The stderr lines up to the first holding ``words`` (fails after ``seconds``)."""
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if words in line:
            return lines
    raise AssertionError(f"no {words!r} on stderr: {lines}")


def test_ctrl_c_writes_the_partial_report_says_where_and_exits_130(
    slow_api: Echo, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    process = _start(slow_api.url, "--format", f"json:{report}", "--threshold", "0")
    _wait_for(process, "surface:", 60)
    time.sleep(1.0)  # the baseline is waiting on the slow pages now

    interrupted_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    stopped_in = time.monotonic() - interrupted_at

    assert process.returncode == 130, err
    assert stopped_in < 10, f"took {stopped_in:.1f} s to stop"
    assert f"interrupted: the partial report (incomplete) is written to {report}" in err
    assert "Traceback" not in err
    written = json.loads(report.read_text())
    assert written["complete"] is False
    assert written["notes"][0].startswith("interrupted (Ctrl-C) after")
    assert "Score" in out  # the terminal got the summary too


def test_a_second_ctrl_c_quits_at_once_with_130(slow_api: Echo, tmp_path: Path) -> None:
    process = _start(slow_api.url, "--format", f"json:{tmp_path / 'r.json'}")
    _wait_for(process, "surface:", 60)
    process.send_signal(signal.SIGINT)
    _wait_for(process, "Ctrl-C again", 10)

    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)

    assert process.returncode == 130
    assert "Traceback" not in err
