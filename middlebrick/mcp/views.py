"""What the MCP tools show: a scan as a ``ScanView``, from a local report or the service's JSON.

Both back-ends (``LocalBackend`` runs the engine in this process, ``RemoteBackend`` asks a
middlebrick service) answer with ``ScanView``\\ s, so the tools format one shape. Parsing the
service's JSON is lenient: unknown fields are ignored and missing ones take defaults, so a newer
service still reads.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from middlebrick.config import Context, Mode
from middlebrick.findings import Evidence, Severity
from middlebrick.report import Report

__all__ = ["Backend", "CategoryView", "FindingView", "ScanOrder", "ScanView"]

ScanStatus = Literal["queued", "running", "completed", "failed"]


class ScanOrder(BaseModel):
    """A scan an assistant asked for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str
    spec_url: str | None = None
    context: Context = Context.general
    mode: Mode = "safe"


class _Lenient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class CategoryView(_Lenient):
    """One category: its score (None when not checked) and status."""

    id: str
    score: int | None = None
    status: str | None = None
    findings: int | None = None


class FindingView(_Lenient):
    """One finding as the tools show it; ``evidence`` only when the back-end has it."""

    fingerprint: str
    type_id: str
    title: str = ""
    severity: Severity = Severity.info
    confidence: str | None = None
    operation: str = "*"
    parameter: str | None = None
    detail: str = ""
    remediation: str = ""
    evidence: list[Evidence] = Field(default_factory=list)

    @field_validator("evidence", mode="before")
    @classmethod
    def _valid_evidence_only(cls, value: Any) -> list[Any]:
        if not isinstance(value, list | tuple):
            return []
        kept = []
        for item in value:
            try:
                kept.append(Evidence.model_validate(item))
            except ValueError:
                continue
        return kept


class ScanView(_Lenient):
    """A scan: queued, running, completed (with findings) or failed (with the reason)."""

    id: str = Field(validation_alias=AliasChoices("id", "scan_id"))
    status: str = "completed"
    target: str | None = Field(None, validation_alias=AliasChoices("target", "url"))
    progress: float | None = None  # percent done
    score: int | None = None
    grade: str | None = None
    complete: bool | None = None
    coverage: float | None = None
    mode: str | None = None
    framework: str | None = None
    error: str | None = Field(None, validation_alias=AliasChoices("error", "reason"))
    categories: list[CategoryView] = Field(default_factory=list)
    findings: list[FindingView] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        value = dict(value)
        categories = value.get("categories")
        if isinstance(categories, dict):  # {"bola": 80, …} or {"bola": {"score": 80, …}}
            value["categories"] = [
                {"id": key, **item} if isinstance(item, dict) else {"id": key, "score": item}
                for key, item in categories.items()
            ]
        coverage = value.get("coverage")
        if isinstance(coverage, dict) and isinstance(coverage.get("complete"), bool):
            value.setdefault("complete", coverage["complete"])
        for key in ("coverage", "progress"):
            if not isinstance(value.get(key), int | float) or isinstance(value.get(key), bool):
                value.pop(key, None)
        for key in ("notes", "categories", "findings"):  # null until the scan is done
            if not isinstance(value.get(key), list):
                value.pop(key, None)
        return value

    @classmethod
    def from_report(cls, report: Report, *, scan_id: str | None = None) -> ScanView:
        """The view of a finished local report."""
        return cls(
            id=scan_id or report.scan_id,
            status="completed",
            target=report.target,
            score=report.score,
            grade=report.grade,
            complete=report.complete,
            mode=report.mode,
            framework=report.framework,
            categories=[
                CategoryView(id=c.id, score=c.score, status=c.status, findings=c.findings)
                for c in report.categories
            ],
            findings=[FindingView.model_validate(f.model_dump()) for f in report.findings],
            coverage=report.coverage.ratio if report.coverage is not None else None,
            notes=[
                *(f"no grade: {why}" for why in report.incomplete_reasons()),
                *(line for line in (report.coverage_summary(),) if line),
                *report.notes,
            ],
        )

    @property
    def done(self) -> bool:
        """Whether the scan has ended (completed or failed)."""
        return self.status in ("completed", "failed")


class Backend(Protocol):
    """Where scans run and are kept: this process, or a middlebrick service."""

    async def submit(self, order: ScanOrder) -> ScanView:
        """Start a scan; its view (queued or running) carries the id."""

    async def get(self, scan_id: str) -> ScanView:
        """The scan with this id; an unknown id is a ``UsageError``."""

    async def wait(self, scan_id: str, timeout: float) -> ScanView:
        """The scan once it has ended, or as it is after ``timeout`` seconds."""

    async def list(self, limit: int, status: str | None) -> list[ScanView]:
        """The latest scans, newest first, of one status or all."""
