"""The compliance titles: every requirement the catalogue names has a title in compliance.yaml."""

from __future__ import annotations

import pytest

from middlebrick.compliance import FRAMEWORK_IDS, Framework, FrameworkId, frameworks
from middlebrick.knowledge import catalogue
from middlebrick.knowledge.models import FindingType

ENTRIES = sorted(catalogue().values(), key=lambda entry: entry.id)


def _named(entry: FindingType) -> dict[FrameworkId, tuple[str, ...]]:
    return {"owasp_api_2023": (entry.owasp_api_2023,), "pci_dss": entry.pci_dss, "soc2": entry.soc2}


def test_compliance_file_holds_the_three_frameworks() -> None:
    assert tuple(frameworks()) == FRAMEWORK_IDS
    owasp = frameworks()["owasp_api_2023"]
    assert [r.id for r in owasp.requirements][:10] == [f"API{n}" for n in range(1, 11)]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.id)
def test_every_requirement_a_finding_type_names_has_a_title(entry: FindingType) -> None:
    missing = [
        f"{fid} {requirement}"
        for fid, requirements in _named(entry).items()
        for requirement in requirements
        if frameworks()[fid].title(requirement) is None
    ]

    assert not missing, f"{entry.id}: add titles to knowledge/compliance.yaml for {missing}"


@pytest.mark.parametrize(
    ("framework", "problem"),
    [
        (
            {"id": "pci_dss", "name": "x", "requirements": [{"id": "6.2.4", "title": "a"}] * 2},
            "duplicate requirement ids",
        ),
        (
            {"id": "soc2", "name": "x", "requirements": [{"id": "6.2.4", "title": "a"}]},
            "malformed requirement ids",
        ),
        (
            {"id": "iso27001", "name": "x", "requirements": [{"id": "A.5", "title": "a"}]},
            "owasp_api_2023",
        ),
        (
            {"id": "soc2", "name": "x", "requirements": [{"id": "CC6.1", "title": "a", "x": 1}]},
            "Extra inputs",
        ),
    ],
)
def test_compliance_file_entries_are_validated_at_load(
    framework: dict[str, object], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        Framework.model_validate(framework)
