"""Files the user names are read within bounds, and reports can be written before a scan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli._run import main, one_error_line, run

TARGET = "http://127.0.0.1:9"  # never contacted: each command below fails before any request


@pytest.mark.parametrize("flag", ["--spec", "--config", "--baseline", "--ignore-file"])
def test_a_device_as_an_input_file_is_refused_without_reading_it(
    flag: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = main(capsys, monkeypatch, "scan", TARGET, flag, "/dev/zero")

    assert result.returncode == 2
    assert "/dev/zero is not a regular file" in one_error_line(result)


def test_a_fifo_as_the_spec_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)

    result = run("scan", TARGET, "--spec", str(fifo), timeout=30)  # no writer: open must not wait

    assert result.returncode == 2
    assert "is not a regular file" in one_error_line(result)


def test_a_folder_as_the_spec_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = main(capsys, monkeypatch, "scan", TARGET, "--spec", str(tmp_path))

    assert result.returncode == 2
    assert "is a folder" in one_error_line(result)


def test_a_config_file_over_its_cap_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "big.yaml"
    config.write_text("# padding\n" * 200_000)

    result = main(capsys, monkeypatch, "scan", TARGET, "--config", str(config))

    assert result.returncode == 2
    assert "larger than 1 MiB" in one_error_line(result)


def test_a_small_config_file_is_still_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "scan.yaml"
    config.write_text('headers: {X-Ctx: "a\\nb"}\n')  # read, then refused for its line break

    result = main(capsys, monkeypatch, "scan", TARGET, "--config", str(config))

    assert result.returncode == 2
    assert "line break" in one_error_line(result)


@pytest.mark.parametrize("where", ["missing-folder/report.json", "."])
def test_an_output_that_cannot_be_written_is_refused_before_the_scan(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / where

    result = main(capsys, monkeypatch, "scan", TARGET, "--format", f"json:{target}")

    assert result.returncode == 2  # not 3: the unreachable target was never tried
    assert "cannot write" in one_error_line(result)
