"""Fixtures of the lab tests: one running lab per session and a plain HTTP client.

``lab`` starts every service × variant once (dynalite included) and stops it at the end;
``http`` sends one request with ``http.client`` (no redirects followed, no exception on an
error status) and returns a ``Reply``; ``shared_scans`` makes each scan of a target once per
session, for every test (and the accuracy gate) that reads the same scan.
"""

from __future__ import annotations

import asyncio
import http.client as httplib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from benchmarks.accuracy import SPEC, Scanned, scan_target
from lab import stores
from lab.runner import Lab, Target, start
from middlebrick.config import Limits


@dataclass(frozen=True)
class Reply:
    """One HTTP answer."""

    status: int
    headers: httplib.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """One header's value, or None."""
        return self.headers.get(name)

    def all(self, name: str) -> list[str]:
        """Every value of a repeated header."""
        return self.headers.get_all(name) or []


def call(
    method: str,
    url: str,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json_body: Any = None,
    scheme: str = "Bearer",
) -> Reply:
    """Send one request to a loopback ``url`` and return the reply (``token`` as ``scheme``)."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise AssertionError(f"lab tests only talk to loopback, not {url}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if params:
        path += ("&" if "?" in path else "?") + urlencode(params)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"{scheme} {token}"
    body = None
    if json_body is not None:
        body = json.dumps(json_body).encode()
        sent["Content-Type"] = "application/json"
    connection = httplib.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The whole lab, started once for the session.

    Without Node.js (dynalite) the lab tests are skipped locally; with
    ``MIDDLEBRICK_REQUIRE_LAB=1`` (CI: ``.ci/run`` installs Node.js) they fail instead.
    """
    if not (os.environ.get("AWS_ENDPOINT_URL") or shutil.which("node")):
        reason = "the lab needs Node.js (dynalite) or AWS_ENDPOINT_URL"
        if os.environ.get("MIDDLEBRICK_REQUIRE_LAB") == "1":
            pytest.fail(f"{reason}; MIDDLEBRICK_REQUIRE_LAB=1 makes that a failure")
        pytest.skip(reason)
    running = start()
    try:
        yield running
    finally:
        running.stop()


def running(lab: Lab, service: str, variant: str) -> Target:
    """The target, or a skip when the lab left its service out (PostgreSQL missing).

    With ``MIDDLEBRICK_REQUIRE_POSTGRES=1`` (CI) the lab itself refuses to start without it, so
    there nothing is skipped.
    """
    if all(t.service != service for t in lab.targets):
        if stores.postgres_required():
            pytest.fail(f"{service} is required but not running")
        pytest.skip(f"{service} is not running here (its store is missing)")
    return lab.target(service, variant)


@pytest.fixture(scope="session")
def http() -> Any:
    """``call(method, url, token=…, headers=…, params=…, json_body=…) -> Reply``."""
    return call


@pytest.fixture(scope="session")
def items_vulnerable(lab: Lab) -> Any:
    """The vulnerable items service's target."""
    return lab.target("items", "vulnerable")


@pytest.fixture(scope="session")
def items_secure(lab: Lab) -> Any:
    """The secure items service's target."""
    return lab.target("items", "secure")


class SharedScans:
    """Scans of lab targets, each made once per session and shared by every test that makes
    the same one: the accuracy gate's scans with the spec are also the BOLA, authentication and
    safety tests' scans. Each keeps its target's store as read before and after it (a scan
    must leave it unchanged: the gate and the safety tests assert that), and every scan starts
    from the seeded store (a safe scan changes nothing, an active one undoes what it wrote, and
    the gate reseeds after a scan that did not), so when it ran does not change what it found."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self._done: dict[tuple[str, str, str, str, str, float], Scanned] = {}

    async def scanner(
        self, lab: Lab, target: Target, *, surface: str, mode: str, tier: str, rate: float
    ) -> Scanned:
        """``accuracy.evaluate``'s scanner: a scan made before is given again."""
        key = (target.service, target.variant, surface, mode, tier, rate)
        if key not in self._done:
            self._done[key] = await scan_target(
                lab, target, surface=surface, mode=mode, tier=tier, rate=rate
            )
        return self._done[key]

    def spec(self, service: str, variant: str, mode: str = "safe") -> Scanned:
        """The scan of one target with its spec and every lab user, as the gate makes it."""
        target = running(self.lab, service, variant)
        scanned = self.scanner(
            self.lab, target, surface=SPEC, mode=mode, tier="standard", rate=Limits().rate
        )
        return asyncio.run(scanned)


@pytest.fixture(scope="session")
def shared_scans(lab: Lab) -> SharedScans:
    """The session's shared scans."""
    return SharedScans(lab)
