"""The Report model: the single source for every renderer and for the store.

``build_report`` runs the Filter and Score steps of DESIGN.md over a scan's raw findings and
assembles the result; renderers never compute anything the report does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from middlebrick.config import Context, Mode, Tier
from middlebrick.coverage import Coverage
from middlebrick.filtering import ScanFacts, filter_findings
from middlebrick.findings import Finding, Severity
from middlebrick.knowledge import categories
from middlebrick.scoring import CRITICAL_CAP, HIGH_CONFIRMED_CAP, CategoryStatus, score_findings

__all__ = [
    "CategoryResult",
    "Cut",
    "NotRestored",
    "Report",
    "SkippedOperation",
    "SpecInfo",
    "build_report",
]

_SEVERITY_ORDER = sorted(Severity, key=lambda s: s.rank, reverse=True)


class CategoryResult(BaseModel):
    """One category's line of the report. ``score`` is None exactly when it was not checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    owasp: str
    score: int | None = Field(ge=0, le=100)
    status: CategoryStatus
    findings: int = Field(ge=0)
    worst: Severity | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _score_matches_status(self) -> CategoryResult:
        if (self.status == "not_checked") != (self.score is None):
            raise ValueError(
                f"category {self.id}: status {self.status!r} with score {self.score!r}; "
                "a not-checked category has no score and every other one has a score"
            )
        return self


class SpecInfo(BaseModel):
    """The API description the scan used."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str  # path or URL it was loaded from
    title: str | None = None
    version: str | None = None  # the API's own version (info.version)
    spec_version: str | None = None  # "2.0", "3.0.3", "3.1.0"; "postman-2.1.0" for a collection
    operations: int = Field(0, ge=0)

    @property
    def kind(self) -> str:
        """What the description is, for people: "OpenAPI/Swagger 3.1.0", "Postman Collection
        v2.1.0" ("" when unknown)."""
        version = self.spec_version or ""
        if version.startswith("postman-"):
            return f"Postman Collection v{version.removeprefix('postman-')}"
        return f"OpenAPI/Swagger {version}" if version else ""


class SkippedOperation(BaseModel):
    """An operation (or request) the safety policy kept the scan from calling: not tested."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operation: str  # "GET /admin/reset"
    reason: str


class NotRestored(BaseModel):
    """An object an active scan wrote and could not restore: set it back by hand."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    check: str  # the check that wrote it
    detail: str  # what was written and what to do


class Cut(BaseModel):
    """A step the request or time budget stopped before it had run on every operation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str  # the check's name ("rate_limiting.page_sizes"), or "baseline"
    reason: str  # what stopped it: "time budget", "request budget" or "declared cost"
    operations: list[str] = Field(default_factory=list)  # not run on, in order (at most 20)
    more: int = Field(0, ge=0)  # operations not run on beyond those listed

    @property
    def count(self) -> int:
        """Operations it did not run on (0: it stopped between them, or has none)."""
        return len(self.operations) + self.more


class Report(BaseModel):
    """Everything one scan found, scored and described; serialises to JSON and back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    tool: str = "middlebrick"
    version: str = Field(default_factory=lambda: _tool_version())
    scan_id: str
    target: str
    started_at: datetime
    finished_at: datetime
    duration_s: float = Field(ge=0)
    mode: Mode
    tier: Tier
    context: Context
    score: int | None = Field(ge=0, le=100)
    grade: str | None
    categories: list[CategoryResult]
    findings: list[Finding]
    operations: int = Field(ge=0)
    requests: int = Field(ge=0)
    framework: str | None = None
    spec: SpecInfo | None = None
    surface_origin: str  # "spec", "discovered" or "url"
    notes: list[str] = Field(default_factory=list)
    complete: bool = True
    skipped: list[SkippedOperation] = Field(default_factory=list)  # not called, by policy
    restored: int = Field(0, ge=0)  # objects written and then restored or deleted
    not_restored: list[NotRestored] = Field(default_factory=list)
    cut: list[Cut] = Field(default_factory=list)  # what the budgets stopped early
    coverage: Coverage | None = None  # None in reports written before coverage was measured

    @model_validator(mode="after")
    def _score_matches_categories(self) -> Report:
        scored = any(c.status != "not_checked" for c in self.categories) and self.graded
        if scored == (self.score is None) or (self.score is None) != (self.grade is None):
            raise ValueError(
                f"score {self.score!r} / grade {self.grade!r} do not match the categories and "
                "coverage: score and grade are None exactly when no category was checked or "
                "the scan is incomplete"
            )
        if not self.graded and self.complete:
            raise ValueError("a scan whose coverage allows no grade is not complete")
        return self

    @property
    def graded(self) -> bool:
        """Whether the scan reached enough of the API for a score and a grade (see coverage)."""
        return self.coverage is None or self.coverage.graded

    def verdict(self) -> str:
        """``87/100 B``, ``incomplete`` (no grade: too little was reached) or ``not scored``."""
        if self.score is not None:
            return f"{self.score}/100 {self.grade}"
        return "incomplete" if not self.graded else "not scored"

    def coverage_summary(self) -> str | None:
        """``coverage: 12 of 14 operations gave a usable answer (86 %): 2 answered 404``."""
        return None if self.coverage is None else "coverage: " + self.coverage.sentence()

    def incomplete_reasons(self) -> list[str]:
        """Why the scan has no grade (empty when it has one, or when it checked nothing)."""
        return [] if self.coverage is None else list(self.coverage.incomplete)

    def cut_summary(self) -> str | None:
        """One line on what the budgets cut short, or ``None`` when nothing was."""
        if not self.cut:
            return None
        reasons = " and the ".join(dict.fromkeys(c.reason for c in self.cut))
        checks = sum(c.check != "baseline" for c in self.cut)
        what = [f"{checks} check{'s' if checks != 1 else ''}"] if checks else []
        if checks < len(self.cut):
            what.insert(0, "the baseline")
        most = max(c.count for c in self.cut)
        left = f", up to {most} operation{'s' if most != 1 else ''} unchecked" if most else ""
        return f"cut short by the {reasons}: {' and '.join(what)}{left}; the JSON report lists them"

    def counts_by_severity(self) -> dict[Severity, int]:
        """Number of findings of each severity, critical first, zeros included."""
        counts = dict.fromkeys(_SEVERITY_ORDER, 0)
        for finding in self.findings:
            counts[finding.severity] += 1
        return counts

    def category(self, id: str) -> CategoryResult:
        """The result of the category with this id."""
        for result in self.categories:
            if result.id == id:
                return result
        valid = ", ".join(c.id for c in self.categories)
        raise KeyError(f"no category {id!r} in the report; expected one of {valid}")


