"""Typed events of one scan; the CLI progress, store, workers, dashboard and MCP consume them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from middlebrick.findings import Finding

if TYPE_CHECKING:
    from middlebrick.report import Report


@dataclass(frozen=True)
class ScanStarted:
    """The scan began."""

    target: str
    mode: str
    tier: str


@dataclass(frozen=True)
class SurfaceReady:
    """The operations to test are known."""

    operations: int
    origin: str


@dataclass(frozen=True)
class OperationBaselined:
    """One operation's baseline exchange came back (``status`` None: transport error)."""

    operation: str
    status: int | None


@dataclass(frozen=True)
class CheckStarted:
    """A check began."""

    check: str


@dataclass(frozen=True)
class CheckFinished:
    """A check ended: ran fully (ok), stopped by a limit (partial) or raised (failed)."""

    check: str
    status: Literal["ok", "partial", "failed", "not_applicable"]
    findings: int
    requests: int
    note: str | None = None


@dataclass(frozen=True)
class FindingRaised:
    """A check yielded a finding (before filtering)."""

    finding: Finding


@dataclass(frozen=True)
class ScanFinished:
    """The report is ready."""

    report: Report


Event = (
    ScanStarted
    | SurfaceReady
    | OperationBaselined
    | CheckStarted
    | CheckFinished
    | FindingRaised
    | ScanFinished
)
EventSink = Callable[[Event], None]
