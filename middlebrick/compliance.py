"""The compliance view of a report: which requirements of each framework have findings.

Findings carry their mappings (``owasp_api_2023``, ``pci_dss``, ``soc2``) from the catalogue;
``knowledge/compliance.yaml`` holds each framework's name and a title per requirement. The view
lists, per framework, only the requirements that at least one finding names: a requirement
without findings is not shown as met, because no black-box scan can show that.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from middlebrick.findings import Finding, Severity
from middlebrick.knowledge import read_yaml
from middlebrick.report import Report

__all__ = [
    "ComplianceRow",
    "Framework",
    "FrameworkId",
    "FrameworkView",
    "Requirement",
    "compliance_view",
    "frameworks",
    "requirements_of",
]

FrameworkId = Literal["owasp_api_2023", "pci_dss", "soc2"]
FRAMEWORK_IDS: tuple[FrameworkId, ...] = ("owasp_api_2023", "pci_dss", "soc2")

_ID_SHAPE: dict[str, re.Pattern[str]] = {
    "owasp_api_2023": re.compile(r"^(?:API(?:[1-9]|10)|LLM(?:0[1-9]|10))$"),
    "pci_dss": re.compile(r"^\d{1,2}(?:\.\d{1,2}){1,3}$"),
    "soc2": re.compile(r"^(?:CC|C|A|PI|P)\d{1,2}\.\d{1,2}$"),
}


class Requirement(BaseModel):
    """One requirement (item, criterion) of a framework and its short title."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str = Field(min_length=1)


class Framework(BaseModel):
    """A compliance framework: its display name and the requirements findings may name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: FrameworkId
    name: str
    requirements: tuple[Requirement, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_are_unique_and_well_formed(self) -> Framework:
        ids = [r.id for r in self.requirements]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"{self.id}: duplicate requirement ids {dupes}")
        bad = [i for i in ids if not _ID_SHAPE[self.id].match(i)]
        if bad:
            raise ValueError(f"{self.id}: malformed requirement ids {bad}")
        return self

    def title(self, requirement: str) -> str | None:
        """The title of ``requirement``, or None when this file does not know it."""
        return next((r.title for r in self.requirements if r.id == requirement), None)


class ComplianceRow(BaseModel):
    """One requirement with findings against it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requirement: str
    title: str | None
    findings: int = Field(ge=1)
    worst: Severity
    type_ids: tuple[str, ...]  # the distinct finding types, sorted
    fingerprints: tuple[str, ...]  # the findings themselves, in report order


class FrameworkView(BaseModel):
    """The requirements of one framework that findings name, in the framework's own order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: FrameworkId
    name: str
    rows: tuple[ComplianceRow, ...]


@cache
def frameworks() -> dict[FrameworkId, Framework]:
    """The three frameworks of ``knowledge/compliance.yaml`` by id, validated at first use."""
    raw: Any = read_yaml("compliance.yaml")
    if not isinstance(raw, list):
        raise RuntimeError("knowledge/compliance.yaml: expected a list of frameworks")
    found: dict[FrameworkId, Framework] = {}
    for index, entry in enumerate(raw):
        try:
            framework = Framework.model_validate(entry)
        except ValidationError as exc:
            name = entry.get("id", f"#{index}") if isinstance(entry, dict) else f"#{index}"
            raise RuntimeError(f"knowledge/compliance.yaml: framework {name}: {exc}") from exc
        if framework.id in found:
            raise RuntimeError(f"knowledge/compliance.yaml: framework {framework.id} twice")
        found[framework.id] = framework
    missing = [f for f in FRAMEWORK_IDS if f not in found]
    if missing:
        raise RuntimeError(f"knowledge/compliance.yaml: frameworks {missing} are missing")
    return {f: found[f] for f in FRAMEWORK_IDS}


def requirements_of(finding: Finding, framework: FrameworkId) -> tuple[str, ...]:
    """The requirement ids of ``framework`` that ``finding`` is mapped to."""
    if framework == "owasp_api_2023":
        return (finding.owasp_api_2023,) if finding.owasp_api_2023 else ()
    return finding.pci_dss if framework == "pci_dss" else finding.soc2


def compliance_view(report: Report) -> list[FrameworkView]:
    """For each framework, the requirements the report's findings name, with counts.

    Rows follow the order of ``knowledge/compliance.yaml``; a requirement it does not know (a
    catalogue mistake the contract tests catch) comes last with ``title`` None.
    """
    views: list[FrameworkView] = []
    for fid, framework in frameworks().items():
        hits: dict[str, list[Finding]] = {}
        for finding in report.findings:
            for requirement in dict.fromkeys(requirements_of(finding, fid)):
                hits.setdefault(requirement, []).append(finding)
        order = {r.id: index for index, r in enumerate(framework.requirements)}
        ids = sorted(hits, key=lambda r: (order.get(r, len(order)), r))
        rows = tuple(_row(framework, requirement, hits[requirement]) for requirement in ids)
        views.append(FrameworkView(id=fid, name=framework.name, rows=rows))
    return views


def _row(framework: Framework, requirement: str, findings: list[Finding]) -> ComplianceRow:
    return ComplianceRow(
        requirement=requirement,
        title=framework.title(requirement),
        findings=len(findings),
        worst=max((f.severity for f in findings), key=lambda s: s.rank),
        type_ids=tuple(sorted({f.type_id for f in findings})),
        fingerprints=tuple(f.fingerprint for f in findings),
    )
