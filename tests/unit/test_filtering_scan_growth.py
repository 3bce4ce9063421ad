"""Record counts grown by the scan's own creations (issue 21, class 9): fires / stays quiet."""

from __future__ import annotations

import json
from typing import Any

from middlebrick.filtering import Answer, ScanFacts, filter_findings
from middlebrick.findings import (
    Confidence,
    Evidence,
    Finding,
    RecordedRequest,
    Severity,
    fingerprint,
)

FOREIGN = "bola.foreign-records-in-list"
OP = "GET /api/items"
BEFORE = {"items": [{"id": 1, "owner": "alice"}]}


def _listed(body: Any) -> Finding:
    url = "http://127.0.0.1:8000/api/items"
    return Finding(
        type_id=FOREIGN,
        category="bola",
        title="title",
        severity=Severity.high,
        confidence=Confidence.firm,
        operation=OP,
        detail="what the check saw",
        evidence=(
            Evidence(
                request=RecordedRequest(method="GET", url=url),
                curl="curl",
                status=200,
                excerpt=json.dumps(body),
            ),
        ),
        fingerprint=fingerprint(FOREIGN, OP),
    )


def _facts(*, raised_at: float) -> ScanFacts:
    finding = _listed({})
    return ScanFacts(
        authenticated={OP: Answer(200, json.dumps(BEFORE).encode())},
        writes=(10.0,),
        created=("http://127.0.0.1:8000/api/items/77",),
        raised={finding.fingerprint: raised_at},
    )


def test_a_list_grown_only_by_the_scans_own_creations_is_dropped() -> None:
    grown = {"items": [{"id": 1, "owner": "alice"}, {"id": 77, "owner": "bob"}]}

    result = filter_findings([_listed(grown)], _facts(raised_at=11.0))

    assert result.findings == []
    assert "holds 1 object(s) the scan itself created" in result.dropped[0]


def test_a_list_with_records_the_scan_did_not_create_stays() -> None:
    grown = {"items": [{"id": 1}, {"id": 77}, {"id": 5, "owner": "carol"}]}
    finding = _listed(grown)

    assert filter_findings([finding], _facts(raised_at=11.0)).findings == [finding]


def test_a_list_seen_before_any_write_stays() -> None:
    grown = {"items": [{"id": 1, "owner": "alice"}, {"id": 77, "owner": "bob"}]}
    finding = _listed(grown)

    assert filter_findings([finding], _facts(raised_at=9.0)).findings == [finding]
