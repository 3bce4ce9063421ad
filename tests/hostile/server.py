"""A hostile HTTP server on 127.0.0.1 for tests: bombs, endless bodies, stalls, resets, garbage.

Raw asyncio, one request per connection, so every route can misbehave at the byte level::

    /ok              a small JSON object
    /bomb            gzip of ~1 GB of zeros, compressed on the fly (about 1 MB on the wire)
    /endless         chunked body that never ends
    /huge            Content-Length of 1 GB, streamed for as long as the client reads
    /loop, /loop2    redirect to each other forever
    /redirect-chain/N  redirects to /redirect-chain/N+1, for ever
    /stall           accepts the request and answers nothing for 30 s
    /stall-body      sends headers and part of the body, then nothing for 30 s
    /trickle         one byte of body every 0.2 s, for ever
    /invalid-utf8    bytes that are not UTF-8 under a UTF-8 JSON content type
    /deep-json       a JSON array nested 10,000 deep
    /severed         headers and half the body, then a TCP reset
    /severed-early   a TCP reset before any response
    /garbage         bytes that are not HTTP at all
    /http09          an HTTP/0.9-style answer: a body with no status line and no headers
    /error           500 Internal Server Error with an HTML body
    /not-json        200 under a JSON content type, with a body that is not JSON
    /bad-header      200 JSON whose Server, X-Note and Set-Cookie headers hold bytes that are not
                     UTF-8 (``\xff\xfe``, ``\xc3\x28``) and a version the inventory check reports
    /deflate-garbage Content-Encoding: gzip on bytes that are not gzip

Every request is counted in ``hits`` by path (query stripped). Any other path answers 404, or,
with ``otherwise="/stall"`` (any route's name), as that route does: a root that answers while
every other path stalls, trickles or lies about its length.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

Route = Callable[[asyncio.StreamWriter], Awaitable[None]]

_ZEROS = bytes(1024 * 1024)
BOMB_SIZE = 1024 * len(_ZEROS)  # what /bomb expands to: 1 GiB
STALL_SECONDS = 30.0


class HostileServer:
    """Serve the hostile routes on 127.0.0.1 (a free port) until closed."""

    def __init__(self, otherwise: str | None = None) -> None:
        self.otherwise = otherwise
        self.hits: Counter[str] = Counter()
        self.bytes_sent: Counter[str] = Counter()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.base_url = ""

    async def start(self) -> str:
        """Start listening; return the base URL (``http://127.0.0.1:PORT``)."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        """Stop listening and end every connection still open (stalls included)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> HostileServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            _method, target, _version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            path = target.split("?", 1)[0]
            self.hits[path] += 1
            await self._route(path)(writer)
            writer.close()  # flushes what is buffered, then closes
        except (
            ConnectionError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            writer.transport.abort()
        except asyncio.CancelledError:
            writer.transport.abort()  # closing the server ends stalls and endless bodies
        finally:
            self._tasks.discard(task)

    def _route(self, path: str) -> Route:
        if path.startswith("/redirect-chain/"):
            number = int(path.rsplit("/", 1)[1] or 0)
            return _redirect(f"/redirect-chain/{number + 1}")
        routes: dict[str, Route] = {
            "/ok": _fixed(b'{"ok": true}'),
            "/bomb": self._bomb,
            "/endless": self._endless,
            "/huge": self._huge,
            "/loop": _redirect("/loop2"),
            "/loop2": _redirect("/loop"),
            "/stall": _stall,
            "/stall-body": _stall_body,
            "/trickle": _trickle,
            "/invalid-utf8": _fixed(b'{"name": "\xff\xfe\xc3\x28 \xed\xa0\x80"}'),
            "/deep-json": _fixed(b"[" * 10_000 + b"]" * 10_000),
            "/severed": _reset_mid_body,
            "/severed-early": _reset_early,
            "/garbage": _garbage,
            "/http09": _http09,
            "/not-json": _fixed(b"<html>this is not JSON</html>"),
            "/bad-header": _fixed(
                b'{"ok": true}',
                ("Server", "Werkzeug/2.0.1 Python/3.9.7 \xff\xfe"),
                ("X-Note", "caf\xe9 \xc3\x28"),
                ("Set-Cookie", "session=\xff\xfeabc; Path=/"),
            ),
            "/error": _fixed(
                b"<html><body>Internal Server Error</body></html>",
                ("Content-Type", "text/html"),
                status=b"500 Internal Server Error",
            ),
            "/deflate-garbage": _fixed(b"this is not gzip at all", ("Content-Encoding", "gzip")),
        }
        if path not in routes and self.otherwise is not None:
            return routes[self.otherwise]
        return routes.get(path, _fixed(b'{"detail": "Not Found"}', status=b"404 Not Found"))

    async def _bomb(self, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(("Content-Type", "application/json"), ("Content-Encoding", "gzip")))
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        for _ in range(BOMB_SIZE // len(_ZEROS)):
            chunk = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_SYNC_FLUSH)
            await self._send(writer, "/bomb", chunk)
        await self._send(writer, "/bomb", compressor.flush())

    async def _endless(self, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(("Transfer-Encoding", "chunked")))
        block = b"endless " * 1024
        chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n"
        while True:
            await self._send(writer, "/endless", chunk)

    async def _huge(self, writer: asyncio.StreamWriter) -> None:
        writer.write(_head(("Content-Length", str(1024**3))))
        block = b"A" * 65536
        while True:
            await self._send(writer, "/huge", block)

    async def _send(self, writer: asyncio.StreamWriter, path: str, data: bytes) -> None:
        writer.write(data)
        self.bytes_sent[path] += len(data)
        await writer.drain()
        await asyncio.sleep(0)  # drain() need not yield: let the client (same loop) read


def _head(*headers: tuple[str, str], status: bytes = b"200 OK") -> bytes:
    lines = [b"HTTP/1.1 " + status, b"Connection: close"]
    lines += [f"{name}: {value}".encode("latin-1") for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _fixed(body: bytes, *headers: tuple[str, str], status: bytes = b"200 OK") -> Route:
    async def route(writer: asyncio.StreamWriter) -> None:
        all_headers = (
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *headers,
        )
        writer.write(_head(*all_headers, status=status) + body)
        await writer.drain()

    return route


def _redirect(location: str) -> Route:
    return _fixed(b"", ("Location", location), status=b"302 Found")


async def _stall(writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(STALL_SECONDS)


async def _stall_body(writer: asyncio.StreamWriter) -> None:
    writer.write(_head(("Content-Length", "1000")) + b'{"partial": "')
    await writer.drain()
    await asyncio.sleep(STALL_SECONDS)


async def _trickle(writer: asyncio.StreamWriter) -> None:
    writer.write(_head(("Content-Length", str(1024**2))))
    while True:
        writer.write(b".")
        await writer.drain()
        await asyncio.sleep(0.2)


async def _reset_mid_body(writer: asyncio.StreamWriter) -> None:
    writer.write(_head(("Content-Length", "20000")) + b"x" * 10_000)
    await writer.drain()
    await asyncio.sleep(0.05)
    _reset(writer)


async def _reset_early(writer: asyncio.StreamWriter) -> None:
    _reset(writer)


async def _garbage(writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x00\xffNOT HTTP AT ALL\r\n\x16\x03\x01garbage\r\n\r\n")
    await writer.drain()


async def _http09(writer: asyncio.StreamWriter) -> None:
    writer.write(b'{"ok": true, "items": [1, 2, 3]}\n')
    await writer.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0 so the peer gets a TCP RST, not a clean FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
