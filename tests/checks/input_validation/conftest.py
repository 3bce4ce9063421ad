"""A fake API for the input_validation unit tests: one handler answers every request."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.checks.fakes import Answer, FakeApi


@pytest.fixture
def api() -> Callable[[Answer], FakeApi]:
    """``api(handler)``: a sender that answers every request with ``handler(request)``."""
    return FakeApi
