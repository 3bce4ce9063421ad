"""BOLA findings on the lab: every ground-truth entry, how each is shown, and quiet twins.

Scans items, tenants and shop (vulnerable and secure, with the spec, every lab user as an
identity, as the accuracy benchmark does) and checks beyond the benchmark's id-and-operation
matching: parameters, confidence, labelled differential evidence, and that no token leaks into
a finding.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.accuracy import SPEC, lab_request
from lab.runner import Lab
from lab.truth import load
from middlebrick.engine import scan
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.report import Report
from tests.lab.conftest import SharedScans

pytestmark = pytest.mark.lab

_SERVICES = ("items", "tenants", "shop")
_KNOWN = Path(__file__).resolve().parents[2] / "lab" / "known_misses.txt"


def _known_misses(service: str) -> set[tuple[str, str]]:
    """(finding, operation) of the safe gate's misses the known-misses file explains (spec)."""
    known = set()
    for line in _KNOWN.read_text(encoding="utf-8").splitlines():
        head, _, rest = line.partition(" on ")
        if (
            head.startswith("missed ")
            and rest.startswith(service + " ")
            and line.endswith("(spec)")
        ):
            operation = rest[len(service) + 1 : -len(" (spec)")]
            known.add((head.removeprefix("missed "), operation))
    return known


def _scan(lab: Lab, service: str, variant: str, mode: str, include: tuple[str, ...] = ()) -> Report:
    target = lab.target(service, variant)
    request = lab_request(target, surface=SPEC, mode=mode, tier="standard", rate=1000)
    return asyncio.run(scan(request.model_copy(update={"include": include})))


@pytest.fixture(scope="module")
def scans(shared_scans: SharedScans) -> dict[str, Report]:
    """The safe scan of each items, tenants and shop variant (the accuracy gate's own)."""
    reports = {}
    for service in _SERVICES:
        for variant in ("vulnerable", "secure"):
            report = shared_scans.spec(service, variant).report
            assert report is not None, f"the safe scan of {service}/{variant} failed"
            reports[f"{service}/{variant}"] = report
    return reports


def _bola(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.category == "bola"]


def _one(report: Report, type_id: str, operation: str) -> Finding:
    found = [f for f in _bola(report) if (f.type_id, f.operation) == (type_id, operation)]
    assert len(found) == 1, f"{type_id} on {operation}: {found}"
    return found[0]


@pytest.mark.parametrize("service", _SERVICES)
def test_every_safe_bola_entry_of_the_ground_truth_is_found(scans, service: str) -> None:
    entries = [
        e
        for e in load().entries(service)
        if e.category == "bola" and e.applies(mode="safe", spec=True, identities=4)
    ]
    bola = _bola(scans[f"{service}/vulnerable"])
    # a finding stands for the others of its root cause (the Filter's occurrences)
    found = {(f.type_id, f.operation) for f in bola} | {
        (o.type_id, o.operation) for f in bola for o in f.occurrences
    }

    missing = [(e.finding, e.operation) for e in entries if (e.finding, e.operation) not in found]

    # the misses lab/known_misses.txt explains (with their reasons) are the gate's to check
    assert entries and not set(missing) - _known_misses(service)


@pytest.mark.parametrize("service", _SERVICES)
def test_the_secure_twins_show_no_bola_finding_above_info(scans, service: str) -> None:
    assert [f for f in _bola(scans[f"{service}/secure"]) if f.severity is not Severity.info] == []


def test_cross_identity_read_is_critical_with_the_three_exchanges(scans) -> None:
    finding = _one(
        scans["shop/vulnerable"],
        "bola.cross-identity-access",
        "GET /api/v2/addresses/{address_id}",
    )

    assert (finding.confidence, finding.severity) == (Confidence.confirmed, Severity.critical)
    # its own three exchanges first; the adjacent-id read it stands for follows them
    assert [e.label for e in finding.evidence][:3] == ["as alice", "as bob", "anonymous"]
    assert [e.status for e in finding.evidence][:3] == [200, 200, 401]


def test_cross_identity_read_fills_a_title_parameter_from_the_listing(scans) -> None:
    # The wishlist's URL carries its title, which only the caller's own listing gives
    finding = _one(
        scans["shop/vulnerable"], "bola.cross-identity-access", "GET /api/v2/wishlists/{title}"
    )

    assert (finding.confidence, finding.severity) == (Confidence.confirmed, Severity.critical)
    assert finding.evidence[0].request.url.endswith("/api/v2/wishlists/alice-birthday-ideas")
    assert [e.status for e in finding.evidence][:3] == [200, 200, 401]


