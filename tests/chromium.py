"""Chromium for the tests that need a real browser: found, or skipped — never skipped in CI.

``.ci/run`` installs Debian's chromium and sets ``MIDDLEBRICK_REQUIRE_CHROMIUM=1``, so there a
missing browser fails the run instead of skipping the HTML, PDF and browser tests.
"""

from __future__ import annotations

import os

import pytest

from middlebrick.errors import UsageError
from middlebrick.render.pdf import find_chromium


def chromium_or_skip() -> str:
    """The Chromium executable; skip the test without one (fail when CI requires it)."""
    try:
        return find_chromium()
    except UsageError as exc:
        if os.environ.get("MIDDLEBRICK_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"Chromium is required here: {exc}")
        pytest.skip("Chromium is not installed: apt-get install -y chromium")
