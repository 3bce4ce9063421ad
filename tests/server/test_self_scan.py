"""middlebrick scans its own service with two organisations' keys: nothing above ``low``.

The scan acts as Acme and uses Bravo as the other identity for the cross-identity tests (BOLA,
tenant switching), each owning one scan; the service's own OpenAPI document is the spec.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.server.conftest import Running

CLI = [sys.executable, "-c", "from middlebrick.cli import main; main()"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_scan_of_the_service_itself_finds_nothing_above_low(
    service: Running, scans: dict[str, str]
) -> None:
    result = subprocess.run(
        [
            *CLI,
            "scan",
            f"{service.url}/api/v1",
            "--spec",
            f"{service.url}/api/v1/openapi.json",
            "--identity",
            f"acme=apikey:X-API-Key:{service.a.key}",
            "--identity",
            f"bravo=apikey:X-API-Key:{service.b.key}",
            "--owns",
            f"acme={scans['a1']},{scans['a2']}",
            "--owns",
            f"bravo={scans['b1']}",
            "--format",
            "json",
            "--quiet",
            "--no-save",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    above_low = [
        f"{f['severity']} {f['type_id']} {f['operation']}: {f['detail']}"
        for f in report["findings"]
        if f["severity"] in ("critical", "high", "medium")
    ]
    assert above_low == []
    assert report["operations"] >= 8 and report["complete"]
    assert service.a.key not in result.stdout and service.b.key not in result.stdout
