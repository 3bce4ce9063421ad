"""Every usage error of every command: one line on stderr, exit 2, never a traceback."""

from __future__ import annotations

import socket

import pytest

from tests.cli._run import main, one_error_line, run

TARGET = "http://127.0.0.1:9"  # never contacted: each command below fails before any request

USAGE_ERRORS = {
    "unknown option": ["--bogus"],
    "unknown command": ["nosuch"],
    "scan without its URL": ["scan"],
    "scan with an unknown option": ["scan", TARGET, "--bogus"],
    "threshold above 100": ["scan", TARGET, "--threshold", "150"],
    "negative threshold": ["scan", TARGET, "--threshold", "-1"],
    "zero budget": ["scan", TARGET, "--budget", "0"],
    "negative budget": ["scan", TARGET, "--budget", "-5"],
    "zero rate": ["scan", TARGET, "--rate", "0"],
    "nan rate": ["scan", TARGET, "--rate", "nan"],
    "infinite rate": ["scan", TARGET, "--rate", "inf"],
    "zero concurrency": ["scan", TARGET, "--concurrency", "0"],
    "nan concurrency": ["scan", TARGET, "--concurrency", "nan"],
    "zero timeout": ["scan", TARGET, "--timeout", "0"],
    "negative timeout": ["scan", TARGET, "--timeout", "-3"],
    "nan timeout": ["scan", TARGET, "--timeout", "nan"],
    "infinite timeout": ["scan", TARGET, "--timeout", "inf"],
    "unknown tier": ["scan", TARGET, "--tier", "extreme"],
    "unknown fail-on": ["scan", TARGET, "--fail-on", "severe"],
    "unknown context": ["scan", TARGET, "--context", "banking"],
    "target port out of range": ["scan", "http://127.0.0.1:99999"],
    "target port zero": ["scan", "http://127.0.0.1:0"],
    "spec URL port out of range": ["scan", TARGET, "--spec", "http://127.0.0.1:99999/o.json"],
    "spec URL that does not parse": ["scan", TARGET, "--spec", "http://[::1/o.json"],
    "webhook port out of range": ["scan", TARGET, "--webhook", "http://127.0.0.1:99999/"],
    "results without a reference": ["results"],
    "results of nothing kept": ["results", "0123abcd"],
    "diff without reports": ["diff"],
    "diff with an unknown format": ["diff", "a.json", "b.json", "--format", "xml"],
    "serve on port 99999": ["serve", "--port", "99999"],
    "serve on port 0": ["serve", "--port", "0"],
    "worker with zero concurrency": ["worker", "--concurrency", "0"],
    "mcp waiting nan seconds": ["mcp", "--wait", "nan"],
    "mcp with an api key and no server": ["mcp", "--api-key", "k"],
    "lab without its subcommand": ["lab"],
    "lab with an unknown subcommand": ["lab", "sideways"],
    "keys without its subcommand": ["keys"],
    "users create without an org": ["users", "create", "--email", "a@example.org"],
    "demo with an unknown option": ["demo", "--bogus"],
}


@pytest.mark.parametrize("args", USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_a_usage_error_is_one_line_and_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = main(capsys, monkeypatch, *args)

    assert result.returncode == 2, result.stderr
    one_error_line(result)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MIDDLEBRICK_THRESHOLD", "150"),
        ("MIDDLEBRICK_THRESHOLD", "high"),
        ("MIDDLEBRICK_TIMEOUT", "inf"),
        ("MIDDLEBRICK_TIER", "extreme"),
    ],
)
def test_a_bad_environment_value_is_a_usage_error_naming_its_variable(
    variable: str, value: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    result = main(capsys, monkeypatch, "scan", TARGET)

    assert result.returncode == 2, result.stderr
    assert variable in one_error_line(result)


def test_a_usage_error_in_a_subprocess_names_where_to_read_the_usage() -> None:
    result = run("scan", TARGET, "--threshold", "150")

    assert result.returncode == 2
    assert "see `middlebrick scan --help`" in one_error_line(result)


def test_a_long_error_message_is_not_wrapped() -> None:
    result = run("scan", TARGET, "--tier", "x" * 200, env={"COLUMNS": "60"})

    assert "x" * 200 in one_error_line(result)


def test_middlebrick_alone_shows_its_help_and_exits_2() -> None:
    result = run()

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "scan" in result.stderr + result.stdout


def test_serve_on_a_port_in_use_is_a_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run("serve", "--port", str(port), timeout=60)

    assert result.returncode == 2
    assert "address already in use" in one_error_line(result)
