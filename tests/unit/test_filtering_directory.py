"""Member directories and role words in content (issue 21, classes 2, 3, 7): fires / quiet."""

from __future__ import annotations

import json
from typing import Any

from middlebrick.filtering import Answer, Caller, ScanFacts, filter_findings
from middlebrick.findings import (
    Confidence,
    Evidence,
    Finding,
    RecordedRequest,
    Severity,
    fingerprint,
)

ALICE = Caller("alice", frozenset({"2", "alice", "alice@example.org"}), me="GET /api/me")
PHONE = "data_exposure.phone-number"
ROLE = "bfla.role-field-leaked"
REFUSED = Answer(401, b'{"detail": "Authentication credentials were not provided."}')


def _finding(type_id: str, operation: str, severity: Severity, match: str) -> Finding:
    url = "http://127.0.0.1:8000" + operation.split(" ")[1]
    return Finding(
        type_id=type_id,
        category=type_id.split(".")[0],
        title="title",
        severity=severity,
        confidence=Confidence.firm,
        operation=operation,
        parameter=match,
        detail="what the check saw",
        evidence=(
            Evidence(
                request=RecordedRequest(method="GET", url=url), curl="curl", status=200, match=match
            ),
        ),
        fingerprint=fingerprint(type_id, operation, match),
    )


def _facts(op: str, body: Any, anonymous: Answer | None = REFUSED) -> ScanFacts:
    return ScanFacts(
        authenticated={op: Answer(200, json.dumps(body).encode())},
        anonymous={} if anonymous is None else {op: anonymous},
        callers=(ALICE,),
    )


def _members(org_of_bob: int = 1) -> dict[str, Any]:
    return {
        "results": [
            {"id": 2, "username": "alice", "phone": "+14155550101", "role": "admin", "org": 1},
            {"id": 3, "username": "bob", "phone": "+14155550102", "role": "member"}
            | {"org": org_of_bob},
        ]
    }


def _only(finding: Finding, facts: ScanFacts) -> Finding:
    [kept] = filter_findings([finding], facts).findings
    return kept


def test_fellow_members_listed_to_a_member_of_the_same_group_are_a_directory() -> None:
    phone = _finding(PHONE, "GET /api/users", Severity.low, "phone")

    kept = _only(phone, _facts("GET /api/users", _members()))

    assert kept.severity is Severity.info
    assert "a directory of fellow members: 2 user records, alice's own among them" in kept.detail
    assert "(`org` = 1)" in kept.detail


def test_a_directory_whose_path_names_one_group_needs_no_group_field() -> None:
    body = [{"login": "alice", "phone": "+14155550101"}, {"login": "bob", "phone": "+14155550102"}]
    phone = _finding(PHONE, "GET /orgs/{org}/members", Severity.low, "phone")

    kept = _only(phone, _facts("GET /orgs/{org}/members", body))

    assert kept.severity is Severity.info
    assert "listed under one group (`/orgs/{org}`)" in kept.detail


def test_users_of_another_group_in_the_list_are_no_directory() -> None:
    phone = _finding(PHONE, "GET /api/users", Severity.low, "phone")

    assert _only(phone, _facts("GET /api/users", _members(org_of_bob=9))) == phone


def test_a_list_without_the_callers_own_record_is_no_directory() -> None:
    others = {"results": [{"username": "bob", "org": 1}, {"username": "carol", "org": 1}]}
    phone = _finding(PHONE, "GET /api/users", Severity.low, "phone")

    assert _only(phone, _facts("GET /api/users", others)) == phone


def test_a_directory_anyone_may_read_is_left_to_the_public_and_auth_rules() -> None:
    phone = _finding(PHONE, "GET /api/users", Severity.low, "phone")
    same = Answer(200, json.dumps(_members()).encode())

    assert _only(phone, _facts("GET /api/users", _members(), anonymous=same)) == phone


def test_a_directory_that_shows_what_is_private_by_nature_stays() -> None:
    phone = _finding(PHONE, "GET /api/users", Severity.low, "phone")
    ssn = _finding("data_exposure.ssn", "GET /api/users", Severity.high, "ssn")

    kept = filter_findings([phone, ssn], _facts("GET /api/users", _members())).findings

    listed = next(f for f in kept if f.type_id == PHONE)
    assert listed.severity is Severity.low
    assert "a directory, but it shows what is private by nature (data_exposure.ssn)" in (
        listed.detail
    )


def test_a_role_word_in_content_is_no_privilege() -> None:
    credits = {"cast": [{"name": "Ann Lee", "role": "Director"}, {"name": "Bo", "role": "Gaffer"}]}
    role = _finding(ROLE, "GET /films/{id}", Severity.medium, "cast[].role")

    kept = _only(role, _facts("GET /films/{id}", credits))

    assert kept.severity is Severity.info
    assert "a word of content: the 2 record(s) holding `role` name no user" in kept.detail
    assert "(Director, Gaffer)" in kept.detail


def test_a_role_field_naming_a_privilege_stays() -> None:
    staff = {"staff": [{"name": "Ann Lee", "role": "admin"}, {"name": "Bo", "role": "viewer"}]}
    role = _finding(ROLE, "GET /staff", Severity.medium, "staff[].role")

    assert _only(role, _facts("GET /staff", staff)) == role


def test_a_role_field_of_user_records_stays() -> None:
    users = {"users": [{"username": "bob", "role": "Director"}, {"username": "eve", "role": "x"}]}
    role = _finding(ROLE, "GET /users", Severity.medium, "users[].role")

    assert _only(role, _facts("GET /users", users)) == role
