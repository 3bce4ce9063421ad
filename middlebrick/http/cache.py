"""The per-scan cache of answered GETs: one request on the wire for concurrent duplicates.

``HttpClient.send`` claims a request's key: it gets the answer already kept, waits for the one
a concurrent duplicate is fetching, or (a miss) a future it must settle with ``keep`` or
``fail``. Errors are not kept (a retry may succeed), and memory stays bounded: when the entries
outgrow ``_CACHE_BYTES``, the oldest half is dropped.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from middlebrick.http.exchange import Exchange, Request

if TYPE_CHECKING:
    from middlebrick.http.client import ClientStats

__all__ = ["ExchangeCache"]

_CACHE_BYTES = 16 * 1024 * 1024  # memory the cache may hold: bodies plus what each entry costs
_ENTRY_BYTES = 2048  # what one cached exchange costs besides its body


class ExchangeCache:
    """Answered GETs of one scan by key, and the futures of those being fetched."""

    def __init__(self, stats: ClientStats) -> None:
        self._stats = stats  # counts ``cache_hits``
        self._entries: dict[Any, Exchange | asyncio.Future[Exchange]] = {}
        self._bytes = 0

    async def claim(self, key: Any) -> Exchange | asyncio.Future[Exchange]:
        """The answer kept or fetched for ``key`` (a hit), else a future its caller fetches the
        answer for and settles with ``keep`` or ``fail``; concurrent duplicates wait for it."""
        while (entry := self._entries.get(key)) is not None:
            self._stats.cache_hits += 1
            if isinstance(entry, Exchange):
                return entry
            try:
                return await asyncio.shield(entry)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not entry.cancelled() or (task is not None and task.cancelling()):
                    raise
                self._stats.cache_hits -= 1  # its sender was cancelled: send it ourselves
        future = asyncio.get_running_loop().create_future()
        self._entries[key] = future  # concurrent duplicates wait for this one's answer
        return future

    def fail(self, key: Any, future: asyncio.Future[Exchange], exc: BaseException) -> None:
        """Hand the waiters of a claimed ``key`` the exception its fetch raised; keep nothing."""
        del self._entries[key]
        if isinstance(exc, asyncio.CancelledError):
            future.cancel()
        else:
            future.set_exception(exc)
            future.exception()  # there may be no waiter: mark it retrieved

    def keep(self, key: Any, future: asyncio.Future[Exchange], exchange: Exchange) -> None:
        """Hand the waiters of a claimed ``key`` its answer and cache it (errors are not: a
        retry may succeed); when the cache is full, drop the oldest half, so memory stays
        bounded however many requests a scan sends."""
        future.set_result(exchange)
        if exchange.response is None:
            del self._entries[key]
            return
        # A copy without what readers parse and keep on the response (its JSON, its text):
        # the sender's copy holds those while it is in use, the cache only the bytes.
        self._entries[key] = replace(exchange, response=replace(exchange.response))
        self._bytes += len(exchange.response.body) + _ENTRY_BYTES
        if self._bytes <= _CACHE_BYTES:
            return
        for old_key, entry in list(self._entries.items()):
            if self._bytes <= _CACHE_BYTES // 2:
                break
            if isinstance(entry, Exchange) and entry.response is not None:
                del self._entries[old_key]
                self._bytes -= len(entry.response.body) + _ENTRY_BYTES

    def cached(self, request: Request) -> Exchange | None:
        """The answer the cache holds for ``request`` (followed redirects), if any."""
        key = request.cache_key
        entry = self._entries.get((key, True)) if key is not None else None
        return entry if isinstance(entry, Exchange) else None
