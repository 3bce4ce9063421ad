"""ReDoS against real regular expressions: a catastrophic one, its linear twin, a slow server.

The handlers match with Python's ``re`` for real and report the CPU time it took as the
response's measured time (so other load on the machine does not blur it); the catastrophic
pattern is OWASP's ReDoS example for e-mail addresses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

CHECK = "input_validation.redos"
Answer = Callable[[Request], Response]
CATASTROPHIC = re.compile(
    r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$"
)
LINEAR = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}$")
CHECK_EMAIL = Operation("GET", "/check-email", parameters=(Parameter("email", "query"),))


def checker(pattern: re.Pattern[str], *, per_char_s: float = 0.0) -> Answer:
    """``GET /check-email?email=``: the address matched against ``pattern``, timed for real."""

    def answer(request: Request) -> Response:
        email = dict(parse_qsl(urlsplit(request.url).query)).get("email", "")
        started = time.thread_time()  # CPU time: what the match cost, whatever else runs
        valid = bool(pattern.match(email))
        took = time.thread_time() - started + per_char_s * len(email)
        body = response(200, {"valid": valid})
        return Response(200, body.headers, body.body, request.url, elapsed_ms=5 + took * 1000)

    return answer


async def _run(sender: Any) -> tuple[list[Finding], Any]:
    url = "/check-email?email=alice%40shop.example"
    pair = (
        CHECK_EMAIL,
        exchange(
            "GET", url, sender.answer(Request("GET", BASE + url)), operation="GET /check-email"
        ),
    )
    return await run_check(CHECK, baseline=make_baseline([pair]), sender=sender), sender


async def test_redos_reports_a_pattern_whose_time_grows_super_linearly(api: Any) -> None:
    found, _ = await _run(api(checker(CATASTROPHIC)))

    assert [(f.parameter, f.confidence) for f in found] == [("email", Confidence.confirmed)]
    assert [e.label for e in found[0].evidence][-2:] == ["probe repeated", "control"]
    assert "super-linearly" in found[0].detail


async def test_redos_stays_quiet_on_a_linear_pattern(api: Any) -> None:
    found, sender = await _run(api(checker(LINEAR)))

    assert found == []
    assert len(sender.sent) <= 5  # 16, 22, 28, 34, 40 characters


async def test_redos_stays_quiet_when_time_grows_with_length_alone(api: Any) -> None:
    found, _ = await _run(api(checker(LINEAR, per_char_s=0.02)))

    assert found == []
