"""The Filter's evidence rules and root causes, each with its twin: it fires, it stays quiet."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from middlebrick.filtering import Answer, Caller, ScanFacts, filter_findings
from middlebrick.findings import (
    Confidence,
    Evidence,
    Finding,
    Occurrence,
    RecordedRequest,
    Severity,
    fingerprint,
)
from middlebrick.knowledge import RootCause, catalogue, root_causes

C, H, M, L, INFO = (Severity.critical, Severity.high, Severity.medium, Severity.low, Severity.info)
CONFIRMED, FIRM = Confidence.confirmed, Confidence.firm
ALICE = Caller("alice", frozenset({"2", "alice", "alice@example.org"}), me="GET /api/me")
DECLARED = "authentication.declared-not-enforced"
MISMATCH = "inventory.declared-auth-not-required"
EMAIL = "data_exposure.email-address"


def _evidence(
    path: str, *, status: int = 200, method: str = "GET", match: str | None = None
) -> Evidence:
    url = f"http://127.0.0.1:8000{path}"
    return Evidence(
        request=RecordedRequest(method=method, url=url),
        curl=f"curl -X {method} '{url}'",
        status=status,
        match=match,
    )


def _finding(
    type_id: str,
    operation: str,
    severity: Severity = H,
    *,
    confidence: Confidence = FIRM,
    parameter: str | None = None,
    evidence: tuple[Evidence, ...] = (),
) -> Finding:
    return Finding(
        type_id=type_id,
        category=type_id.split(".")[0],
        title="title",
        severity=severity,
        confidence=confidence,
        operation=operation,
        parameter=parameter,
        detail="what the check saw",
        evidence=evidence,
        fingerprint=fingerprint(type_id, operation, parameter),
    )


def _answer(body: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(body).encode())


def _only(findings: list[Finding], facts: ScanFacts) -> Finding:
    [kept] = filter_findings(findings, facts).findings
    return kept


# --- public by design (class 1) -----------------------------------------------------------

CATALOGUE = {"items": [{"id": 1, "name": "Widget", "price": 4}]}


def _public_facts(authenticated: Any, anonymous: Any) -> ScanFacts:
    op = "GET /items"
    return ScanFacts(
        authenticated={op: _answer(authenticated)},
        anonymous={op: _answer(anonymous)},
        callers=(ALICE,),
    )


def test_public_by_design_demotes_a_public_resource_to_info_saying_why() -> None:
    flaw = _finding(DECLARED, "GET /items", confidence=CONFIRMED)

    kept = _only([flaw], _public_facts(CATALOGUE, CATALOGUE))

    assert (kept.severity, kept.confidence) == (INFO, CONFIRMED)
    assert (kept.type_id, kept.category) == (MISMATCH, "inventory")
    assert kept.title == catalogue()[MISMATCH].title
    assert kept.fingerprint == fingerprint(MISMATCH, "GET /items")
    assert "[public-by-design: spec/runtime mismatch: the anonymous answer equals" in kept.detail
    assert f"[reported as {MISMATCH}, not {DECLARED}]" in kept.detail


def test_public_by_design_keeps_an_answer_private_by_nature() -> None:
    flaw = _finding(DECLARED, "GET /items")
    ssn = _finding("data_exposure.ssn", "GET /items", C, parameter="ssn")

    kept = filter_findings([flaw, ssn], _public_facts(CATALOGUE, CATALOGUE)).findings

    declared = next(f for f in kept if f.type_id == DECLARED)
    assert declared.severity is H
    assert "private by nature (data_exposure.ssn)" in declared.detail


def test_public_by_design_keeps_an_answer_that_names_the_caller() -> None:
    mine = {"items": [{"id": 7, "owner": "alice", "note": "call the bank"}]}
    flaw = _finding(DECLARED, "GET /items")

    kept = _only([flaw], _public_facts(mine, mine))

    assert kept.severity is H
    assert "names the scan's identity (`owner`)" in kept.detail


def test_public_by_design_stays_quiet_when_the_anonymous_answer_differs() -> None:
    flaw = _finding(DECLARED, "GET /items")

    kept = _only([flaw], _public_facts(CATALOGUE, {"items": []}))

    assert kept == flaw


def test_public_by_design_stays_quiet_without_an_anonymous_answer() -> None:
    flaw = _finding(DECLARED, "GET /items")
    facts = ScanFacts(authenticated={"GET /items": _answer(CATALOGUE)}, callers=(ALICE,))

    assert _only([flaw], facts) == flaw


def test_a_scheme_not_enforced_only_on_public_resources_is_info() -> None:
    scheme = _finding("authentication.scheme-not-enforced", "*", parameter="bearerAuth")
    flaw = _finding(DECLARED, "GET /items")

    kept = filter_findings([scheme, flaw], _public_facts(CATALOGUE, CATALOGUE)).findings

    assert {f.type_id: f.severity for f in kept} == {scheme.type_id: INFO, MISMATCH: INFO}


def test_a_scheme_not_enforced_on_a_private_resource_stays_high() -> None:
    scheme = _finding("authentication.scheme-not-enforced", "*", parameter="bearerAuth")
    flaw = _finding(DECLARED, "GET /items")
    secret = _finding("data_exposure.secret-token", "GET /items", C, parameter="api_key")

    kept = filter_findings([scheme, flaw, secret], _public_facts(CATALOGUE, CATALOGUE)).findings

    assert next(f for f in kept if f.type_id == scheme.type_id).severity is H


# --- the caller's own data (class 3) ------------------------------------------------------


def _own_facts(op: str, body: Any) -> ScanFacts:
    return ScanFacts(
        authenticated={op: _answer(body)},
        anonymous={op: _answer({"detail": "Authentication credentials were not provided."}, 401)},
        callers=(ALICE, Caller("bob", frozenset({"3", "bob@example.org"}))),
    )


def test_own_data_demotes_the_callers_email_in_its_me_answer() -> None:
    flaw = _finding(EMAIL, "GET /api/me", L, parameter="email")
    me = {"id": 2, "username": "alice", "email": "alice@example.org", "is_staff": False}

    kept = _only([flaw], _own_facts("GET /api/me", me))

    assert kept.severity is INFO
    assert "[callers-own-data: the caller's own data: every record holding `email` is" in (
        kept.detail
    )


def test_own_data_demotes_a_role_field_in_the_callers_own_user_record() -> None:
    flaw = _finding(
        "bfla.role-field-leaked",
        "GET /api/users/search",
        M,
        evidence=(_evidence("/api/users/search", match="role"),),
    )
    found = {"results": [{"id": 9, "username": "alice", "role": "owner"}]}

    kept = _only([flaw], _own_facts("GET /api/users/search", found))

    assert kept.severity is INFO
    assert "the record is its own user record (`username`)" in kept.detail


def test_own_data_keeps_a_role_field_of_a_record_the_caller_merely_owns() -> None:
    flaw = _finding(
        "bfla.role-field-leaked",
        "GET /api/items",
        M,
        evidence=(_evidence("/api/items", match="is_admin"),),
    )
    items = [{"id": 9, "owner_id": "2", "is_admin": True}]

    assert _only([flaw], _own_facts("GET /api/items", items)) == flaw


def test_own_data_stays_quiet_on_a_directory_of_other_members() -> None:
    flaw = _finding(EMAIL, "GET /api/users", L, parameter="email")
    directory = [
        {"id": 2, "email": "alice@example.org"},
        {"id": 3, "email": "bob@example.org"},
    ]

    assert _only([flaw], _own_facts("GET /api/users", directory)) == flaw


def test_own_data_never_takes_a_records_own_id_for_the_callers() -> None:
    # Project 2 is not alice's because alice's user id is 2.
    flaw = _finding(EMAIL, "GET /api/projects/{id}", L, parameter="email")
    project = {"id": 2, "title": "Bob's project", "email": "bob@example.org"}

    assert _only([flaw], _own_facts("GET /api/projects/{id}", project)) == flaw


def test_own_data_stays_quiet_when_anonymous_requests_get_the_same_answer() -> None:
    flaw = _finding(EMAIL, "GET /api/me", L, parameter="email")
    me = {"id": 2, "email": "alice@example.org"}

    facts = ScanFacts(
        authenticated={"GET /api/me": _answer(me)},
        anonymous={"GET /api/me": _answer(me)},
        callers=(ALICE,),
    )

    assert _only([flaw], facts) == flaw


# --- caused by the scan (class 9) ---------------------------------------------------------


def _after_writes(flaw: Finding, *, raised_at: float, reconfirmed: bool = False) -> ScanFacts:
    return ScanFacts(
        writes=(10.0, 11.0),
        raised={flaw.fingerprint: raised_at},
        reconfirmed=frozenset({flaw.fingerprint}) if reconfirmed else frozenset(),
    )


def _server_error() -> Finding:
    return _finding(
        "input_validation.type-confusion",
        "GET /items/{id}",
        M,
        parameter="id",
        evidence=(_evidence("/items/abc", status=500),),
    )


def test_a_server_error_after_the_scans_writes_is_dropped_unless_reconfirmed() -> None:
    flaw = _server_error()

    result = filter_findings([flaw], _after_writes(flaw, raised_at=12.0))

    assert result.findings == []
    assert result.dropped == [
        "input_validation.type-confusion on GET /items/{id}: a server error seen after the "
        "scan's own writes that could not be re-confirmed once they were undone"
    ]


def test_a_server_error_after_the_scans_writes_is_kept_when_it_fails_again() -> None:
    flaw = _server_error()

    kept = _only([flaw], _after_writes(flaw, raised_at=12.0, reconfirmed=True))

    assert kept.severity is M
    assert "sent again fresh once they were undone, GET http://127.0.0.1:8000/items/abc" in (
        kept.detail
    )


def test_a_server_error_before_any_write_stays_as_the_check_made_it() -> None:
    flaw = _server_error()

    assert _only([flaw], _after_writes(flaw, raised_at=9.0)) == flaw


def test_a_finding_after_writes_that_rests_on_no_server_error_stays() -> None:
    flaw = _finding(EMAIL, "GET /users", L, parameter="email", evidence=(_evidence("/users"),))

    assert _only([flaw], _after_writes(flaw, raised_at=12.0)) == flaw


# --- root causes (class 8) ----------------------------------------------------------------


def test_alg_none_and_a_tampered_signature_are_one_root_cause() -> None:
    tampered = _finding(
        "authentication.jwt-tampered-signature", "*", C, evidence=(_evidence("/me"),)
    )
    none = _finding("authentication.jwt-alg-none", "*", C, confidence=CONFIRMED)

    [kept] = filter_findings([none, tampered]).findings

    assert kept.type_id == "authentication.jwt-tampered-signature"
    assert kept.confidence is CONFIRMED
    assert kept.occurrences == (
        Occurrence(type_id="authentication.jwt-alg-none", operation="*", severity=C),
    )
    assert (
        "[one root cause (jwt-signature-not-verified): also authentication.jwt-alg-none on *]"
        in (kept.detail)
    )


def test_key_header_forgeries_fold_into_a_tampered_signature() -> None:
    # A verifier that checks no signature passes every forged kid/jku/alg token too.
    tampered = _finding(
        "authentication.jwt-tampered-signature", "*", C, evidence=(_evidence("/me"),)
    )
    kid = _finding("authentication.jwt-kid-injection", "*", C)
    jku = _finding("authentication.jwt-jku-injection", "*", C)

    [kept] = filter_findings([kid, tampered, jku]).findings

    assert kept.type_id == "authentication.jwt-tampered-signature"
    assert {o.type_id for o in kept.occurrences} == {
        "authentication.jwt-kid-injection",
        "authentication.jwt-jku-injection",
    }
    assert "jwt-signature-not-verified-key-headers" in kept.detail


def test_kid_injection_without_a_tampered_signature_stays_its_own_finding() -> None:
    kid = _finding("authentication.jwt-kid-injection", "*", C)

    assert filter_findings([kid]).findings == [kid]


def test_alg_none_alone_stays_its_own_finding() -> None:
    none = _finding("authentication.jwt-alg-none", "*", C)

    assert filter_findings([none]).findings == [none]


def test_debug_mode_absorbs_its_debug_pages_and_the_debugger_path() -> None:
    debug = _finding("input_validation.debug-mode", "*", C, evidence=(_evidence("/console"),))
    page = _finding("data_exposure.debug-page", "GET /items/{id}", M)
    console = _finding(
        "bfla.admin-path-exposed", "GET /console", M, evidence=(_evidence("/console/"),)
    )
    admin = _finding("bfla.admin-path-exposed", "GET /admin", M, evidence=(_evidence("/admin"),))

    kept = filter_findings([debug, page, console, admin]).findings

    assert [f.type_id for f in kept] == ["input_validation.debug-mode", "bfla.admin-path-exposed"]
    assert {o.operation for o in kept[0].occurrences} == {"GET /items/{id}", "GET /console"}
    assert kept[1] == admin


def test_one_field_on_several_operations_is_one_finding_listing_them() -> None:
    a = _finding(EMAIL, "GET /users", L, parameter="email", evidence=(_evidence("/users"),))
    b = _finding(EMAIL, "GET /users/{id}", L, parameter="email", evidence=(_evidence("/users/1"),))
    c = _finding(EMAIL, "GET /teams", L, parameter="email", evidence=(_evidence("/teams"),))

    [kept] = filter_findings([c, a, b]).findings

    assert kept.operations() == (
        kept.operation,
        *sorted({"GET /users", "GET /users/{id}", "GET /teams"} - {kept.operation}),
    )
    assert len(kept.evidence) == 3
    assert "one root cause (response-field): also" in kept.detail


def test_different_fields_stay_different_findings() -> None:
    a = _finding(EMAIL, "GET /users", L, parameter="email")
    b = _finding(EMAIL, "GET /teams", L, parameter="contact")

    assert len(filter_findings([a, b]).findings) == 2


def test_own_data_demotes_the_callers_own_admin_flag() -> None:
    flaw = _finding(
        "property_authorization.sensitive-property",
        "GET /api/me",
        M,
        evidence=(_evidence("/api/me", match='"is_staff"'),),
    )
    me = {"id": 2, "username": "alice", "is_staff": True}

    assert _only([flaw], _own_facts("GET /api/me", me)).severity is INFO


def test_own_data_keeps_the_callers_own_password_hash_at_medium() -> None:
    flaw = _finding(
        "property_authorization.sensitive-property",
        "GET /api/me",
        H,
        evidence=(_evidence("/api/me", match='"password"'),),
    )
    me = {"id": 2, "username": "alice", "password": "$2b$12$" + "a" * 53}

    kept = _only([flaw], _own_facts("GET /api/me", me))

    assert kept.severity is M
    assert "a password hash or secret even its owner should not read back" in kept.detail


def test_own_data_reads_a_records_id_that_is_the_callers_name_as_its_own() -> None:
    # Kinto's accounts: the account's id is its user name
    flaw = _finding(
        "property_authorization.sensitive-property",
        "GET /accounts",
        H,
        evidence=(_evidence("/accounts", match='"password"'),),
    )
    accounts = {"data": [{"id": "alice", "password": "$2b$12$" + "a" * 53}]}

    kept = _only([flaw], _own_facts("GET /accounts", accounts))

    assert kept.severity is M
    assert "the record's own `id` is its user name" in kept.detail


def test_own_data_keeps_another_users_password_hash_high() -> None:
    flaw = _finding(
        "property_authorization.sensitive-property",
        "GET /api/users",
        H,
        evidence=(_evidence("/api/users", match='"password"'),),
    )
    users = [{"id": 2, "username": "alice", "password": "$2b$12$" + "a" * 53}]
    users.append({"id": 3, "username": "bob", "password": "$2b$12$" + "b" * 53})

    assert _only([flaw], _own_facts("GET /api/users", users)) == flaw


def _token_facts(token: str) -> ScanFacts:
    alice = Caller("alice", frozenset({"2"}), secrets=frozenset({"f00dcafe-alice-token"}))
    return ScanFacts(
        authenticated={"GET /api/current-user/token": _answer({"token": token})},
        anonymous={"GET /api/current-user/token": _answer({"detail": "no"}, 401)},
        callers=(alice,),
    )


def test_own_data_demotes_the_token_returned_to_the_identity_that_holds_it() -> None:
    flaw = _finding(
        "property_authorization.undeclared-property",
        "GET /api/current-user/token",
        L,
        evidence=(_evidence("/api/current-user/token", match='"token"'),),
    )

    kept = _only([flaw], _token_facts("f00dcafe-alice-token"))

    assert kept.severity is INFO
    assert "`token` is the credential it was given" in kept.detail
    assert "f00dcafe" not in kept.detail


def test_own_data_keeps_a_token_that_is_not_the_callers() -> None:
    flaw = _finding(
        "data_exposure.secret-token",
        "GET /api/current-user/token",
        H,
        parameter="token",
    )

    assert _only([flaw], _token_facts("deadbeef-someone-else")) == flaw


def test_own_data_keeps_a_secret_inside_a_record_the_caller_owns() -> None:
    flaw = _finding("data_exposure.secret-token", "GET /items/{id}", C, parameter="api_key")
    item = {"id": 7, "owner_id": "2", "api_key": "sk_live_" + "4" * 24}

    assert _only([flaw], _own_facts("GET /items/{id}", item)) == flaw


def test_cross_identity_and_adjacent_id_on_one_operation_are_one_root_cause() -> None:
    cross = _finding("bola.cross-identity-access", "GET /orders/{id}", C, confidence=CONFIRMED)
    adjacent = _finding("bola.adjacent-id-access", "GET /orders/{id}", H, parameter="id")
    elsewhere = _finding("bola.adjacent-id-access", "GET /invoices/{id}", H, parameter="id")

    kept = filter_findings([adjacent, elsewhere, cross]).findings

    assert [(f.type_id, f.operation) for f in kept] == [
        ("bola.cross-identity-access", "GET /orders/{id}"),
        ("bola.adjacent-id-access", "GET /invoices/{id}"),
    ]
    assert kept[0].occurrences == (
        Occurrence(
            type_id="bola.adjacent-id-access",
            operation="GET /orders/{id}",
            parameter="id",
            severity=H,
        ),
    )


def test_own_data_opens_the_lone_wrapper_of_a_me_answer() -> None:
    flaw = _finding(EMAIL, "GET /api/me", L, parameter="email")
    me = {"result": {"id": 2, "username": "alice", "email": "alice@example.org"}}

    assert _only([flaw], _own_facts("GET /api/me", me)).severity is INFO


def test_own_data_keeps_a_wrapped_list_of_other_users_on_the_me_operation() -> None:
    flaw = _finding(EMAIL, "GET /api/me", L, parameter="email")
    me = {"result": {"me": {"email": "alice@example.org"}, "team": [{"email": "bob@example.org"}]}}

    assert _only([flaw], _own_facts("GET /api/me", me)) == flaw


def test_every_root_cause_names_catalogue_types_and_says_why() -> None:
    causes = root_causes()

    assert {c.id for c in causes} >= {"jwt-signature-not-verified", "response-field"}
    for cause in causes:
        named = [t for t in (cause.keep, *cause.fold, *cause.types) if t]
        assert named and all(t in catalogue() for t in named), cause.id


def test_a_root_cause_of_the_wrong_shape_fails_at_load() -> None:
    with pytest.raises(ValidationError, match="takes `keep` and `fold`"):
        RootCause.model_validate(
            {"id": "x-y", "where": "operation", "types": [EMAIL], "why": "a reason long enough"}
        )


def test_own_data_never_reads_a_role_value_as_the_callers_name() -> None:
    # The scanning user is called "admin"; a record's role "admin" is not the caller.
    flaw = _finding(
        "bfla.role-field-leaked",
        "GET /api/members",
        M,
        evidence=(_evidence("/api/members", match="role"),),
    )
    admin = Caller("admin", frozenset({"1", "admin"}))
    members = [{"id": 5, "name": "Eve", "role": "admin"}]
    facts = ScanFacts(
        authenticated={"GET /api/members": _answer(members)},
        anonymous={"GET /api/members": _answer({"detail": "no"}, 401)},
        callers=(admin,),
    )

    assert _only([flaw], facts) == flaw


def test_an_echo_more_severe_than_the_kept_finding_is_not_folded_into_it() -> None:
    shared = _finding("bola.cross-identity-access", "GET /orders/{id}", INFO)
    adjacent = _finding("bola.adjacent-id-access", "GET /orders/{id}", H, parameter="id")

    kept = filter_findings([adjacent, shared]).findings

    assert sorted((f.type_id, f.severity) for f in kept) == [
        ("bola.adjacent-id-access", H),
        ("bola.cross-identity-access", INFO),
    ]
    assert all(not f.occurrences for f in kept)


# --- the caller's own group (class 3) --------------------------------------------------------

ORG_TOKEN = "nMfC6XbXgVzmni1Ev5FeUYYk9ZzWAHag"


def _group_facts(active_organization: int) -> ScanFacts:
    whoami = {"id": 2, "username": "alice", "active_organization": active_organization}
    org = {"id": 1, "title": "Label team", "token": ORG_TOKEN}
    return ScanFacts(
        authenticated={"GET /api/me": _answer(whoami), "GET /api/organizations/{id}": _answer(org)},
        anonymous={"GET /api/organizations/{id}": _answer({"detail": "no"}, 401)},
        callers=(ALICE,),
    )


def _org_token_finding() -> Finding:
    return _finding(
        "property_authorization.sensitive-property",
        "GET /api/organizations/{id}",
        H,
        evidence=(_evidence("/api/organizations/1", match='"token"'),),
    )


def test_own_group_keeps_a_secret_shaped_field_of_the_callers_own_organization_at_info() -> None:
    kept = _only([_org_token_finding()], _group_facts(active_organization=1))

    assert kept.severity is INFO
    assert "caller's own organization (`active_organization` = 1" in kept.detail


def test_own_group_keeps_the_finding_on_another_organization() -> None:
    flaw = _org_token_finding()

    assert _only([flaw], _group_facts(active_organization=7)) == flaw
