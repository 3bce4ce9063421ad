"""OS command injection against a real shell: a command line built from the value, and its twin.

The echo cases run ``sh -c`` for real (only ``date`` and the probes' own ``echo``); the blind
cases stand for the shell's ``sleep`` by the response's measured time, so they take no wall time.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

CHECK = "input_validation.command_injection"
Answer = Callable[[Request], Response]
CONVERT = Operation("GET", "/convert", parameters=(Parameter("ts", "query"),))


def _ts(request: Request) -> str:
    return dict(parse_qsl(urlsplit(request.url).query)).get("ts", "1700000000")


def convert(*, shell: bool) -> Answer:
    """``GET /convert?ts=``: ``date`` through ``sh -c`` with the value pasted in, or an argv."""

    def answer(request: Request) -> Response:
        ts = _ts(request)
        if shell:
            command: Any = f"date -u -d @{ts} +%Y"
        elif ts.isdigit():
            command = ["date", "-u", "-d", f"@{ts}", "+%Y"]
        else:
            return response(400, {"error": "ts must be a number"})
        done = subprocess.run(
            command, shell=shell, capture_output=True, text=True, timeout=5, check=False
        )
        if done.returncode:
            return response(400, {"error": done.stderr.strip()})
        return response(200, {"year": done.stdout.strip()})

    return answer


def reflect(request: Request) -> Response:
    """Real life: an API that echoes the value back (no shell anywhere)."""
    return response(200, {"ts": _ts(request), "note": "stored"})


async def _run(op: Operation, url: str, sender: Any) -> list[Finding]:
    pair = (op, exchange("GET", url, sender.answer(Request("GET", BASE + url)), operation=op.key))
    return await run_check(CHECK, baseline=make_baseline([pair]), sender=sender)


async def test_command_injection_reports_the_product_the_shell_printed(api: Any) -> None:
    found = await _run(CONVERT, "/convert?ts=1700000000", api(convert(shell=True)))

    assert [(f.parameter, f.confidence) for f in found] == [("ts", Confidence.confirmed)]
    assert [e.label for e in found[0].evidence] == [
        "baseline",
        "probe",
        "probe, other factors",
        "control",
    ]
    assert re.search(r"mbzq\d+", found[0].evidence[1].excerpt)
    assert "$(" in found[0].detail


async def test_command_injection_stays_quiet_without_a_shell(api: Any) -> None:
    assert await _run(CONVERT, "/convert?ts=1700000000", api(convert(shell=False))) == []


async def test_command_injection_stays_quiet_when_the_value_is_only_reflected(api: Any) -> None:
    assert await _run(CONVERT, "/convert?ts=1700000000", api(reflect)) == []


def _blind(delay: Callable[[str], float]) -> Answer:
    def answer(request: Request) -> Response:
        return Response(
            status=202,
            headers=response(202, {}).headers,
            body=b'{"queued": true}',
            url=request.url,
            elapsed_ms=15 + 1000 * delay(_ts(request)),
        )

    return answer


def _sleeps(value: str) -> float:
    found = re.search(r"\$\(sleep ([\d.]+)\)", value)
    return float(found.group(1)) if found else 0.0


async def test_command_injection_reports_a_blind_shell_by_the_sleep_it_ran(api: Any) -> None:
    found = await _run(CONVERT, "/convert?ts=1700000000", api(_blind(_sleeps)))

    assert [(f.parameter, f.confidence) for f in found] == [("ts", Confidence.confirmed)]
    assert "sleep" in found[0].detail and "answered in 2." in found[0].detail


async def test_command_injection_stays_quiet_when_the_target_is_slow_anyway(api: Any) -> None:
    assert await _run(CONVERT, "/convert?ts=1", api(_blind(lambda value: 1.5))) == []
