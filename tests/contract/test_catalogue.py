"""The finding-type catalogue: every entry complete, well mapped, and emitted by some check."""

from __future__ import annotations

import re

import pytest

from middlebrick.checks.registry import load_all
from middlebrick.filtering.rules import retyped_ids
from middlebrick.knowledge import catalogue, categories
from middlebrick.knowledge.models import FindingType

ENTRIES = sorted(catalogue().values(), key=lambda entry: entry.id)
_PCI = re.compile(r"^\d{1,2}(?:\.\d{1,2}){1,3}$")
_SOC2 = re.compile(r"^(?:CC|C|A|PI|P)\d{1,2}\.\d{1,2}$")
_OWASP = re.compile(r"^(?:API(?:[1-9]|10)|LLM(?:0[1-9]|10))$")


def _emitted() -> dict[str, str]:
    """Every id some registered check declares, with the check that declares it, and the ids
    the Filter step reports a check's finding as."""
    emitted = {type_id: spec.name for spec in load_all().values() for type_id in spec.emits}
    return emitted | {type_id: "the Filter step" for type_id in retyped_ids()}


def test_catalogue_loads_and_validates() -> None:
    assert ENTRIES, "knowledge/findings/ holds no entry"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.id)
def test_catalogue_entry_has_every_word_a_reader_needs(entry: FindingType) -> None:
    assert entry.title.strip() and entry.summary.strip(), f"{entry.id}: title and summary"
    assert entry.cwe and all(number > 0 for number in entry.cwe), f"{entry.id}: cwe"
    assert entry.remediation.generic.strip(), f"{entry.id}: generic remediation"
    missing = [fw for fw in ("flask", "django", "fastapi") if not getattr(entry.remediation, fw)]
    assert not missing, f"{entry.id}: no remediation for {missing}"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.id)
def test_catalogue_entry_mappings_are_well_formed(entry: FindingType) -> None:
    assert _OWASP.match(entry.owasp_api_2023), (
        f"{entry.id}: owasp_api_2023 {entry.owasp_api_2023!r}"
    )
    assert all(_PCI.match(r) for r in entry.pci_dss), f"{entry.id}: pci_dss {entry.pci_dss}"
    assert entry.soc2 and all(_SOC2.match(c) for c in entry.soc2), f"{entry.id}: soc2 {entry.soc2}"
    assert entry.category in categories(), f"{entry.id}: unknown category {entry.category}"


def test_every_emitted_id_is_in_the_catalogue() -> None:
    unknown = {
        type_id: check for type_id, check in _emitted().items() if type_id not in catalogue()
    }

    assert not unknown, f"checks emit ids missing from knowledge/findings/: {unknown}"


def test_every_catalogue_id_is_emitted_by_a_check() -> None:
    orphans = sorted(set(catalogue()) - set(_emitted()))

    assert not orphans, f"catalogue ids that no registered check emits: {orphans}"


_DYNAMODB_WORDS = re.compile(
    r"DynamoDB|boto|ConditionExpression|ProjectionExpression|ExclusiveStartKey|"
    r"LastEvaluatedKey|get_item|Key\(\"",
)


@pytest.mark.parametrize("entry", list(catalogue().values()), ids=lambda e: e.id)
def test_dynamodb_advice_is_given_only_where_the_evidence_proves_dynamodb(
    entry: FindingType,
) -> None:
    # Issue 21, class 10: stack-specific advice only for a stack the evidence proves. A type
    # that is not DynamoDB's own keeps DynamoDB advice in `dynamodb`, shown when the answers
    # prove the store.
    if re.search(r"dynamodb|partiql|table-name", entry.id):
        return
    texts = {k: v for k, v in entry.remediation.model_dump().items() if v and k != "dynamodb"}
    mentions = [k for k, text in texts.items() if _DYNAMODB_WORDS.search(text)]
    assert not mentions, f"{entry.id}: DynamoDB advice in {mentions}"
