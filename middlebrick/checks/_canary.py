"""A loopback canary: an HTTP listener of the scanner's own that proves server-side requests.

A check opens a ``Canary`` for its duration (``async with Canary() as canary``), puts the URL
of ``canary.probe()`` into the input it tests, and afterwards reads which probes the target
requested. Every probe URL carries its own unguessable token in its path, so a hit names the
probe that caused it and nothing else can forge one; the canary answers with a body holding a
second secret (the probe's ``marker``), which is how a relayed answer is told from a reflected
URL. The listener binds 127.0.0.1 and nothing else: a target on the same host can reach it,
the network cannot.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from middlebrick.checks._net import is_loopback, origin
from middlebrick.findings import Evidence, RecordedRequest

CANARY_HOST = "127.0.0.1"
"""The only address the canary listens on."""

SETTLE_S = 1.0
"""How long after its last probe a check waits for late (asynchronous) requests to arrive."""

UNREACHABLE = (
    f"confirmation needs a canary the target can reach: the scanner's canary listens on "
    f"{CANARY_HOST} only, and the target is not on loopback"
)
"""Said in findings on targets that are not on loopback (see ``reachable_from``)."""

_PREFIX = "/mb/"
_MAX_HITS = 200  # hits kept over the canary's life, whatever the target sends
_MAX_BODY = 4096  # request body bytes kept per hit
_KEPT_HEADERS = ("user-agent", "content-type", "accept", "referer", "x-forwarded-for", "via")
_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key")

PayloadKind = Literal["text", "html"]


@dataclass(frozen=True)
class Probe:
    """One probe URL: its token (in the URL) and its marker (only in the canary's answer)."""

    token: str
    url: str
    marker: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Hit:
    """One request the canary received for a known probe."""

    token: str
    method: str
    path: str  # path and query string as received
    remote: str
    headers: tuple[tuple[str, str], ...]  # a few telling headers; credentials only named
    body: bytes

    def header(self, name: str) -> str | None:
        """One kept header's value, if it was sent."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def describe(self) -> str:
        """``GET /mb/… from 127.0.0.1 (User-Agent: x)`` for a detail sentence."""
        agent = self.header("user-agent")
        said = f" (User-Agent: {agent})" if agent else ""
        return f"{self.method} {_short(self.path)} from {self.remote}{said}"


class Canary:
    """A loopback HTTP listener that records requests to its probes' URLs.

    ::

        async with Canary() as canary:
            probe = canary.probe()
            await ctx.send(request_with(probe.url))
            await canary.settle()
            hits = canary.hits(probe)
    """

    def __init__(self) -> None:
        self._probes: dict[str, Probe] = {}
        self._hits: dict[str, list[Hit]] = {}
        self._kept = 0
        self._runner: web.ServerRunner | None = None
        self._port = 0
        self._last_probe = 0.0
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> Canary:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        runner = web.ServerRunner(web.Server(self._answer, access_log=None), shutdown_timeout=0.5)
        try:
            sock.bind((CANARY_HOST, 0))
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        self._runner = runner
        self._port = sock.getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{CANARY_HOST}:{self._port}"

    def probe(self, kind: PayloadKind = "text") -> Probe:
        """A new probe URL; the canary answers it with text or an HTML page with a script."""
        token = secrets.token_hex(16)
        marker = f"middlebrick-{secrets.token_hex(8)}"
        if kind == "html":
            content_type = "text/html; charset=utf-8"
            script = f"<script>/*{marker}*/</script>"
            body = f"<!doctype html><html><body><h1>canary</h1>{script}</body></html>"
            marker = script
        else:
            content_type = "text/plain; charset=utf-8"
            body = f"canary {marker}\n"
        probe = Probe(token, f"{self.origin}{_PREFIX}{token}", marker, content_type, body.encode())
        self._probes[token] = probe
        self._last_probe = asyncio.get_running_loop().time()
        return probe

    def serving(self, body: bytes, content_type: str) -> Probe:
        """A new probe URL that the canary answers with ``body`` (a key set, a document)."""
        token = secrets.token_hex(16)
        probe = Probe(token, f"{self.origin}{_PREFIX}{token}", "", content_type, body)
        self._probes[token] = probe
        self._last_probe = asyncio.get_running_loop().time()
        return probe

    def hits(self, probe: Probe) -> tuple[Hit, ...]:
        """The requests received for ``probe``, in arrival order."""
        return tuple(self._hits.get(probe.token, ()))

    async def settle(self, seconds: float | None = None) -> None:
        """Wait until ``seconds`` (``SETTLE_S``) after the last probe, or every probe was hit."""
        loop = asyncio.get_running_loop()
        deadline = self._last_probe + (SETTLE_S if seconds is None else seconds)
        while any(token not in self._hits for token in self._probes):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
            except TimeoutError:
                return

    def evidence(self, hit: Hit) -> Evidence:
        """A hit as evidence: the request the target sent to the canary, and its answer."""
        probe = self._probes[hit.token]
        return Evidence(
            label="canary hit",
            request=RecordedRequest(
                method=hit.method,
                url=f"{self.origin}{hit.path}",
                headers=dict(hit.headers),
                body=hit.body[:1024].decode("utf-8", "replace") or None,
            ),
            curl=f"# sent by the target to the scanner's loopback canary, from {hit.remote}",
            status=200,
            response_headers={"Content-Type": probe.content_type},
            excerpt=probe.body.decode(),
        )

    async def _answer(self, request: web.BaseRequest) -> web.StreamResponse:
        token = request.path[len(_PREFIX) :].split("/", 1)[0]
        probe = self._probes.get(token) if request.path.startswith(_PREFIX) else None
        if probe is None:
            return web.Response(status=404)
        body = await request.content.read(_MAX_BODY)
        if self._kept < _MAX_HITS:
            self._kept += 1
            self._hits.setdefault(token, []).append(
                Hit(
                    token=token,
                    method=request.method,
                    path=request.path_qs,
                    remote=request.remote or "?",
                    headers=_kept_headers(request),
                    body=body,
                )
            )
            self._arrived.set()
        return web.Response(body=probe.body, headers={"Content-Type": probe.content_type})


def reachable_from(base_url: str) -> bool:
    """True when a target at ``base_url`` can reach the canary: it is on loopback too."""
    return is_loopback(origin(base_url)[1])


def _kept_headers(request: web.BaseRequest) -> tuple[tuple[str, str], ...]:
    kept = [(name, request.headers[name]) for name in _KEPT_HEADERS if name in request.headers]
    kept += [(name, "[redacted]") for name in _SECRET_HEADERS if name in request.headers]
    return tuple((name.title(), value[:200]) for name, value in kept)


def _short(text: str, size: int = 120) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"