def build_report(
    *,
    findings: Iterable[Finding],
    category_status: Mapping[str, tuple[CategoryStatus, str | None]],
    context: Context,
    facts: ScanFacts | None = None,
    **metadata: Any,
) -> Report:
    """Filter and score a scan's raw findings and assemble its report.

    ``category_status`` maps a category id to its status and an optional note ("2 of 3 checks
    cut by the time budget"); categories it omits are not checked. ``facts`` are what the
    Filter's evidence rules read (``filtering.ScanFacts``). ``metadata`` holds the other
    ``Report`` fields (scan_id, target, started_at, finished_at, duration_s, mode, tier,
    operations, requests, surface_origin, and optionally framework, spec, notes, complete, cut,
    coverage). A coverage that allows no grade leaves the report without score and grade.
    """
    filtered = filter_findings(findings, facts)
    kept = filtered.findings
    declared = {cid: status for cid, (status, _) in category_status.items()}
    card = score_findings(kept, declared, context)
    results: list[CategoryResult] = []
    for cid, cat in categories().items():
        own = [f for f in kept if f.category == cid]
        results.append(
            CategoryResult(
                id=cid,
                name=cat.name,
                owasp=cat.owasp_api_2023,
                score=card.categories[cid],
                status=card.status[cid],
                findings=len(own),
                worst=max((f.severity for f in own), key=lambda s: s.rank, default=None),
                note=category_status.get(cid, ("not_checked", None))[1],
            )
        )
    notes = list(metadata.pop("notes", ())) + filtered.notes()
    coverage: Coverage | None = metadata.get("coverage")
    graded = coverage is None or coverage.graded
    if graded and card.cap is not None and card.uncapped is not None and card.uncapped > card.cap:
        notes.append(_cap_note(card.cap, card.uncapped))
    return Report(
        context=context,
        score=card.overall if graded else None,
        grade=card.grade if graded else None,
        categories=results,
        findings=kept,
        notes=notes,
        **metadata,
    )


def _tool_version() -> str:
    from middlebrick import __version__  # late: the package root may import this module

    return __version__


def _cap_note(cap: int, uncapped: int) -> str:
    reason = {
        CRITICAL_CAP: "a critical finding is confirmed",
        HIGH_CONFIRMED_CAP: "a high-severity finding is confirmed or a critical one firm",
    }.get(cap, "a high-severity finding is open")
    return f"overall score capped at {cap} (would be {uncapped}): {reason}"
