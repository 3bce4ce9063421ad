"""Fixtures of the hostile tests: a local server whose every route misbehaves."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .server import HostileServer


@pytest.fixture
async def hostile() -> AsyncIterator[HostileServer]:
    """The running hostile server (``hits`` and ``bytes_sent`` count what it served)."""
    async with HostileServer() as server:
        yield server


@pytest.fixture
async def hostile_server(hostile: HostileServer) -> str:
    """The base URL of the running hostile server, ``http://127.0.0.1:PORT``."""
    return hostile.base_url
