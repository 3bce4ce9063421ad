"""One check's run within a scan, and what the runs say per category.

``run_check`` runs one check with its ``CheckContext`` and emits its events: a check stopped by
a budget is ``partial`` (with the ``Cut`` of what it did not reach), one that does not apply is
``not_applicable``, one that raised is ``failed`` (never a pass, never taking the scan down).
``category_statuses`` folds those into each category's status for the report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from middlebrick.baseline import Baseline
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import CheckSpec
from middlebrick.config import ScanRequest
from middlebrick.errors import (
    BudgetExhausted,
    Interrupted,
    NotApplicable,
    ScanInterrupted,
    TimeBudgetExhausted,
)
from middlebrick.events import CheckFinished, CheckStarted, EventSink, FindingRaised
from middlebrick.findings import Finding
from middlebrick.http.client import HttpClient
from middlebrick.http.journal import RUNNING, Running
from middlebrick.identities import Identities
from middlebrick.knowledge import categories
from middlebrick.report import Cut
from middlebrick.scoring import CategoryStatus
from middlebrick.spec.model import Surface

__all__ = ["category_statuses", "cut_of", "run_check", "stop_reason"]

log = logging.getLogger("middlebrick")

_CUT_LISTED = 20  # operations a cut names; the report counts the rest


def stop_reason(exc: ScanInterrupted) -> str:
    """What stopped a step: the time budget, else the request budget (or the scope)."""
    if isinstance(exc, Interrupted):
        return "interrupt"
    if isinstance(exc, TimeBudgetExhausted):
        return "time budget"
    return "request budget" if isinstance(exc, BudgetExhausted) else "scope"


def cut_of(step: str, reason: str, operations: list[str]) -> Cut:
    """What ``step`` (a check, the baseline) did not reach, and why: the first operations."""
    return Cut(
        check=step,
        reason=reason,
        operations=operations[:_CUT_LISTED],
        more=max(0, len(operations) - _CUT_LISTED),
    )


async def run_check(
    check: CheckSpec,
    request: ScanRequest,
    surface: Surface,
    baseline: Baseline,
    client: HttpClient,
    stack: tuple[str | None, str | None],
    identities: Identities,
    emit: EventSink,
) -> tuple[list[tuple[float, Finding]], str, str | None, Cut | None]:
    """Run ``check``: its findings (with when each was raised), status, note and cut."""
    ctx = CheckContext(
        request,
        surface,
        baseline,
        client,
        spec=check,
        framework=stack[0],
        store=stack[1],
        identities=identities,
    )
    emit(CheckStarted(check.name))
    found: list[tuple[float, Finding]] = []
    status, note, cut = "ok", None, None
    running = RUNNING.set(Running(check.name, check.writes))
    try:
        async for finding in check.func(ctx):
            found.append((time.monotonic(), finding))
            emit(FindingRaised(finding))
    except ScanInterrupted as exc:
        status, note = "partial", f"{check.name} stopped early: {exc}"
        spent = ctx.request_cap is not None and ctx.sent >= ctx.request_cap
        reason = "declared cost" if spent and isinstance(exc, BudgetExhausted) else stop_reason(exc)
        cut = cut_of(check.name, reason, ctx.not_reached())
    except NotApplicable as exc:
        status, note = "not_applicable", str(exc)
    except Exception as exc:  # a check must never take the scan down with it
        log.debug("check %s failed", check.name, exc_info=True)
        status, note = "failed", f"{check.name} could not run: {type(exc).__name__}: {exc}"
    finally:
        RUNNING.reset(running)
    emit(CheckFinished(check.name, status, len(found), ctx.sent, note))  # type: ignore[arg-type]
    return found, status, note, cut


def category_statuses(
    checks: list[CheckSpec], outcomes: Iterable[tuple[CheckSpec, str, str | None]]
) -> dict[str, tuple[CategoryStatus, str | None]]:
    """Each category's status and note from the statuses of its checks' runs."""
    statuses: dict[str, tuple[CategoryStatus, str | None]] = {
        cid: ("not_checked", "no check of this category exists yet") for cid in categories()
    }
    for check, status, note in outcomes:
        current, current_note = statuses[check.category]
        if status == "not_applicable":
            if current == "not_checked":
                statuses[check.category] = ("not_checked", note)
            continue
        if status == "ok":
            if current == "not_checked":
                statuses[check.category] = ("checked", None)
        else:
            notes = "; ".join(
                n for n in (current_note if current == "partial" else None, note) if n
            )
            statuses[check.category] = ("partial", notes)
    return statuses
