"""One scan run in the terminal: the progress display on stderr, and Ctrl-C.

The first Ctrl-C stops the scan the way a spent time budget does (requests in flight are cut,
an active scan's writes are still undone) and its partial report comes back marked incomplete;
a second one quits at once (``KeyboardInterrupt``, exit 130), as does a Ctrl-C that came before
there was anything to report.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from rich.console import Console

from middlebrick.cli._app import no_color_env
from middlebrick.config import ScanRequest
from middlebrick.errors import MiddlebrickError
from middlebrick.events import Event
from middlebrick.http.evidence import Redactor
from middlebrick.progress import Progress
from middlebrick.report import Report

__all__ = ["run_scan"]


def run_scan(
    request: ScanRequest, *, quiet: bool = False, verbose: bool = False
) -> tuple[Report, bool]:
    """Run a scan with a progress display on stderr (unless quiet): its report, and whether
    Ctrl-C interrupted it."""
    stderr = Console(stderr=True, no_color=no_color_env(), soft_wrap=True)
    try:
        redact = Redactor.for_scan(request)
        with Progress(stderr, enabled=not quiet, verbose=verbose, redact=redact) as progress:
            return asyncio.run(_interruptible(request, progress.handle, stderr))
    except asyncio.CancelledError:  # the second Ctrl-C
        raise KeyboardInterrupt from None


async def _interruptible(
    request: ScanRequest, on_event: Callable[[Event], None], stderr: Console
) -> tuple[Report, bool]:
    from middlebrick.engine import scan as scan_target

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    task = asyncio.current_task()

    def on_sigint() -> None:
        if stop.is_set() and task is not None:
            task.cancel()
            return
        stop.set()
        stderr.print(
            "interrupted: stopping the scan and keeping what it found "
            "(Ctrl-C again to quit at once)",
            highlight=False,
            markup=False,
        )

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        handled = True
    except (NotImplementedError, RuntimeError):  # no signals here: Ctrl-C quits at once
        handled = False
    try:
        report = await scan_target(request, on_event=on_event, stop=stop)
    except MiddlebrickError:
        if stop.is_set():  # stopped before there was a report
            raise KeyboardInterrupt from None
        raise
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)
    return report, stop.is_set()
