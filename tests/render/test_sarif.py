"""The SARIF renderer: SARIF 2.1.0 that GitHub code scanning accepts, rules from the catalogue.

The schema is the OASIS one in ``shared/schemas`` beside the project, read at test time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from middlebrick.findings import Severity
from middlebrick.knowledge import catalogue
from middlebrick.knowledge.models import FindingType
from middlebrick.render import render
from middlebrick.render.sarif import SECURITY_SEVERITY
from tests.render.sample import hostile_finding, sample_report

SCHEMA = (
    Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
)


def _sarif(**kwargs: Any) -> dict[str, Any]:
    report = sample_report(hostile_finding(), **kwargs)
    log: dict[str, Any] = json.loads(render(report, "sarif"))
    return log


def _results(log: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = log["runs"][0]["results"]
    return results


def test_sarif_output_validates_against_the_sarif_2_1_0_schema(
    frozen_catalogue: dict[str, FindingType],
) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"the SARIF schema is not at {SCHEMA} (shared/ beside the project)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )

    for kwargs in ({}, {"spec_source": None}, {"spec_source": "https://api.test/openapi.json"}):
        errors = sorted(validator.iter_errors(_sarif(**kwargs)), key=str)
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_sarif_results_carry_what_github_code_scanning_requires(
    frozen_catalogue: dict[str, FindingType],
) -> None:
    log = _sarif()
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    rule_ids = [rule["id"] for rule in driver["rules"]]

    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    assert driver["name"] == "middlebrick" and driver["version"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")
    assert rule_ids == sorted(set(rule_ids))
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["message"]["text"].strip()
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"]
        assert location["physicalLocation"]["region"]["startLine"] == 1
        assert location["logicalLocations"][0]["kind"] in {"function", "module"}
        assert len(result["partialFingerprints"]["middlebrickFingerprint/v1"]) == 16
    for rule in driver["rules"]:
        score = float(rule["properties"]["security-severity"])
        assert 0.0 <= score <= 10.0
        assert "security" in rule["properties"]["tags"]
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]


def test_sarif_levels_and_security_severity_follow_the_finding_severity(
    frozen_catalogue: dict[str, FindingType],
) -> None:
    results = _results(_sarif())
    by_severity = {r["properties"]["severity"]: r["level"] for r in results}

    assert by_severity == {
        "critical": "error",
        "high": "error",
        "medium": "warning",
        "low": "note",
    }
    rules = _sarif()["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"]: r["properties"]["security-severity"] for r in rules} == {
        "authentication.declared-not-enforced": "8.0",
        "authentication.missing-www-authenticate": "3.0",
        "data_exposure.secret-token": "9.5",
        "data_exposure.ssn": "8.0",
        "encryption.hsts-missing": "5.5",
    }
    assert SECURITY_SEVERITY[Severity.info] == "0.0"


def test_sarif_rule_tags_name_every_cwe_and_the_owasp_item(
    frozen_catalogue: dict[str, FindingType],
) -> None:
    rules = {rule["id"]: rule for rule in _sarif()["runs"][0]["tool"]["driver"]["rules"]}

    tags = rules["authentication.declared-not-enforced"]["properties"]["tags"]

    assert {"external/cwe/cwe-306", "external/cwe/cwe-862", "OWASP-API2:2023"} <= set(tags)
    assert rules["data_exposure.secret-token"]["properties"]["security-severity"] == "9.5"


def test_sarif_result_properties_hold_the_mappings_and_the_first_curl(
    frozen_catalogue: dict[str, FindingType],
) -> None:
    report = sample_report()
    results = _results(json.loads(render(report, "sarif")))

    for finding, result in zip(report.findings, results, strict=True):
        props = result["properties"]
        assert result["ruleId"] == finding.type_id
        assert result["partialFingerprints"]["middlebrickFingerprint/v1"] == finding.fingerprint
        assert props["confidence"] == finding.confidence.value
        assert props["category"] == finding.category
        assert props["owasp"] == finding.owasp_api_2023
        assert props["pci_dss"] == list(finding.pci_dss)
        assert props["soc2"] == list(finding.soc2)
        assert props["curl"] == finding.evidence[0].curl
        assert finding.title in result["message"]["text"]
        assert finding.detail in result["message"]["text"]


@pytest.mark.parametrize(
    ("spec_source", "expected"),
    [
        ("openapi.yaml", {"openapi.yaml"}),
        ("./specs/shop api.yaml", {"specs/shop%20api.yaml"}),
        ("/home/ci/repo/openapi.json", {"openapi.json"}),
        ("../elsewhere/openapi.json", {"openapi.json"}),
        ("https://api.test/v1/openapi.json?x=1", {"openapi.json"}),
        (
            None,
            {
                "config",
                "orders/%7Border_id%7D",
                "users/%7Buser_id%7D",
                "(root)",
                "admin",
                "echo/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E",
            },
        ),
    ],
)
def test_sarif_artifact_uri_is_the_spec_file_or_the_operation_path(
    spec_source: str | None, expected: set[str], frozen_catalogue: dict[str, FindingType]
) -> None:
    results = _results(_sarif(spec_source=spec_source))

    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}

    assert uris == expected
    assert not any(uri.startswith(("http:", "https:", "/")) for uri in uris)


def test_sarif_whole_target_findings_have_a_module_logical_location(
    frozen_catalogue: dict[str, FindingType],
) -> None:
    results = _results(_sarif())

    whole = [r for r in results if r["ruleId"] == "encryption.hsts-missing"]

    assert whole[0]["locations"][0]["logicalLocations"] == [
        {"name": "*", "fullyQualifiedName": "*", "kind": "module"}
    ]


def test_sarif_rules_come_from_the_live_catalogue_entry() -> None:
    entry = catalogue()["authentication.declared-not-enforced"]

    rules = json.loads(render(sample_report(), "sarif"))["runs"][0]["tool"]["driver"]["rules"]
    rule = next(r for r in rules if r["id"] == entry.id)

    assert rule["shortDescription"]["text"] == entry.title
    assert rule["fullDescription"]["text"] == " ".join(entry.summary.split())
    assert rule["help"]["markdown"] == entry.remediation.generic.strip()


def test_sarif_rule_of_a_type_outside_the_catalogue_is_described_by_the_finding(
    frozen_catalogue: dict[str, FindingType],
) -> None:
    frozen_catalogue_without = {
        k: v for k, v in frozen_catalogue.items() if k != "data_exposure.ssn"
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("middlebrick.render.sarif.catalogue", lambda: frozen_catalogue_without)
        rules = json.loads(render(sample_report(), "sarif"))["runs"][0]["tool"]["driver"]["rules"]

    rule = next(r for r in rules if r["id"] == "data_exposure.ssn")
    assert rule["shortDescription"]["text"] == "US Social Security number in a response"
    assert rule["help"]["markdown"].startswith("Flask: ")  # the finding's own remediation
    assert rule["properties"]["security-severity"] == "8.0"


def test_sarif_lists_not_checked_categories_and_notes_as_notifications(
    frozen_catalogue: dict[str, FindingType],
) -> None:
    (invocation,) = _sarif()["runs"][0]["invocations"]

    texts = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]

    assert "LLM / AI not checked: no AI endpoint detected" in texts
    assert any(text.startswith("partial scan:") for text in texts)
    assert invocation["startTimeUtc"] == "2025-01-02T03:04:05.000Z"


def test_sarif_output_carries_no_control_characters_from_the_target(
    frozen_catalogue: dict[str, FindingType],
) -> None:
    out = render(sample_report(hostile_finding()), "sarif")

    assert "\x1b" not in out and "\\u001b" not in out