def test_cross_identity_read_proves_the_owner_by_the_listings_of_each_caller(scans) -> None:
    # The order's owner field is a billing customer number nothing else names; the order
    # listing, which shows each caller its own orders, is the proof of whose it is
    finding = _one(
        scans["shop/vulnerable"], "bola.cross-identity-access", "GET /api/v2/orders/{order_id}"
    )

    assert (finding.confidence, finding.severity) == (Confidence.confirmed, Severity.critical)
    assert [e.label for e in finding.evidence][3:5] == ["listing as alice", "listing as bob"]
    assert "lists each caller its own" in finding.detail


def test_cross_identity_read_of_an_object_the_other_user_lists_is_info(scans) -> None:
    # Every member of the tenant lists every ticket: a shared ticket board, as far as a
    # black-box scan can tell, so reading one by id is not a BOLA verdict
    finding = _one(
        scans["tenants/vulnerable"], "bola.cross-identity-access", "GET /api/tickets/{ticket_id}"
    )

    assert finding.severity is Severity.info
    assert finding.evidence[-1].label.startswith("listing as ")
    assert "shared with" in finding.detail


def test_owner_override_names_the_parameter_and_shows_the_denied_control(scans) -> None:
    finding = _one(
        scans["items/vulnerable"], "bola.owner-override-parameter", "GET /items/{item_id}"
    )

    assert finding.parameter == "user_id"
    assert [(e.label, e.status) for e in finding.evidence] == [
        ("control: no override", 404),
        ("?user_id= override", 200),
    ]


def test_tenant_switch_is_shown_on_the_header_with_a_denied_control(scans) -> None:
    finding = _one(
        scans["tenants/vulnerable"], "bola.tenant-switch", "GET /api/tickets/{ticket_id}"
    )

    assert finding.parameter == "X-Tenant-ID"
    assert [(e.label, e.status) for e in finding.evidence][1:] == [
        ("control: no tenant", 404),
        ("switched", 200),
    ]
    assert "X-Tenant-ID" in finding.evidence[-1].curl


def test_cursor_findings_name_the_cursor_parameter(scans) -> None:
    report = scans["items/vulnerable"]
    unsigned = _one(report, "bola.unsigned-cursor", "GET /search")
    tampered = _one(report, "bola.cursor-tampering", "GET /search")

    assert (unsigned.parameter, tampered.parameter) == ("cursor", "cursor")
    assert "`item_id`, `owner_id`" in unsigned.detail
    assert "owned by 'bob'" in tampered.detail


def test_no_bola_finding_carries_a_scan_token(lab: Lab, scans) -> None:
    for service in _SERVICES:
        tokens = lab.target(service, "vulnerable").tokens.values()
        for finding in _bola(scans[f"{service}/vulnerable"]):
            texts = [finding.detail] + [e.curl + e.excerpt for e in finding.evidence]
            assert not any(token in text for token in tokens for text in texts), finding.type_id


def test_active_scan_writes_objects_that_existed_before_it_only_with_no_op_writes(
    lab: Lab,
) -> None:
    """Wishlists and addresses existed before the scan: bob re-sends alice's own values, only
    where ``--include`` names the write, the journal leaves each as it was, and the twin
    refuses bob."""
    writes = ("PUT /api/v2/wishlists/{title}", "PATCH /api/v2/addresses/{address_id}")
    vulnerable = _scan(lab, "shop", "vulnerable", mode="active", include=writes)
    secure = _scan(lab, "shop", "secure", mode="active", include=writes)

    wishlist = _one(vulnerable, "bola.cross-identity-access", "PUT /api/v2/wishlists/{title}")
    assert (wishlist.confidence, wishlist.severity) == (Confidence.firm, Severity.critical)
    assert "cannot be told from an ignored one" in wishlist.detail
    assert [e.request.method for e in wishlist.evidence] == ["GET", "GET", "PUT", "PUT", "GET"]
    address = "PATCH /api/v2/addresses/{address_id}"
    assert _one(vulnerable, "bola.cross-identity-access", address).severity is Severity.critical
    assert [f for f in _bola(secure) if f.severity is not Severity.info] == []
    assert vulnerable.not_restored == secure.not_restored == []


def test_active_scan_writes_another_user_s_item_it_may_not_read(lab: Lab) -> None:
    """The vulnerable items are read by id only by their owner, yet anyone's no-op PATCH of
    one is accepted (it re-sends the item's own values; sent where ``--include`` names it)."""
    vulnerable = _scan(
        lab, "items", "vulnerable", mode="active", include=("PATCH /items/{item_id}",)
    )

    finding = _one(vulnerable, "bola.cross-identity-access", "PATCH /items/{item_id}")
    assert (finding.confidence, finding.severity) == (Confidence.firm, Severity.critical)
    assert "re-sent `description` with the values 'alice' read" in finding.detail
    assert vulnerable.not_restored == []
