"""End to end: the adaptive pace settles under a gateway's rate limit and finds the same flaws."""

from __future__ import annotations

import re

from benchmarks.generated_api import app
from middlebrick.config import Limits, ScanRequest
from middlebrick.engine import scan
from middlebrick.report import Report
from middlebrick.testing import LiveApp

LIMIT_RPS = 40  # the gateway's limit: 429 with Retry-After past this many requests a second
OPERATIONS = 3
LIMITS = Limits(burst=50)  # the defaults, with a burst past the limit whatever came before


async def _scan(limit_rps: float | None) -> Report:
    async with LiveApp(app(OPERATIONS, limit_rps=limit_rps)) as url:
        return await scan(ScanRequest(target=url, spec=f"{url}/openapi.json", limits=LIMITS))


def _pace(report: Report) -> str:
    return next(note for note in report.notes if note.startswith("pace: "))


async def test_scan_of_a_rate_limited_api_settles_under_its_limit_with_the_same_findings() -> None:
    free = await _scan(limit_rps=None)
    limited = await _scan(limit_rps=LIMIT_RPS)

    no_limit = "rate_limiting.no-rate-limit"
    assert no_limit in {f.type_id for f in free.findings}
    assert {f.fingerprint for f in limited.findings} == {
        f.fingerprint for f in free.findings if f.type_id != no_limit
    }
    assert "on 429" not in _pace(free) and "on Retry-After" not in _pace(free)
    pace = _pace(limited)
    refused = re.search(r"backed off \d+ times? \(.*\) after (\d+) answers of 429", pace)
    assert refused is not None, pace
    assert int(refused.group(1)) < limited.requests / 2, pace  # most were not refused
    assert not any("kept as its answer" in note for note in limited.notes), limited.notes
