"""BFLA checks on recorded exchanges: admin paths, role fields, and privileged writes (active)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from pydantic import ValidationError

from middlebrick.checks.bfla.core import is_debug_path
from middlebrick.checks.registry import load_all
from middlebrick.config import Credential, ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.knowledge import admin_paths as admin_path_list
from middlebrick.knowledge.models import AdminPaths
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import (
    BASE,
    FakeSender,
    exchange,
    make_baseline,
    response,
    run_check,
    two_users,
)
from middlebrick.tokens import b64url

ADMIN_PATHS = "bfla.admin_paths"
ROLE_FIELDS = "bfla.role_fields"
PRIVILEGED = "bfla.privileged_methods"
USERS = {"alice": "u-alice", "bob": "u-bob", "dave": "u-dave"}
ROLES = {"alice": "user", "bob": "user", "dave": "admin"}
ROOT = exchange("GET", "/", response(200, {"service": "members"}))
DIRECTORY = {"users": [{"id": "u-alice", "role": "user"}, {"id": "u-dave", "role": "admin"}]}


def _token(name: str, **claims: Any) -> str:
    head = b64url(json.dumps({"alg": "HS256"}).encode())
    body = {"sub": USERS[name], "role": ROLES[name], **claims}
    return f"{head}.{b64url(json.dumps(body).encode())}.c2ln"


def _scan(*names: str, **claims: Any) -> ScanRequest:
    return ScanRequest(
        target=BASE,
        mode="active",
        identities={
            name: Credential(headers=(("Authorization", f"Bearer {_token(name, **claims)}"),))
            for name in names
        },
    )


def _identities(*names: str) -> Identities:
    people = [Identity(name, True, frozenset({USERS[name], name})) for name in names]
    return Identities(primary=people[0], others=tuple(people[1:]))


def _ids(found: list[Finding]) -> set[tuple[str, str]]:
    return {(f.type_id, f.operation) for f in found}


# --- admin_paths -----------------------------------------------------------------------------


def _admin_api(
    *, anonymous: bool = False, for_admins_only: bool = False
) -> Callable[[Request], Response]:
    """/admin answers the directory (to whom depends on the flags); other paths 404."""

    def answer(request: Request) -> Response:
        if request.identity == "anonymous" and not anonymous:
            return response(401, {"error": "authentication required"})
        if for_admins_only and request.identity not in (None, "dave"):
            return response(403, {"error": "forbidden"})
        return response(200, DIRECTORY, url=request.url)

    return answer


async def _admin_run(
    answer: Callable[[Request], Response],
    *,
    names: tuple[str, ...] = ("alice", "bob"),
    catch_all: bool = False,
    pairs: list[tuple[Operation, Exchange]] | None = None,
) -> tuple[list[Finding], FakeSender]:
    sender = FakeSender({("GET", "/admin"): answer})
    if catch_all:
        sender = FakeSender()
        sender.send = _catch_all(sender)  # type: ignore[method-assign]
    baseline = make_baseline(pairs or [], root=ROOT)
    found = await run_check(
        ADMIN_PATHS,
        baseline=baseline,
        sender=sender,
        scan=_scan(*names),
        identities=_identities(*names),
    )
    return found, sender


def _catch_all(sender: FakeSender) -> Callable[..., Any]:
    async def send(request: Request, *, follow_redirects: bool = True) -> Exchange:
        sender.sent.append(request)
        return Exchange(request, response(200, {"page": "app", "ok": True}, url=request.url))

    return send


async def test_admin_paths_reports_an_admin_directory_an_ordinary_user_reaches():
    found, sender = await _admin_run(_admin_api())

    assert _ids(found) == {("bfla.admin-path-exposed", "GET /admin")}
    finding = found[0]
    assert finding.confidence is Confidence.firm and finding.severity is Severity.high
    assert "alice (its token says role='user')" in finding.detail
    assert [e.label for e in finding.evidence] == ["as alice", "anonymous", "control"]
    paths = [r.url.removeprefix(BASE) for r in sender.sent]
    assert len(paths) == len(admin_path_list().paths) + 2  # every path, the control, anonymous


async def test_admin_paths_reports_critical_when_anonymous_callers_reach_it():
    found, _ = await _admin_run(_admin_api(anonymous=True))

    assert found[0].severity is Severity.critical
    assert found[0].confidence is Confidence.confirmed
    assert "without credentials" in found[0].detail


async def test_admin_paths_stays_quiet_when_every_path_answers_the_same_catch_all():
    found, _ = await _admin_run(_admin_api(), catch_all=True)

    assert found == []


@pytest.mark.parametrize(
    "answer",
    [
        response(403, {"error": "forbidden"}),
        response(200, "<html><form action='/login'><input type='password'></form></html>"),
        response(200, {"detail": "Authentication credentials were not provided."}),
        response(200, {}),
        response(200, {"status": "ok"}),
        response(200, "<!doctype html><html><head><title>Shop</title></head></html>"),
    ],
    ids=["forbidden", "login-page", "denial-text", "empty-json", "tiny-status", "spa-shell"],
)
async def test_admin_paths_stays_quiet_when_the_answer_holds_no_admin_content(answer: Response):
    found, _ = await _admin_run(lambda request: replace(answer, url=request.url))

    assert found == []


async def test_admin_paths_stays_quiet_when_only_the_administrator_gets_in():
    found, sender = await _admin_run(
        _admin_api(for_admins_only=True), names=("dave", "alice", "bob")
    )

    assert found == []
    assert any(r.identity == "alice" and r.url.endswith("/admin") for r in sender.sent)


async def test_admin_paths_reports_when_an_ordinary_user_reaches_what_the_admin_sees():
    found, _ = await _admin_run(_admin_api(), names=("dave", "alice"))

    assert _ids(found) == {("bfla.admin-path-exposed", "GET /admin")}
    assert "alice (its token says role='user')" in found[0].detail


async def test_admin_paths_is_info_when_no_identitys_rights_are_known():
    opaque = ScanRequest(
        target=BASE,
        identities={"alice": Credential(headers=(("Authorization", "Bearer opaque-t0ken"),))},
    )
    sender = FakeSender({("GET", "/admin"): _admin_api()})

    found = await run_check(
        ADMIN_PATHS,
        baseline=make_baseline([], root=ROOT),
        sender=sender,
        scan=opaque,
        identities=_identities("alice"),
    )

    assert [(f.confidence, f.severity) for f in found] == [(Confidence.tentative, Severity.info)]
    assert "could not be assessed" in found[0].detail
    assert "cannot tell" in found[0].detail


async def test_admin_paths_judges_a_listed_admin_operation_from_its_baseline():
    stats = Operation(method="GET", path="/admin/stats")
    stats_answer = response(
        200, {"users": 4, "orders": 10, "revenue": 1234.5}, url=f"{BASE}/admin/stats"
    )
    listed = exchange("GET", "/admin/stats", stats_answer, operation=stats.key)

    found, sender = await _admin_run(_admin_api(), pairs=[(stats, listed)])

    assert ("bfla.admin-path-exposed", "GET /admin/stats") in _ids(found)
    assert not any(r.url.endswith("/admin/stats") and r.identity is None for r in sender.sent)


@pytest.mark.parametrize(
    "paths", [("/admin",), ("admin", "admin"), ("a/b/c/d",), ("admin?x=1",)], ids=str
)
def test_admin_path_list_refuses_paths_that_are_not_relative_segments(paths: tuple[str, ...]):
    routes = [{"path": path, "source": "a framework's documented default"} for path in paths]
    with pytest.raises(ValidationError):
        AdminPaths.model_validate({"routes": routes, "page_words": ["admin"]})


def test_admin_path_list_in_the_package_validates_and_cites_a_source_for_each_route():
    known = admin_path_list()
    assert "admin" in known.paths
    assert all(len(route.source) > 20 for route in known.routes)
    assert len(known.paths) <= 40


PHPINFO = (
    "<!DOCTYPE html><html><head><title>PHP 8.2.7 - phpinfo()</title></head><body>"
    "<table><tr><td>System</td><td>Linux web-1 6.1.0</td></tr>"
    "<tr><td>DOCUMENT_ROOT</td><td>/var/www/html</td></tr></table></body></html>"
)
STATUS = (
    "<html><head><title>Apache Status</title></head><body><h1>Apache Server Status for "
    "api.example.org</h1><dl><dt>Server uptime: 3 days</dt></dl><table><tr><td>10.0.0.7</td>"
    "<td>GET /v1/accounts?token=...</td></tr></table></body></html>"
)
ENV = {
    "activeProfiles": ["prod"],
    "propertySources": [{"name": "systemEnvironment", "properties": {"DB_HOST": {"value": "db"}}}],
}
HTML_TYPE = {"Content-Type": "text/html; charset=utf-8"}


DEBUG_DUMP = {"os_info": {"system": "Linux"}, "env_vars": {"PWD": "/srv/app", "HOME": "/root"}}


@pytest.mark.parametrize(
    ("path", "answer", "type_id"),
    [
        ("/phpinfo.php", response(200, PHPINFO, HTML_TYPE), "bfla.debug-path-exposed"),
        ("/debug", response(200, DEBUG_DUMP), "bfla.debug-path-exposed"),
        ("/server-status", response(200, STATUS, HTML_TYPE), "bfla.admin-path-exposed"),
        ("/actuator/env", response(200, ENV), "bfla.admin-path-exposed"),
    ],
    ids=["phpinfo", "debug", "mod_status", "actuator-env"],
)
async def test_admin_paths_reports_a_hidden_debug_or_status_route_anyone_reaches(
    path: str, answer: Response, type_id: str
):
    def anyone(request: Request) -> Response:
        return replace(answer, url=request.url)

    sender = FakeSender({("GET", path): anyone})
    found = await run_check(ADMIN_PATHS, baseline=make_baseline([], root=ROOT), sender=sender)

    assert _ids(found) == {(type_id, f"GET {path}")}  # a debug route is typed as one
    assert "without credentials" in found[0].detail
    assert found[0].severity is Severity.high  # the same for both types (no credentials)


@pytest.mark.parametrize(
    ("path", "debug"),
    [
        ("/debug", True),
        ("/debug/pprof", True),
        ("/api/debug/env", True),
        ("/console", True),
        ("/_profiler", True),
        ("/admin", False),
        ("/admin/console", False),  # under the admin folder: an admin console
        ("/actuator/env", False),
        ("/server-status", False),
        ("/users/v1/_debug", False),
    ],
)
def test_debug_routes_are_told_from_admin_ones(path: str, debug: bool) -> None:
    assert is_debug_path(path) is debug


async def test_admin_paths_stays_quiet_when_hidden_routes_are_not_deployed():
    sender = FakeSender()  # every path: 404

    found = await run_check(ADMIN_PATHS, baseline=make_baseline([], root=ROOT), sender=sender)

    assert found == []
    asked = {r.url.removeprefix(BASE) for r in sender.sent}
    assert {"/phpinfo.php", "/server-status", "/actuator/env", "/elmah.axd"} <= asked


async def test_admin_paths_stays_quiet_when_a_spa_answers_every_hidden_route_with_its_shell():
    shell = "<!doctype html><html><head><title>Acme Admin</title></head><div id=root></div></html>"
    sender = FakeSender()

    async def send(request: Request, *, follow_redirects: bool = True) -> Exchange:
        sender.sent.append(request)
        return Exchange(request, response(200, shell, HTML_TYPE, url=request.url))

    sender.send = send  # type: ignore[method-assign]
    found = await run_check(ADMIN_PATHS, baseline=make_baseline([], root=ROOT), sender=sender)

    assert found == []


# --- role_fields -----------------------------------------------------------------------------


async def _roles(body: Any, path: str = "/users/me") -> list[Finding]:
    operation = Operation(method="GET", path=path)
    pair = (operation, exchange("GET", path, response(200, body), operation=operation.key))
    return await run_check(ROLE_FIELDS, baseline=make_baseline([pair]))


async def test_role_fields_reports_role_and_is_admin_of_the_callers_record():
    found = await _roles({"user_id": "u-alice", "role": "user", "is_admin": False})

    assert _ids(found) == {("bfla.role-field-leaked", "GET /users/me")}
    assert found[0].severity is Severity.low
    assert "`role` ('user')" in found[0].detail and "`is_admin` (false)" in found[0].detail


async def test_role_fields_is_info_on_the_caller_s_own_record():
    operation = Operation(method="GET", path="/whoami")
    body = {"id": 2, "email": "alice@x", "role": "user", "is_admin": False}
    pair = (operation, exchange("GET", "/whoami", response(200, body), operation=operation.key))

    found = await run_check(
        ROLE_FIELDS,
        baseline=make_baseline([pair]),
        identities=two_users(primary_ids=("2", "alice@x"), other_ids=("3", "bob@x")),
    )

    assert [(f.type_id, f.severity) for f in found] == [("bfla.role-field-leaked", Severity.info)]
    assert "the caller's own record" in found[0].detail


async def test_role_fields_reports_a_directory_of_roles_as_medium():
    found = await _roles(DIRECTORY, path="/users")

    assert found[0].severity is Severity.medium
    assert "in 2 record(s)" in found[0].detail


async def test_role_fields_reports_role_records_of_a_user():
    found = await _roles({"username": "alice", "roles": [{"id": 1, "name": "Admin"}]})

    assert _ids(found) == {("bfla.role-field-leaked", "GET /users/me")}
    assert "`roles`" in found[0].detail


async def test_role_fields_reads_dynamodb_wire_format():
    found = await _roles({"Item": {"id": {"S": "u-1"}, "is_admin": {"BOOL": True}}})

    assert "`Item.is_admin` (true)" in found[0].detail


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "assistant", "content": "hello"}]},
        {"products": [{"name": "kit", "groups": ["garden"]}]},
        {"user_id": "u-alice", "name": "Alice", "admin": "Dave Smith"},
        {"user_id": "u-alice", "role": None},
        {"storage": True, "permission": True, "cache": True},
        {"actions": [{"id": "delete_tasks", "permission": "tasks.delete"}]},
        {"add_columns": ["name"], "permissions": ["can_read", "can_write"]},
        {"filters": {"roles": ["{'name': 'RelatedManyToManyFilter', 'operator': 'rel_m_m'}"]}},
        {"filters": {"roles": [{"name": "RelatedManyToManyFilter", "operator": "rel_m_m"}]}},
    ],
    ids=[
        "chat-role",
        "product-groups",
        "admin-name",
        "null-role",
        "health-boolean",
        "action-catalogue",
        "caller-rights-on-a-resource-type",
        "filter-description",
        "filter-objects",
    ],
)
async def test_role_fields_stays_quiet_when_no_authorization_attribute_is_shown(body: Any):
    assert await _roles(body) == []


# --- privileged_methods (active) ---------------------------------------------------------------

MEMBER = Operation(
    method="GET",
    path="/members/{member_id}",
    parameters=(Parameter("member_id", "path", required=True),),
)
MEMBERS = Operation(method="GET", path="/members")
PATCH = Operation(
    method="PATCH",
    path="/members/{member_id}",
    parameters=(Parameter("member_id", "path", required=True),),
    request_body=RequestBody(
        "application/json",
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": {"type": "string", "enum": ["active", "away"]},
                "role": {"type": "string"},
            },
        },
    ),
)


class _Members:
    """A member store whose PATCH checks (or not) who may change whom."""

    def __init__(self, *, checks_owner: bool) -> None:
        self.checks_owner = checks_owner
        self.rows = {
            "1": {"member_id": 1, "user_id": "u-alice", "role": "user", "status": "active"},
            "2": {"member_id": 2, "user_id": "u-bob", "role": "user", "status": "active"},
        }

    def answer(self, request: Request) -> Response:
        number = request.url.rsplit("/", 1)[-1]
        row = self.rows.get(number)
        caller = {None: "u-alice", "alice": "u-alice", "bob": "u-bob"}[request.identity]
        if row is None or (self.checks_owner and row["user_id"] != caller):
            return response(404, {"error": "not found"})
        if request.method == "PATCH":
            row.update(json.loads(request.body or b"{}"))
        return response(200, row)


async def _privileged(store: _Members, *names: str) -> tuple[list[Finding], FakeSender]:
    routes = {(m, f"/members/{n}"): store.answer for m in ("GET", "PATCH") for n in ("1", "2")}
    sender = FakeSender(routes)
    pairs = [
        (
            MEMBERS,
            exchange("GET", "/members", response(200, {"members": list(store.rows.values())})),
        ),
        (MEMBER, exchange("GET", "/members/1", response(200, dict(store.rows["1"])))),
    ]
    baseline = make_baseline(pairs)
    surface = Surface(base_url=BASE, operations=(MEMBERS, MEMBER, PATCH))
    found = await run_check(
        PRIVILEGED,
        baseline=baseline,
        sender=sender,
        scan=_scan(*names),
        surface=surface,
        identities=_identities(*names),
    )
    return found, sender


async def test_privileged_methods_reports_a_user_changing_another_members_record():
    store = _Members(checks_owner=False)

    found, sender = await _privileged(store, "alice", "bob")

    assert _ids(found) == {("bfla.privileged-method-allowed", "PATCH /members/{member_id}")}
    finding = found[0]
    assert finding.confidence is Confidence.confirmed
    assert "the record of identity bob" in finding.detail
    assert "'active' to 'away'" in finding.detail and "written back" in finding.detail
    writes = [json.loads(r.body or b"") for r in sender.sent if r.method == "PATCH"]
    assert writes == [{"status": "away"}, {"status": "active"}]  # never the role
    assert store.rows["2"]["status"] == "active"  # restored


async def test_privileged_methods_stays_quiet_when_the_api_refuses_other_members():
    store = _Members(checks_owner=True)

    found, sender = await _privileged(store, "alice", "bob")

    assert found == []
    assert not any(r.method == "PATCH" for r in sender.sent)


async def test_privileged_methods_sends_nothing_without_an_identity_known_as_ordinary():
    store = _Members(checks_owner=False)

    found, sender = await _privileged(store, "dave")

    assert found == [] and sender.sent == []


def test_privileged_methods_is_an_active_check():
    assert load_all()[PRIVILEGED].mode == "active"
