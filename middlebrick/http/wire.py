"""One scan's pooled connection to the target: single attempts on the wire, nothing more.

``Wire`` owns the aiohttp session ``HttpClient`` sends through. Each ``once`` is one attempt:
its body is read up to a cap (also after decompression), and its timeouts never outlast the time
budget: connecting may take ``connect_timeout``, the whole exchange at most
``connect_timeout + read_timeout``. When the scan is interrupted (Ctrl-C), the attempts in
flight are cut, unless they undo a write. Transport failures come back as a ``Failure``;
retries, redirects and the cache are the client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import aiohttp
from yarl import URL

from middlebrick import __version__
from middlebrick.config import ScanRequest
from middlebrick.http.evidence import describe_error
from middlebrick.http.exchange import Response, decode_headers
from middlebrick.http.limits import ScanLimiter, read_body

__all__ = ["Failure", "Wire", "request_line"]

_DEFAULT_HEADERS = {"User-Agent": f"middlebrick/{__version__}", "Accept-Encoding": "gzip, deflate"}


@dataclass
class Failure:
    """A transport failure of one attempt, with the response that had begun to arrive."""

    error: str
    retryable: bool
    partial: Response | None = None
    timed_out: bool = False


class Wire:
    """The pooled session of one scan; ``open`` it before ``once`` and ``close`` it after."""

    def __init__(
        self, scan: ScanRequest, limiter: ScanLimiter, stop: asyncio.Event | None = None
    ) -> None:
        self.scan = scan
        self.limits = scan.limits
        self.limiter = limiter
        self._stop = stop  # set (Ctrl-C): the time budget ends and requests in flight are cut
        self._stopper: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Timeout] = set()
        self._session: aiohttp.ClientSession | None = None
        connect = scan.limits.connect_timeout
        self._max_exchange = connect + scan.limits.read_timeout  # bounds one whole exchange
        self._timeout = aiohttp.ClientTimeout(self._max_exchange, sock_connect=connect)

    async def open(self) -> None:
        """Open the session (and start watching for an interrupt)."""
        connector = aiohttp.TCPConnector(
            limit=self.limits.concurrency,
            limit_per_host=0,
            ssl=self.scan.verify_tls,  # True: verify certificates (the default); False: -k
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),  # identities never share cookies
            headers=_DEFAULT_HEADERS,
            trust_env=False,  # no proxy or netrc from the environment
        )
        # aiohttp silently resends idempotent requests once on a dropped connection; retries
        # are ours to count against the budget (aiohttp's own test client does the same).
        self._session._retry_connection = False
        if self._stop is not None:
            self._stopper = asyncio.create_task(self._interrupt_on(self._stop))

    async def _interrupt_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.limiter.interrupt()
        now = asyncio.get_running_loop().time()
        for timeout in list(self._in_flight):  # their TimeoutError becomes Interrupted
            with contextlib.suppress(RuntimeError):  # not entered yet, or already left
                timeout.reschedule(now)

    async def close(self) -> None:
        """Close the session and its pooled connections."""
        if self._stopper is not None:
            self._stopper.cancel()
            self._stopper = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def once(
        self,
        method: str,
        url: URL,
        url_text: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        cap: int | None = None,
    ) -> Response | Failure:
        """One attempt on the wire (its body read up to ``cap``, else the scan's cap); its
        timeouts never outlast the time budget."""
        assert self._session is not None, "use HttpClient as an async context manager"
        remaining = self.limiter.remaining()
        if remaining <= 0:
            raise self.limiter.time_spent()
        limits = self.limits
        timeout = self._timeout
        if remaining < self._max_exchange:  # near the end of the time budget
            timeout = aiohttp.ClientTimeout(
                total=remaining,
                sock_connect=min(limits.connect_timeout, remaining),
            )
        started = time.perf_counter()
        cut = asyncio.timeout(None)  # an interrupt cuts the exchange, unless it undoes a write
        if not self.limiter.in_overtime:
            self._in_flight.add(cut)
        try:
            async with (
                cut,
                self._session.request(
                    method, url, headers=headers, data=body, allow_redirects=False, timeout=timeout
                ) as resp,
            ):
                read = await read_body(resp, cap or limits.max_body_bytes)
                if read.truncated:
                    resp.close()  # the rest is not wanted: drop the connection, not reuse it
                response = Response(
                    status=resp.status,
                    headers=decode_headers(resp.raw_headers),
                    body=read.body,
                    url=url_text,
                    elapsed_ms=(time.perf_counter() - started) * 1000,
                    truncated=read.truncated,
                )
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as exc:
            return self._failure(exc)
        finally:
            self._in_flight.discard(cut)
        if not read.truncated and read.undecodable is None:
            return response
        failure = self._failure(read.failure) if read.failure is not None else None
        note = read.note(request_line(method, url), failure.error if failure else None)
        response = replace(response, note=note)
        if failure is None:
            return response
        failure.partial = response
        return failure

    def _failure(self, exc: BaseException) -> Failure:
        """A short plain text for a transport failure; raises when the time budget ran out."""
        timed_out = isinstance(exc, TimeoutError)
        if timed_out and self.limiter.remaining() < 0.05:
            raise self.limiter.time_spent() from exc
        text, retryable = describe_error(exc, self.limits.connect_timeout, self._max_exchange)
        return Failure(text, retryable, timed_out=timed_out)


def request_line(method: str, url: URL) -> str:
    """``GET /path`` for notes: no query, bounded length."""
    path = url.raw_path or "/"
    return f"{method} {path if len(path) <= 120 else path[:120] + '…'}"
