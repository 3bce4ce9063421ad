"""Every test runs with a private MIDDLEBRICK_HOME, so no test writes to the user's home, and
contacts loopback only (``tests/loopback.py``): anything else fails the test that tried it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import loopback


def pytest_configure(config: pytest.Config) -> None:
    loopback.install()


@pytest.fixture(autouse=True)
def _private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("middlebrick-home")
    monkeypatch.setenv("MIDDLEBRICK_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    loopback.attempts.clear()
    yield
    if loopback.attempts:
        tried = "; ".join(dict.fromkeys(loopback.attempts))
        loopback.attempts.clear()
        pytest.fail(f"the tests contact loopback only, but this one tried to {tried}")
