"""The PDF renderer: a binary format printed by Chromium, and a clear error without it."""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path

import pytest

from middlebrick.errors import UsageError
from middlebrick.render import formats, is_binary, render, render_bytes
from middlebrick.render.pdf import CHROMIUM_ENV, html_to_pdf
from tests.chromium import chromium_or_skip
from tests.render.sample import hostile_finding, sample_report


def _installed_chromium() -> str:
    return chromium_or_skip()


def _fake_browser(folder: Path, body: str) -> str:
    script = folder / "fake-chromium"
    script.write_text(f"#!/bin/sh\nPATH=/usr/bin:/bin\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_pdf_is_a_binary_format_that_render_refuses_to_print() -> None:
    assert "pdf" in formats()
    assert is_binary("pdf") and not is_binary("html")

    with pytest.raises(UsageError, match=r"'pdf' is binary.*--output"):
        render(sample_report(), "pdf")


def test_pdf_without_chromium_is_a_usage_error_saying_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(CHROMIUM_ENV, raising=False)

    with pytest.raises(UsageError) as info:
        render_bytes(sample_report(), "pdf")

    assert str(info.value) == (
        "PDF output needs Chromium: install it (apt install chromium) or set "
        "MIDDLEBRICK_CHROMIUM, or use --format html"
    )


def test_pdf_with_a_chromium_setting_that_is_not_an_executable_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-such-browser"))

    with pytest.raises(UsageError, match=r"MIDDLEBRICK_CHROMIUM=.*no-such-browser.*not an exec"):
        render_bytes(sample_report(), "pdf")


def test_pdf_reports_a_browser_that_printed_nothing_with_its_last_error_line(
    tmp_path: Path,
) -> None:
    fake = _fake_browser(tmp_path, "echo 'starting' >&2; echo 'cannot open display' >&2; exit 3")

    with pytest.raises(UsageError, match=r"printed no PDF \(exit 3: cannot open display\)"):
        html_to_pdf("<p>x</p>", fake)


def test_pdf_stops_a_browser_that_hangs_at_the_timeout(tmp_path: Path) -> None:
    marker = tmp_path / "still-running"
    fake = _fake_browser(tmp_path, f"(sleep 1; touch {marker}) & sleep 30")
    started = time.monotonic()

    with pytest.raises(UsageError, match=r"did not print the PDF within 0\.3 s"):
        html_to_pdf("<p>x</p>", fake, timeout=0.3)

    assert time.monotonic() - started < 1
    time.sleep(1.5)
    assert not marker.exists(), "a child of the browser outlived the timeout"


def test_pdf_is_printed_by_chromium_with_pages() -> None:
    _installed_chromium()

    pdf = render_bytes(sample_report(hostile_finding()), "pdf")

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    pages = re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)
    assert len(pages) >= 2
