"""Helpers for check authors' tests: recorded responses, a fake sender, and ``run_check``.

Unit tests of a check build a baseline from recorded exchanges, answer the check's probes from a
routing table, and collect what the check yields::

    sender = FakeSender({("GET", "/admin"): response(200, {"users": []})})
    findings = await run_check("bfla.admin_paths", baseline=..., sender=sender)
"""

from __future__ import annotations

import json as _json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from middlebrick.baseline import Baseline
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import load_all
from middlebrick.config import ScanRequest
from middlebrick.findings import Evidence, Finding, RecordedRequest
from middlebrick.http.exchange import Exchange, Headers, Request, Response
from middlebrick.http.journal import RUNNING, Journal, Running, is_write
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, Surface

BASE = "http://127.0.0.1:8000"

Responder = Response | Callable[[Request], Response]


def response(
    status: int = 200,
    body: Any = b"",
    headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    *,
    url: str = BASE + "/",
) -> Response:
    """A recorded response; a dict/list body is sent as JSON with a JSON content type."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
    if isinstance(body, dict | list):
        raw = _json.dumps(body).encode()
        if not any(k.lower() == "content-type" for k, _ in pairs):
            pairs.append(("Content-Type", "application/json"))
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = body
    return Response(status=status, headers=Headers(tuple(pairs)), body=raw, url=url)


def exchange(
    method: str, path: str, resp: Response | None, *, operation: str | None = None, base: str = BASE
) -> Exchange:
    """An exchange for ``method path`` on the fake base URL."""
    return Exchange(
        Request(method, base + path), resp, None if resp else "connection refused", operation
    )


class FakeSender:
    """A ``Sender`` that answers from a table keyed by (method, path-with-query), unknown -> 404,
    or, given one handler instead of a table, answers every request with it (a small API).

    Writes go through a ``Journal`` as with the real client (``journal.results`` tells what was
    restored); ``sent`` lists every request answered, the journal's own reads included.
    """

    def __init__(
        self,
        routes: Mapping[tuple[str, str], Responder] | Callable[[Request], Response] | None = None,
    ) -> None:
        self.handler = routes if callable(routes) else None
        self.routes = dict(routes) if isinstance(routes, Mapping) else {}
        self.sent: list[Request] = []
        self.journal = Journal(self._answer)

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        """Answer from the table (writes through the journal) and remember the request."""
        if is_write(request.method):
            running = RUNNING.get()
            owner = running.name if running is not None else "scan"
            return await self.journal.send(request, owner, self._answer)
        return await self._answer(request)

    async def _answer(self, request: Request) -> Exchange:
        self.sent.append(request)
        if self.handler is not None:
            return Exchange(request, self.handler(request))
        parts = urlsplit(request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        found = self.routes.get((request.method, target)) or self.routes.get(
            (request.method, parts.path)
        )
        if found is None:
            resp = response(404, {"detail": "Not Found"}, url=request.url)
        elif isinstance(found, Response):
            resp = found
        else:
            resp = found(request)
        return Exchange(request, resp)

    def record(
        self, exchange: Exchange, *, label: str | None = None, match: str | None = None
    ) -> Evidence:
        """Plain evidence without redaction (fake sessions hold no secrets)."""
        resp = exchange.response
        return Evidence(
            label=label,
            request=RecordedRequest(method=exchange.request.method, url=exchange.request.url),
            curl=f"curl -i -X {exchange.request.method} '{exchange.request.url}'",
            status=resp.status if resp else None,
            response_headers=dict(resp.headers.items) if resp else {},
            excerpt=resp.text[:2000] if resp else "",
            match=match,
            error=exchange.error,
        )


def make_baseline(
    pairs: Sequence[tuple[Operation, Exchange]], root: Exchange | None = None
) -> Baseline:
    """A baseline from (operation, exchange) pairs."""
    return Baseline(
        operations={op.key: op for op, _ in pairs},
        exchanges={op.key: ex for op, ex in pairs},
        root=root,
    )


async def run_check(
    name: str,
    *,
    baseline: Baseline,
    sender: Any | None = None,
    scan: ScanRequest | None = None,
    surface: Surface | None = None,
    framework: str | None = None,
    identities: Identities | None = None,
) -> list[Finding]:
    """Run one registered check (``"<category>.<function>"``) and return its findings.

    ``identities`` stands for what the engine verified before the checks (who the scan acts as
    and the other users it may compare with); by default the scan is anonymous.
    """
    spec = load_all()[name]
    ctx = CheckContext(
        scan=scan or ScanRequest(target=BASE),
        surface=surface or Surface(base_url=BASE, operations=tuple(baseline.operations.values())),
        baseline=baseline,
        client=sender or FakeSender(),
        spec=spec,
        framework=framework,
        identities=identities or Identities(),
    )
    journal = getattr(ctx.client, "journal", None)
    if isinstance(journal, Journal):
        journal.watch(baseline.pool.forget)  # as the engine does
    running = RUNNING.set(Running(spec.name, spec.writes))
    try:
        return [finding async for finding in spec.func(ctx)]
    finally:
        RUNNING.reset(running)


def two_users(
    primary: str = "alice",
    other: str = "bob",
    *,
    primary_ids: tuple[str, ...] = (),
    other_ids: tuple[str, ...] = (),
    verifier: Exchange | None = None,
) -> Identities:
    """Verified identities for a check's unit test: ``primary`` (the baseline's) and ``other``."""
    return Identities(
        primary=Identity(primary, True, frozenset(primary_ids)),
        others=(Identity(other, True, frozenset(other_ids)),),
        verifier=verifier,
    )


class LiveApp:
    """An ``aiohttp.web`` application served on a free loopback port for the duration of a test.

    ::

        async with LiveApp(app) as base_url:
            report = await scan(ScanRequest(target=base_url))
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.runner: Any = None
        self.url = ""

    async def __aenter__(self) -> str:
        from aiohttp import web

        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
