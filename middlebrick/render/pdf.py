"""PDF: the HTML report printed by a headless Chromium, a binary format (write it to a file).

The browser is ``MIDDLEBRICK_CHROMIUM`` when set, else the first of ``chromium``,
``chromium-browser``, ``google-chrome`` and ``google-chrome-stable`` on PATH. It opens the HTML
report from a private temporary directory with a throw-away profile; the page's
Content-Security-Policy forbids every fetch, and background networking is switched off.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from middlebrick.errors import UsageError
from middlebrick.render import binary_renderer
from middlebrick.render.html import html_document
from middlebrick.report import Report

__all__ = ["CHROMIUM_ENV", "find_chromium", "html_to_pdf", "render_pdf"]

CHROMIUM_ENV = "MIDDLEBRICK_CHROMIUM"
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_TIMEOUT_S = 120.0
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pdf-header-footer",
)
_MISSING = (
    "PDF output needs Chromium: install it (apt install chromium) or set MIDDLEBRICK_CHROMIUM, "
    "or use --format html"
)


@binary_renderer("pdf")
def render_pdf(report: Report) -> bytes:
    """The HTML report printed to PDF by Chromium; a ``UsageError`` when there is none."""
    return html_to_pdf(html_document(report), find_chromium())


def find_chromium() -> str:
    """The Chromium executable to print with; a ``UsageError`` naming the fix when none is found."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise UsageError(
                f"{CHROMIUM_ENV}={configured!r} is not an executable; point it at Chromium "
                "or Chrome, or use --format html"
            )
        return found
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise UsageError(_MISSING)


def html_to_pdf(page: str, chromium: str, *, timeout: float = _TIMEOUT_S) -> bytes:
    """Print the HTML ``page`` to PDF with the ``chromium`` executable and return the bytes."""
    with tempfile.TemporaryDirectory(prefix="middlebrick-pdf-") as tmp:
        folder = Path(tmp)
        source = folder / "report.html"
        source.write_text(page, encoding="utf-8")
        target = folder / "report.pdf"
        command = [
            chromium,
            *_FLAGS,
            f"--user-data-dir={folder / 'profile'}",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        code, errors = _run(command, chromium, timeout)
        if not target.is_file() or target.stat().st_size == 0:
            last = next((ln for ln in reversed(errors.splitlines()) if ln.strip()), "no output")
            raise UsageError(
                f"Chromium ({chromium}) printed no PDF (exit {code}: {last.strip()[:300]}); "
                "use --format html"
            )
        return target.read_bytes()


def _run(command: list[str], chromium: str, timeout: float) -> tuple[int, str]:
    """Run the browser in its own process group, so a timeout ends all of its processes."""
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise UsageError(f"Chromium ({chromium}) could not be started: {exc}") from exc
    with proc:
        try:
            _, errors = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            raise UsageError(
                f"Chromium ({chromium}) did not print the PDF within {timeout:g} s; "
                "use --format html"
            ) from None
    return proc.returncode, errors.decode("utf-8", "replace")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if sys.platform == "win32":
        proc.kill()
        return
    with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
        os.killpg(proc.pid, signal.SIGKILL)
