"""The help text shows what it says, and ``--format NAME:FILE`` takes any path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._run import main

REPORT = Path(__file__).parents[1] / "snapshots" / "report.json"


def test_scan_help_shows_profiles_as_written_not_as_emoji(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = main(capsys, monkeypatch, "scan", "--help")

    assert result.returncode == 0
    assert "apikey:cookie:NAME:KEY" in result.stdout
    assert "\N{COOKIE}" not in result.stdout


def test_a_format_file_whose_path_holds_a_comma_is_written_there(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "a,b.json"
    sarif = tmp_path / "c,d.sarif"
    result = main(
        capsys, monkeypatch, "results", str(REPORT), "--format", f"json:{target},sarif:{sarif}"
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(target.read_text())["scan_id"] == json.loads(REPORT.read_text())["scan_id"]
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert not (tmp_path / "a").exists()


def test_formats_separated_by_commas_are_still_several_formats(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "r.json"
    result = main(capsys, monkeypatch, "results", str(REPORT), "--format", f"table,json:{target}")

    assert result.returncode == 0, result.stderr
    assert target.is_file() and "json report written to" in result.stdout
