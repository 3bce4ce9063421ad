"""Response headers that are not valid UTF-8 are decoded losslessly (latin-1) and reported.

Once they crashed the scan: JSON with PydanticSerializationError on surrogates, HTML and SARIF
with UnicodeEncodeError, and nothing was written (issue 12, item 3). Evidence shows the bytes
escaped (``\\xff``), so no format can choke on them and a reader sees exactly what was sent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from middlebrick.config import Limits, ScanRequest
from middlebrick.engine import scan
from middlebrick.render import formats, render_bytes
from middlebrick.report import Report
from tests.chromium import chromium_or_skip

from .server import HostileServer

LIMITS = Limits(read_timeout=1.0, connect_timeout=1.0, time_budget=8.0, max_body_bytes=65536)
PATHS = ["/users", "/orders", "/products"]


async def _scan(tmp_path: Path) -> Report:
    operations = {p: {"get": {"responses": {"200": {"description": "?"}}}} for p in PATHS}
    document = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": operations}
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document))
    async with HostileServer(otherwise="/bad-header") as server:
        return await scan(ScanRequest(target=server.base_url, spec=str(spec), limits=LIMITS))


@pytest.mark.parametrize("fmt", sorted(set(formats()) - {"pdf"}))  # PDF is the HTML, printed
async def test_every_format_renders_a_scan_of_headers_that_are_not_utf8(
    fmt: str, tmp_path: Path
) -> None:
    report = await _scan(tmp_path)

    out = render_bytes(report, fmt).decode("utf-8")

    assert out
    assert "\udcff" not in out and "\ufffd" not in out


async def test_header_bytes_are_kept_and_shown_escaped_in_evidence(tmp_path: Path) -> None:
    report = await _scan(tmp_path)

    banner = next(f for f in report.findings if "Werkzeug" in json.dumps(f.model_dump(mode="json")))
    headers = [h for e in banner.evidence for h in e.response_headers.items()]
    assert ("Server", "Werkzeug/2.0.1 Python/3.9.7 \\xff\\xfe") in headers
    note = dict(headers).get("X-Note")
    assert note == "caf\\xe9 \\xc3("
    assert Report.model_validate_json(report.model_dump_json()) == report


async def test_the_pdf_of_a_scan_of_headers_that_are_not_utf8_is_written(tmp_path: Path) -> None:
    chromium_or_skip()
    report = await _scan(tmp_path)

    pdf = render_bytes(report, "pdf")

    assert pdf.startswith(b"%PDF-")
