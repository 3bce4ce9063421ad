"""The profiles service scanned with a Postman collection as its API description.

``lab/profiles/postman.json`` (written by hand, Collection v2.1) lists the service's real
routes, ``GET /items/{table_name}/{item_id}`` among them, which crawling never finds. Given with
``--spec``, it must lead the scan to the documented flaws of the vulnerable variant and keep
the secure twin quiet, scored as ``benchmarks/accuracy.py`` scores a scan with a spec.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from benchmarks import accuracy
from lab.runner import Lab
from lab.truth import load
from middlebrick.engine import scan

pytestmark = pytest.mark.lab

COLLECTION = Path(__file__).resolve().parents[2] / "lab" / "profiles" / "postman.json"
# A collection declares no response schemas, deprecations or links, so what only an OpenAPI
# document's schemas, flags and links show cannot be found; everything else must be.
NEEDS_OPENAPI = {
    "missed property_authorization.undeclared-property on profiles GET /api/profile (spec)",
    "missed property_authorization.undeclared-property on profiles GET /api/users/search (spec)",
    "missed property_authorization.undeclared-property on profiles GET /api/orders (spec)",
    "missed property_authorization.undeclared-property on profiles "
    "GET /items/{table_name}/{item_id} (spec)",
    "unobserved property_authorization.undeclared-property on profiles "
    "GET /v2/users/{user_id} (spec)",
    "unobserved property_authorization.undeclared-property on profiles "
    "GET /v1/users/{user_id} (spec)",
    # /admin is in the collection, so it is not an undocumented operation
    "unobserved inventory.undocumented-operation on profiles GET /admin (spec)",
    # nothing in a collection says an operation is deprecated
    "unobserved inventory.deprecated-operation-live on profiles GET /v1/users/{user_id} (spec)",
    # only the OpenAPI document's link from the profile's id fills the wallet's {holder}
    "missed authentication.declared-not-enforced on profiles GET /api/wallets/{holder} (spec)",
    "missed authentication.sensitive-data-without-auth on profiles "
    "GET /api/wallets/{holder} (spec)",
}


def _known_with_openapi() -> set[str]:
    """What the safe-mode gate already lists for profiles scanned with its OpenAPI document."""
    lines = (Path(__file__).resolve().parents[2] / "lab" / "known_misses.txt").read_text()
    return {
        line.strip()
        for line in lines.splitlines()
        if " on profiles " in line and line.strip().endswith("(spec)") and "[" not in line[:1]
    }


def _outcome(lab: Lab, variant: str) -> accuracy.ScanOutcome:
    target = lab.target("profiles", variant)
    request = accuracy.lab_request(
        target, surface=accuracy.SPEC, mode="safe", tier="standard", rate=50
    ).model_copy(update={"spec": str(COLLECTION)})
    started = time.perf_counter()
    report = asyncio.run(scan(request))
    assert report.spec is not None and report.spec.spec_version == "postman-2.1.0"
    return accuracy.ScanOutcome(
        "profiles",
        variant,
        True,
        "safe",
        report.score,
        list(report.findings),
        report.requests,
        time.perf_counter() - started,
    )


def test_a_postman_collection_leads_the_scan_to_the_profiles_flaws_and_not_the_twins(lab):
    # Given the hand-written collection of the profiles service
    truth = load()
    # When both variants are scanned with it as --spec
    vulnerable, secure = _outcome(lab, "vulnerable"), _outcome(lab, "secure")
    result = accuracy.Evaluation()
    accuracy.score_pair(
        truth.entries("profiles"),
        vulnerable,
        secure,
        identities=len(lab.target("profiles", "vulnerable").tokens),
        built_categories=accuracy.built()[0],
        into=result,
        extras=truth.extras("profiles"),
        observations=truth.observations("profiles"),
    )
    # Then every documented flaw the OpenAPI document leads to is found (the route crawling
    # misses included), nothing unexplained is reported, and the twin stays quiet
    problems = set(accuracy.regressions(result))
    assert sorted(problems - NEEDS_OPENAPI - _known_with_openapi()) == []
    found = {(f.type_id, f.operation) for f in vulnerable.findings}
    assert ("input_validation.table-name-injection", "GET /items/{table_name}/{item_id}") in found
