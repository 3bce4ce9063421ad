"""``scan --server URL --api-key KEY``: the scan runs on a middlebrick service, not here.

The request (identities included, sent over the connection to the service and sealed there) is
posted to ``/api/v1/scans``; progress is polled and shown on stderr; the JSON report is fetched
and goes through the same renderers and gate as a local scan, with the same exit codes.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console

from middlebrick.config import ScanRequest
from middlebrick.errors import SpecError, TargetUnreachable, UsageError
from middlebrick.report import Report

__all__ = ["remote_scan"]

_POLL_S = 1.0
_FAILURES: dict[str, type[Exception]] = {"unreachable": TargetUnreachable, "spec": SpecError}


def remote_scan(server: str, api_key: str | None, request: ScanRequest, *, quiet: bool) -> Report:
    """Have the service at ``server`` run ``request``; wait for it and return its report."""
    if not api_key:
        raise UsageError("--server needs --api-key (or MIDDLEBRICK_API_KEY): a key of the service")
    base = server.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https"):
        raise UsageError(f"--server {server!r} is not an http(s) URL of a middlebrick service")
    client = _Client(base, api_key)
    accepted = client.call("POST", "/api/v1/scans", _body(request))
    scan_id = accepted["id"]
    stderr = Console(stderr=True)
    last = ""
    while True:
        scan = client.call("GET", f"/api/v1/scans/{scan_id}")
        line = f"{scan['status']} {scan['progress']} % {scan['phase']}"
        if not quiet and line != last:
            stderr.print(f"[dim]server scan {scan_id[:12]}: {line}[/]", highlight=False)
            last = line
        if scan["status"] == "completed":
            raw = client.call("GET", f"/api/v1/scans/{scan_id}/report.json", raw=True)
            return Report.model_validate_json(raw)
        if scan["status"] == "failed":
            error = _FAILURES.get(scan.get("failure") or "", UsageError)
            raise error(f"the server's scan failed: {scan.get('reason')}")
        time.sleep(_POLL_S)


def _body(request: ScanRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "url": request.target,
        "mode": request.mode,
        "tier": request.tier.value,
        "context": request.context.value,
        "headers": dict(request.headers),
        "identities": [
            {
                "name": name,
                "headers": dict(c.headers),
                "query": dict(c.query),
                "owns": list(c.owns),
            }
            for name, c in request.identities.items()
        ],
    }
    if request.spec and urlsplit(request.spec).scheme in ("http", "https"):
        body["spec_url"] = request.spec
    elif request.spec:
        try:
            body["spec"] = Path(request.spec).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(f"cannot read the API description {request.spec}: {exc}") from None
    return body


class _Client:
    def __init__(self, base: str, api_key: str) -> None:
        self.base, self.api_key = base, api_key

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, raw: bool = False
    ) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"X-API-Key": self.api_key, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                content: bytes = response.read()
        except urllib.error.HTTPError as exc:
            raise _problem(exc) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TargetUnreachable(
                f"the middlebrick server {self.base} did not answer ({reason}); "
                "check --server and that `middlebrick serve` runs"
            ) from None
        return content if raw else json.loads(content)


def _problem(exc: urllib.error.HTTPError) -> UsageError:
    try:
        detail = json.loads(exc.read()).get("detail", "")
    except (ValueError, AttributeError):
        detail = ""
    if exc.code == 401:
        return UsageError(f"the server refused the API key: {detail}")
    return UsageError(f"the server answered {exc.code}: {detail or exc.reason}")
