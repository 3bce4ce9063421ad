"""Fixtures of the renderer tests."""

from __future__ import annotations

import pytest

from middlebrick.knowledge.models import FindingType
from tests.render.sample import CATALOGUE


@pytest.fixture
def frozen_catalogue(monkeypatch: pytest.MonkeyPatch) -> dict[str, FindingType]:
    """The SARIF renderer reads the sample's frozen catalogue instead of the live one."""
    monkeypatch.setattr("middlebrick.render.sarif.catalogue", lambda: CATALOGUE)
    return CATALOGUE
