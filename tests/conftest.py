"""Every test runs with a private MIDDLEBRICK_HOME, so no test writes to the user's home."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("middlebrick-home")
    monkeypatch.setenv("MIDDLEBRICK_HOME", str(home))
    return home
