"""End to end: each first-category flaw is found on the vulnerable twin, none on the fixed one."""

from __future__ import annotations

import pytest

from middlebrick.config import ScanRequest
from middlebrick.engine import scan
from middlebrick.findings import Severity
from middlebrick.report import Report
from middlebrick.testing import LiveApp
from tests.integration.twin_app import TOKEN, make_app

EXPECTED_ON_VULNERABLE = {
    ("authentication.declared-not-enforced", "GET /users"),
    ("authentication.declared-not-enforced", "GET /users/{user_id}"),
    ("authentication.scheme-not-enforced", "*"),
    ("authentication.missing-security-headers", "*"),
    ("encryption.cookie-missing-flags", "*"),
    ("data_exposure.email-address", "GET /users"),
    ("data_exposure.secret-token", "GET /users/{user_id}"),
    ("data_exposure.dynamodb-error-text", "GET /orders"),
    ("rate_limiting.no-rate-limit", "*"),
    ("inventory.server-version-disclosed", "*"),
}


_REPORTS: dict[tuple[bool, bool], Report] = {}


async def _fresh_scan(vulnerable: bool, *, with_spec: bool = True) -> Report:
    async with LiveApp(make_app(vulnerable=vulnerable)) as url:
        request = ScanRequest(
            target=url,
            spec=f"{url}/openapi.json" if with_spec else None,
            headers=(("Authorization", f"Bearer {TOKEN}"),),
        )
        return await scan(request)


async def _scan(vulnerable: bool, *, with_spec: bool = True) -> Report:
    """The scan of one twin, made once for this module: the tests read the same report."""
    key = (vulnerable, with_spec)
    if key not in _REPORTS:
        _REPORTS[key] = await _fresh_scan(vulnerable, with_spec=with_spec)
    return _REPORTS[key]


async def test_scan_reports_every_flaw_of_the_vulnerable_twin() -> None:
    report = await _scan(vulnerable=True)
    found = {(f.type_id, f.operation) for f in report.findings}
    missing = EXPECTED_ON_VULNERABLE - found
    assert not missing, f"missed: {sorted(missing)}; found: {sorted(found)}"


async def test_scan_stays_quiet_on_the_fixed_twin() -> None:
    report = await _scan(vulnerable=False)
    loud = [
        (f.type_id, f.operation, f.severity.value)
        for f in report.findings
        if f.severity != Severity.info
    ]
    assert loud == []


async def test_scan_shows_a_category_that_does_not_apply_as_not_checked() -> None:
    report = await _scan(vulnerable=True)
    llm = report.category("llm_security")
    assert llm.status == "not_checked" and llm.score is None
    assert llm.note == "no AI/LLM endpoint was detected"


async def test_scan_of_the_same_target_gives_the_same_score_and_fingerprints() -> None:
    first, second = await _scan(vulnerable=True), await _fresh_scan(vulnerable=True)
    assert first.score == second.score
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in second.findings]


async def test_scan_never_shows_the_credentials_it_was_given() -> None:
    report = await _scan(vulnerable=True)
    assert TOKEN not in report.model_dump_json()


@pytest.mark.parametrize("vulnerable", [True, False])
async def test_scan_without_spec_finds_the_served_document(vulnerable: bool) -> None:
    report = await _scan(vulnerable=vulnerable, with_spec=False)
    assert report.spec is not None and report.spec.operations == 4
