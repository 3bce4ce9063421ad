"""Every document of the real-world OpenAPI/Swagger corpus loads with its manifest operation count.

The corpus (154 documents, their quirks described in its README) lives next to the project at
``../shared/corpus/openapi``; ``MANIFEST.tsv`` lists the documents and what they hold.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from middlebrick.spec.load import load_spec
from middlebrick.spec.values import serialize, value_for_parameter, value_for_schema

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "openapi"
MANIFEST = CORPUS / "MANIFEST.tsv"

if not MANIFEST.is_file():
    pytest.skip(f"the OpenAPI corpus is not present at {CORPUS}", allow_module_level=True)


def _rows() -> list[dict[str, str]]:
    with MANIFEST.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = _rows()


def test_manifest_lists_the_whole_corpus() -> None:
    assert len(ROWS) == 154
    assert {"local_path", "spec_version", "n_operations"} <= set(ROWS[0])


@pytest.mark.parametrize("row", ROWS, ids=[row["local_path"] for row in ROWS])
def test_corpus_document_loads_with_the_manifest_operation_count(row: dict[str, str]) -> None:
    path = CORPUS / row["local_path"]

    spec = load_spec(path)

    assert len(spec.operations) == int(row["n_operations"])
    assert spec.spec_version == row["spec_version"]
    code_samples = "not a .json, .yaml or .yml file"  # Redocly's x-codeSamples: .cs, .php
    unresolved = [warning for warning in spec.warnings if code_samples not in warning]
    assert unresolved == [], "every reference to a description file in the corpus resolves"
    for op in spec.operations:  # real schemas (recursive, odd) all give values
        for param in op.parameters:
            assert isinstance(serialize(value_for_parameter(param)), str)
        if op.request_body is not None:
            value_for_schema(op.request_body.schema)
