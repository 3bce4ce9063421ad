"""Data exposure checks stay quiet on look-alikes: ids, dates, versions, hashes, blobs."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import pytest

from middlebrick.checks._signatures import MAX_HITS, ScanEnv, scan_text, signatures_for
from middlebrick.config import ScanRequest
from middlebrick.findings import Finding
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

CHECKS = (
    "data_exposure.personal_data",
    "data_exposure.secrets",
    "data_exposure.error_details",
    "data_exposure.internal_addresses",
)


async def _scan(body: Any, *, headers: dict[str, str] | None = None) -> list[Finding]:
    operation = Operation(method="GET", path="/orders")
    recorded = exchange("GET", "/orders", response(200, body, headers), operation=operation.key)
    baseline = make_baseline([(operation, recorded)])
    found: list[Finding] = []
    for name in CHECKS:
        found += await run_check(name, baseline=baseline, scan=ScanRequest(target=BASE))
    return found


def _record(n: int) -> dict[str, Any]:
    """An order record full of values that look like, but are not, sensitive data."""
    return {
        "id": str(uuid.UUID(int=n * 7919 + 12345)),
        "order_id": f"4{n:015d}",  # 16 digits, starts like a Visa, not Luhn-checked: an id field
        "order_number": "4539578763621487",  # Luhn fails
        "created_at": "2024-01-15T10:30:00+01:00",
        "date": "2024-01-15",
        "epoch_ms": 1705311000000 + n,
        "version": "10.2.1.4",
        "app_version": "1.2.3+20240115",
        "sha256": hashlib.sha256(str(n).encode()).hexdigest(),
        "etag": base64.b64encode(hashlib.sha256(str(n).encode()).digest()).decode(),
        "token": "token",
        "token_type": "bearer",
        "description": "Send the token in the Authorization header; see the API key docs.",
        "isbn": "978-3-16-148410-0",
        "amount": "1234567.89",
        "ratio": 0.1234567890123,
        "coords": "48.8566, 2.3522",
        "sku": "SKU-2024-000123",
        "contact": "support@acme.example",
        "logo": "/static/logo@2x.png",
        "tags": {"S": 1, "M": 2, "L": 3},
        "doc": "https://docs.example.com/v10.0.0/guide",
    }


async def test_data_exposure_checks_stay_quiet_on_a_list_of_look_alike_records() -> None:
    assert await _scan([_record(n) for n in range(50)]) == []


LOOK_ALIKES = [
    pytest.param({"request_id": "550e8400-e29b-41d4-a716-446655440000"}, id="uuid"),
    pytest.param({"ts": "2024-01-15T10:30:00Z", "tz": "+05:30"}, id="iso-date"),
    pytest.param({"version": "10.0.0.1"}, id="version-like-ip"),
    pytest.param({"build": "release 192.168.0.1 notes"}, id="release-number"),
    pytest.param({"order_id": "4111111111111111"}, id="luhn-valid-order-id"),
    pytest.param({"reference": "4532015112830361"}, id="luhn-invalid-16-digits"),
    pytest.param({"created_ms": 1700000000000}, id="epoch-ms"),
    pytest.param({"blob": base64.b64encode(bytes(range(256)) * 4).decode()}, id="base64-blob"),
    pytest.param({"hash": "d41d8cd98f00b204e9800998ecf8427e"}, id="md5"),
    pytest.param({"token": "n/a", "note": "token expired"}, id="word-token"),
    pytest.param({"api_key": "your-api-key-here"}, id="api-key-placeholder"),
    pytest.param({"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE"}, id="aws-doc-example"),
    pytest.param({"stripe": "pk_live_51HqLyjWDarjtT1zdp7dcXYZ"}, id="stripe-publishable"),
    pytest.param({"cert": "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq"}, id="public-key"),
    pytest.param({"help": "support@acme.example", "bot": "noreply@acme.example"}, id="role-email"),
    pytest.param({"img": "icon@3x.webp"}, id="retina-file-name"),
    pytest.param({"phone": "n/a", "count": 1234567890}, id="ten-digit-count"),
    pytest.param({"ticket": "555-12-3456"}, id="ssn-shaped-without-context"),
    pytest.param({"module": "from werkzeug.local import LocalProxy"}, id="module-name"),
    pytest.param({"message": "Requested resource was not found"}, id="generic-not-found"),
    pytest.param({"sizes": {"S": 10, "M": 20}}, id="t-shirt-sizes"),
]


@pytest.mark.parametrize("body", LOOK_ALIKES)
async def test_data_exposure_checks_stay_quiet_on(body: dict[str, Any]) -> None:
    assert await _scan(body) == []


async def test_data_exposure_checks_stay_quiet_on_ordinary_headers() -> None:
    headers = {
        "X-Request-Id": "550e8400-e29b-41d4-a716-446655440000",
        "Server": "Werkzeug/3.0.1 Python/3.11.7",
        "X-App-Version": "10.2.0.1",
        "Date": "Mon, 15 Jan 2024 10:30:00 GMT",
    }

    assert await _scan({"ok": True}, headers=headers) == []


def test_signature_scan_keeps_a_bounded_number_of_hits_in_a_huge_body() -> None:
    body = json.dumps([{"email": f"user{n}@acme.example"} for n in range(40_000)])
    sigs = signatures_for({"data_exposure.email-address"})

    hits = scan_text(body, "body", sigs, ScanEnv())

    assert len(body) > 1_000_000
    assert len(hits) == MAX_HITS
