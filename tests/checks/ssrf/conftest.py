"""The canary waits a tenth of a second for late hits in these tests, not a whole second."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _short_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("middlebrick.checks._canary.SETTLE_S", 0.1)
