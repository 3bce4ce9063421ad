"""A loopback API that echoes every request header back, as given and upper-cased."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web


@dataclass
class Echo:
    """The running echo API: its URL and the headers of every request it received."""

    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds each answer of /slow/* waits


def _app(echo: Echo) -> web.Application:
    async def root(request: web.Request) -> web.Response:
        headers = dict(request.headers)
        echo.seen.append(headers)
        loud = {name: value.upper() for name, value in headers.items()}
        links = [f"/slow/{n}" for n in range(40)] if echo.delay else ["/items"]
        return web.json_response(
            {"seen": headers, "loud": loud, "links": links},
            headers={f"X-Echo-{n}": v for n, v in loud.items() if n.lower().startswith("x-")},
        )

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(echo.delay)
        return web.json_response({"id": request.match_info["n"]})

    app = web.Application()
    app.router.add_get("/slow/{n}", slow)
    app.router.add_get("/{tail:.*}", root)
    return app


def _serve(echo: Echo) -> Iterator[Echo]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(_app(echo), access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    echo.url = f"http://127.0.0.1:{port}"
    yield echo
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.run_until_complete(runner.cleanup())
    loop.close()


@pytest.fixture
def echo() -> Iterator[Echo]:
    """An API that echoes each request's headers in its body and in ``X-Echo-*`` headers."""
    yield from _serve(Echo())


@pytest.fixture
def slow_api() -> Iterator[Echo]:
    """An API whose root links 40 pages that each take 2 s to answer."""
    yield from _serve(Echo(delay=2.0))
