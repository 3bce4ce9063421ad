"""The CI gate: does a report pass ``--threshold`` and ``--fail-on``, given what is accepted?

Two ways to accept findings so that CI fails only on new ones:

- a **baseline** report (``--baseline old.json``): its findings, matched by fingerprint, are
  *known* and do not fail the gate;
- an **ignore file** (``--ignore-file``), each entry a fingerprint with a reason and an expiry::

      ignore:
        - fingerprint: 3f9c2a715b8e4d1a
          reason: admin API is on the VPN only; ticket SEC-142
          expires: 2027-03-31

  An entry *suppresses* its finding until it expires. An entry that expired, or that matches no
  finding of the scan, is *stale* and named in the verdict so the file stays honest.

A scan that did not finish (``complete: false``: discovery or the baseline stopped early, too
little of the API answered for a grade, a check was cut by a budget, a session broke) never
passes a gate that asks for anything: ``--threshold`` or ``--fail-on`` fail it, unless
``--allow-incomplete`` accepts it (and then judges what it did find).

The score and the report are never changed by the gate: it only decides the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from middlebrick.errors import UsageError
from middlebrick.files import read_bounded
from middlebrick.findings import Finding, Severity
from middlebrick.report import Report

__all__ = ["Gate", "IgnoreEntry", "Verdict", "judge", "load_ignore_file", "load_report"]

_MAX_BYTES = 64 * 1024 * 1024  # a JSON report (baseline)
_MAX_IGNORE_BYTES = 1_048_576  # an ignore file


class IgnoreEntry(BaseModel):
    """One accepted finding: its fingerprint, why it is accepted, and until when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fingerprint: str = Field(min_length=8, max_length=128)
    reason: str = Field(min_length=3)
    expires: date


class _IgnoreFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ignore: list[IgnoreEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Gate:
    """What the CI gate demands."""

    threshold: int | None = None  # fail when the score is below
    fail_on: Severity | None = None  # fail on a new finding at or above this severity
    known: frozenset[str] = frozenset()  # fingerprints of the baseline report
    ignore: tuple[IgnoreEntry, ...] = ()
    allow_incomplete: bool = False  # an incomplete scan may pass (judged on what it found)
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Verdict:
    """The gate's answer: failed or not, why, and how the findings were counted."""

    failed: bool
    reasons: tuple[str, ...]
    new: tuple[Finding, ...]  # neither known nor suppressed: what the gate judges
    known: tuple[Finding, ...]
    suppressed: tuple[Finding, ...]
    stale: tuple[str, ...]  # sentences about ignore entries that no longer do anything


def judge(report: Report, gate: Gate) -> Verdict:
    """Apply ``gate`` to ``report``."""
    active = {e.fingerprint: e for e in gate.ignore if e.expires >= gate.today}
    present = {f.fingerprint for f in report.findings}
    stale = [
        f"ignore entry {e.fingerprint} expired on {e.expires.isoformat()}; its finding counts again"
        for e in gate.ignore
        if e.expires < gate.today and e.fingerprint in present
    ]
    stale += [
        f"ignore entry {e.fingerprint} matches no finding of this scan; remove it"
        for e in gate.ignore
        if e.fingerprint not in present
    ]
    new, known, suppressed = [], [], []
    for finding in report.findings:
        if finding.fingerprint in active:
            suppressed.append(finding)
        elif finding.fingerprint in gate.known:
            known.append(finding)
        else:
            new.append(finding)
    reasons = []
    asks = gate.threshold is not None or gate.fail_on is not None
    if asks and not report.complete and not gate.allow_incomplete:
        reasons.append(_incomplete_reason(report))
    if gate.threshold is not None and report.score is not None and report.score < gate.threshold:
        reasons.append(f"score {report.score} is below the threshold {gate.threshold}")
    if gate.fail_on is not None:
        failing = [f for f in new if f.severity.rank >= gate.fail_on.rank]
        if failing:
            which = "new finding(s)" if gate.known or gate.ignore else "finding(s)"
            examples = ", ".join(f"{f.type_id} on {f.operation}" for f in failing[:3])
            reasons.append(
                f"{len(failing)} {which} at or above {gate.fail_on.value}: {examples}"
                + (" …" if len(failing) > 3 else "")
            )
    return Verdict(
        failed=bool(reasons),
        reasons=tuple(reasons),
        new=tuple(new),
        known=tuple(known),
        suppressed=tuple(suppressed),
        stale=tuple(stale),
    )


def _incomplete_reason(report: Report) -> str:
    why = report.coverage.incomplete[:2] if report.coverage is not None else []
    if not why:
        why = [report.cut_summary() or "a check or an identity's session stopped early"]
    return (
        f"the scan is incomplete ({'; '.join(why)}): it cannot pass the gate "
        "(--allow-incomplete judges it on what it found)"
    )


def load_report(path: Path) -> Report:
    """A saved JSON report; an unreadable or foreign file is a ``UsageError``."""
    try:
        text = read_bounded(path, cap=_MAX_BYTES, what="report").decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a JSON report (not UTF-8 text)") from None
    try:
        return Report.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        raise UsageError(
            f"{path} is not a middlebrick JSON report ({where}: {first['msg']}); "
            "write one with --format json"
        ) from None


def load_ignore_file(path: Path) -> tuple[IgnoreEntry, ...]:
    """The entries of an ignore file; every problem is a ``UsageError`` naming the entry."""
    data = read_bounded(path, cap=_MAX_IGNORE_BYTES, what="ignore file")
    try:
        raw: Any = yaml.safe_load(data.decode("utf-8", errors="replace")) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"ignore file {path} is not valid YAML: {exc}") from None
    try:
        return tuple(_IgnoreFile.model_validate(raw).ignore)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(
            f"ignore file {path}: {where}: {first['msg']} "
            "(each entry needs fingerprint, reason and expires: YYYY-MM-DD)"
        ) from None


def fingerprints(findings: Iterable[Finding]) -> frozenset[str]:
    """The fingerprints of ``findings``."""
    return frozenset(f.fingerprint for f in findings)
