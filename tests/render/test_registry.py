"""The registry's binary side: text and binary formats share one name space and one error."""

from __future__ import annotations

import pytest

from middlebrick.errors import UsageError
from middlebrick.render import binary_renderer, formats, is_binary, render_bytes, renderer
from tests.render.sample import sample_report


def test_every_format_of_the_brief_is_registered() -> None:
    assert {"html", "json", "junit", "markdown", "pdf", "sarif", "summary", "table"} <= set(
        formats()
    )


def test_a_binary_renderer_cannot_take_the_name_of_a_text_one_or_the_reverse() -> None:
    formats()

    with pytest.raises(RuntimeError, match="'json' is registered twice"):

        @binary_renderer("json")
        def json_bytes(report: object) -> bytes:  # pragma: no cover
            return b""

    with pytest.raises(RuntimeError, match="'pdf' is registered twice"):

        @renderer("pdf")
        def pdf_text(report: object, *, color: bool) -> str:  # pragma: no cover
            return ""


@pytest.mark.parametrize("call", [is_binary, lambda fmt: render_bytes(sample_report(), fmt)])
def test_unknown_formats_are_usage_errors_with_a_suggestion(call: object) -> None:
    assert callable(call)

    with pytest.raises(UsageError, match=r"'pfd'.*Did you mean 'pdf'\?"):
        call("pfd")


def test_render_bytes_of_a_text_format_is_its_utf8_text() -> None:
    report = sample_report()

    data = render_bytes(report, "markdown")

    assert data.decode("utf-8").startswith("## middlebrick report for http://127.0.0.1:8080/")
    assert "·".encode() in data
