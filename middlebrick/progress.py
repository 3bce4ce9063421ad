"""The CLI's progress display on stderr: a consumer of scan events."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from middlebrick.events import (
    CheckFinished,
    CheckStarted,
    Event,
    FindingRaised,
    OperationBaselined,
    ScanFinished,
    ScanStarted,
    SurfaceReady,
)


class Progress:
    """Shows what the scan is doing: a live status line on a terminal, plain lines otherwise."""

    def __init__(
        self,
        console: Console,
        *,
        enabled: bool = True,
        verbose: bool = False,
        redact: Callable[[str], str] = str,
    ) -> None:
        self.console = console
        self._redact = redact  # the scan's redactor: a check's note may quote a secret
        self.enabled = enabled
        self.verbose = verbose
        self.live = enabled and console.is_terminal
        self._status: Status | None = None
        self.operations = self.baselined = self.checks = self.checks_done = self.findings = 0

    def __enter__(self) -> Progress:
        if self.live:
            self._status = self.console.status("starting scan…")
            self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def handle(self, event: Event) -> None:
        """Update the display for one event."""
        if not self.enabled:
            return
        if isinstance(event, ScanStarted):
            self._line(f"scanning {event.target} ({event.mode} mode, {event.tier} tier)")
        elif isinstance(event, SurfaceReady):
            self.operations = event.operations
            self._line(f"surface: {event.operations} operations ({event.origin})")
        elif isinstance(event, OperationBaselined):
            self.baselined += 1
        elif isinstance(event, CheckStarted):
            self.checks += 1
        elif isinstance(event, FindingRaised):
            self.findings += 1
        elif isinstance(event, CheckFinished):
            self.checks_done += 1
            if self.verbose or event.status != "ok":
                extra = f" — {event.note}" if event.note else ""
                self._line(
                    f"check {event.check}: {event.status}, {event.findings} finding(s), "
                    f"{event.requests} request(s){extra}"
                )
        elif isinstance(event, ScanFinished):
            report = event.report
            self._line(
                f"done: {report.requests} requests in {report.duration_s:.1f} s, "
                f"{len(report.findings)} finding(s)"
            )
        if self._status is not None:
            self._status.update(
                f"baseline {self.baselined}/{self.operations}"
                f" · checks {self.checks_done}/{self.checks}"
                f" · {self.findings} raw finding(s)"
            )

    def _line(self, text: str) -> None:
        self.console.print(f"[dim]{escape(self._redact(text))}[/]", highlight=False)
