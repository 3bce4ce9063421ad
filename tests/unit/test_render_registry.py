"""The renderer registry: formats register themselves once, unknown names are usage errors."""

from __future__ import annotations

import pytest

from middlebrick.errors import UsageError
from middlebrick.render import formats, render, renderer


def test_formats_lists_the_registered_renderers() -> None:
    assert {"json", "summary", "table"} <= set(formats())
    assert list(formats()) == sorted(formats())


def test_registering_a_format_twice_fails() -> None:
    formats()  # loads every renderer module

    with pytest.raises(RuntimeError, match="'json' is registered twice"):

        @renderer("json")
        def another_json(report: object, *, color: bool) -> str:  # pragma: no cover
            return ""


def test_render_rejects_an_unknown_format_naming_the_valid_ones() -> None:
    with pytest.raises(UsageError, match=r"'jsn'.*Did you mean 'json'\?") as info:
        render(None, "jsn")  # type: ignore[arg-type]

    assert all(name in str(info.value) for name in formats())


def test_render_error_for_a_far_off_format_has_no_suggestion() -> None:
    with pytest.raises(UsageError) as info:
        render(None, "xyzzy")  # type: ignore[arg-type]

    assert "Did you mean" not in str(info.value)
    assert "summary" in str(info.value)
