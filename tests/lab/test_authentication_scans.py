"""Authentication findings on the lab: what each vulnerable service shows, and how it is shown.

Reads the safe scans of items and profiles (vulnerable and secure, with the spec, every lab
user as an identity: the accuracy gate's own scans, made once per session) and checks beyond
the benchmark's id-and-operation matching: parameters, confidence, masked secrets, and that no
evidence carries a real token.
"""

from __future__ import annotations

from typing import Any

import pytest

from lab.identities import USERS, WEAK_SECRET
from lab.runner import Lab
from middlebrick.findings import Confidence, Finding
from middlebrick.report import Report
from tests.lab.conftest import SharedScans

pytestmark = pytest.mark.lab

_JWT_IDS = {
    "authentication.jwt-alg-none",
    "authentication.jwt-weak-secret",
    "authentication.jwt-expired-accepted",
    "authentication.jwt-missing-claims",
}


@pytest.fixture(scope="module")
def scans(lab: Lab, shared_scans: SharedScans) -> dict[str, tuple[Report, dict[str, str]]]:
    """The safe scan of each items and profiles variant (the accuracy gate's own), and the
    variant's tokens."""
    scans = {}
    for service in ("items", "profiles"):
        for variant in ("vulnerable", "secure"):
            report = shared_scans.spec(service, variant).report
            assert report is not None, f"the safe scan of {service}/{variant} failed"
            scans[f"{service}/{variant}"] = (report, lab.target(service, variant).tokens)
    return scans


def _auth(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.category == "authentication"]


def _texts(finding: Finding) -> list[str]:
    texts: list[Any] = [finding.detail]
    for evidence in finding.evidence:
        texts += [evidence.request.model_dump_json(), evidence.curl, evidence.excerpt]
        texts += evidence.response_headers.values()
    return [str(text) for text in texts]


def test_items_scan_forges_and_cracks_the_vulnerable_tokens(scans) -> None:
    report, _ = scans["items/vulnerable"]
    found = {f.type_id: f for f in _auth(report) if f.type_id in _JWT_IDS}

    assert set(found) == _JWT_IDS
    assert all(f.operation == "*" for f in found.values())
    assert found["authentication.jwt-alg-none"].confidence is Confidence.confirmed
    assert found["authentication.jwt-missing-claims"].parameter == "exp"
    assert "'su****ne'" in found["authentication.jwt-weak-secret"].detail


def test_items_scan_never_shows_the_scan_s_tokens_or_the_cracked_secret(scans) -> None:
    report, tokens = scans["items/vulnerable"]

    for finding in _auth(report):
        for text in _texts(finding):
            assert not any(token in text for token in tokens.values()), finding.type_id
        assert WEAK_SECRET not in finding.detail


def test_items_scan_reports_sensitive_data_served_without_credentials(scans) -> None:
    report, _ = scans["items/vulnerable"]
    found = {
        f.operation: f
        for f in _auth(report)
        if f.type_id == "authentication.sensitive-data-without-auth"
    }

    assert set(found) == {"GET /legacy/items/{item_id}", "GET /export"}
    assert found["GET /export"].evidence[0].label == "anonymous"


def test_profiles_scan_reports_identity_taken_from_x_user_id(scans) -> None:
    report, _ = scans["profiles/vulnerable"]
    found = {
        (f.operation, f.parameter, f.confidence)
        for f in _auth(report)
        if f.type_id == "authentication.identity-from-header"
    }

    assert {
        ("GET /api/profile", "X-User-ID", Confidence.confirmed),
        ("GET /api/orders", "X-User-ID", Confidence.confirmed),
        ("GET /items/{table_name}/{item_id}", "X-User-ID", Confidence.confirmed),
    } <= found


def test_profiles_scan_reads_the_wallet_only_the_profile_s_link_fills(scans) -> None:
    # {holder} matches no field by name: only the GetWallet link (holder = the profile's id)
    # says what it takes, so the finding proves the link was followed
    report, _ = scans["profiles/vulnerable"]
    found = {f.type_id: f for f in _auth(report) if f.operation == "GET /api/wallets/{holder}"}

    assert set(found) >= {
        "authentication.sensitive-data-without-auth",
        "authentication.declared-not-enforced",
    }
    anonymous = found["authentication.sensitive-data-without-auth"].evidence[0]
    assert anonymous.request.url.endswith("/api/wallets/" + USERS["alice"].user_id)


@pytest.mark.parametrize("name", ["items/secure", "profiles/secure"])
def test_secure_twins_show_no_authentication_finding(scans, name: str) -> None:
    report, _ = scans[name]

    assert [(f.type_id, f.operation) for f in _auth(report) if f.severity != "info"] == []


def test_items_scan_shows_what_a_forged_token_reaches(scans) -> None:
    report, _ = scans["items/vulnerable"]
    found = {
        (f.operation, f.parameter): f
        for f in _auth(report)
        if f.type_id == "authentication.jwt-forged-identity"
    }

    assert set(found) == {("GET /users/me", "sub,name"), ("GET /users", "role")}
    assert all("alg: none" in f.detail for f in found.values())
    assert found[("GET /users", "role")].evidence[1].status == 403
