"""A scan that did not finish never passes a gate: the report is written and the exit code is 1.

Each case once let the scanner print "error: …", write nothing and exit 0 under ``--threshold 90
--fail-on low`` (issue 12, item 2): discovery stopped after the root answered (other paths stall,
trickle or lie about their length), ``--budget 1``, a host written in fullwidth digits.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from .server import HostileServer

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "middlebrick",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _gated_scan(target: str, report: Path, *extra: str) -> tuple[int, str, str]:
    return await _cli(
        "scan", target, "--no-save", "--threshold", "90", "--fail-on", "low",
        "--format", f"json:{report}", "--timeout", "4", *extra,
    )  # fmt: skip


@pytest.mark.parametrize("otherwise", ["/stall", "/trickle", "/stall-body"])
async def test_gate_fails_when_discovery_stops_after_the_root_answered(
    otherwise: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    async with HostileServer(otherwise=otherwise) as server:
        code, out, err = await _gated_scan(server.base_url + "/ok", report)

    assert code == 1, (out, err)
    assert "error:" not in err
    assert "incomplete" in err
    written = json.loads(report.read_text())
    assert written["complete"] is False
    assert written["score"] is None and written["grade"] is None
    assert any("discovery stopped early" in why for why in written["coverage"]["incomplete"])


@pytest.mark.parametrize("budget", ["1", "2"])
async def test_gate_fails_when_the_request_budget_is_spent_at_once(
    budget: str, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    async with HostileServer() as server:
        code, out, err = await _gated_scan(server.base_url + "/ok", report, "--budget", budget)

    assert code == 1, (out, err)
    written = json.loads(report.read_text())
    assert written["complete"] is False and written["grade"] is None
    assert any("request budget" in why for why in written["coverage"]["incomplete"])


async def test_a_host_in_fullwidth_digits_is_scanned_as_the_host_it_names(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    async with HostileServer() as server:
        port = server.base_url.rsplit(":", 1)[1]
        target = f"http://{'127.0.0.1'.translate(FULLWIDTH)}:{port}/ok"
        code, out, err = await _gated_scan(target, report)
        assert server.hits["/ok"] > 0

    assert code == 1, (out, err)
    written = json.loads(report.read_text())
    assert written["target"].startswith("http://127.0.0.1:")
    assert written["grade"] is None  # one endpoint answered: too little for a grade


async def test_allow_incomplete_judges_an_incomplete_scan_on_what_it_found(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.json"
    async with HostileServer() as server:
        code, out, err = await _cli(
            "scan", server.base_url + "/ok", "--no-save", "--threshold", "90",
            "--format", f"json:{report}", "--budget", "1", "--allow-incomplete",
        )  # fmt: skip

    assert code == 0, (out, err)
    assert json.loads(report.read_text())["complete"] is False


async def test_an_incomplete_scan_without_a_gate_exits_0_and_says_incomplete(
    tmp_path: Path,
) -> None:
    async with HostileServer() as server:
        code, out, err = await _cli("scan", server.base_url + "/ok", "--no-save", "--budget", "1")

    assert code == 0, (out, err)
    assert "incomplete" in out


async def test_allow_incomplete_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "middlebrick.yaml"
    config.write_text("allow_incomplete: true\n")
    async with HostileServer() as server:
        code, out, err = await _cli(
            "scan", server.base_url + "/ok", "--no-save", "--threshold", "90",
            "--budget", "1", "--config", str(config), "--quiet",
        )  # fmt: skip

    assert code == 0, (out, err)
