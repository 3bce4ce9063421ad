"""The collector is held while a description is parsed, and given back as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from middlebrick.spec.background import gc_paused


@pytest.fixture
def collector_state() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.enable() if enabled else gc.disable()


@pytest.mark.usefixtures("collector_state")
def test_gc_paused_holds_the_collector_until_the_last_parse_ends() -> None:
    gc.enable()

    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer parse still runs

    assert gc.isenabled()


@pytest.mark.usefixtures("collector_state")
def test_gc_paused_leaves_a_collector_the_caller_disabled_disabled() -> None:
    gc.disable()

    with gc_paused():
        pass

    assert not gc.isenabled()
