"""Run the ``middlebrick`` command as a user would: in a subprocess or in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

CLI = [sys.executable, "-c", "from middlebrick.cli import main; main()"]


@dataclass(frozen=True)
class Result:
    """What one run of the command left: exit code, standard output, standard error."""

    returncode: int
    stdout: str
    stderr: str


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
    """``middlebrick ARGS`` in a subprocess with ``env`` added; never raises on exit codes."""
    done = subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    return Result(done.returncode, done.stdout, done.stderr)


def main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """``middlebrick ARGS`` through the console-script entry point, in this process (never for
    an interrupted scan: exit 130 quits the process at once, see ``cli._quit_now``)."""
    from middlebrick.cli import main as entry_point

    monkeypatch.setattr(sys, "argv", ["middlebrick", *args])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        entry_point()
    out, err = capsys.readouterr()
    code = exited.value.code
    return Result(code if isinstance(code, int) else 1, out, err)


def one_error_line(result: Result) -> str:
    """The one ``error: …`` line on stderr (fails when there is a traceback or more lines)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]
