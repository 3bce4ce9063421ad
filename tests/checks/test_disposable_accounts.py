"""Disposable identities the scan registers: mass assignment on registration, another user's
password changed, and the safety rule that no registration is sent it cannot undo (active)."""

from __future__ import annotations

import dataclasses
import json
import secrets
from types import SimpleNamespace
from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence
from middlebrick.http.exchange import ANONYMOUS, Exchange, Request, Response
from middlebrick.http.journal import Journal
from middlebrick.http.policy import Policy
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, make_baseline, response, run_check

ALICE = Identities(primary=Identity("alice", True, frozenset({"u-alice"})))


def _body(*names: str) -> RequestBody:
    return RequestBody(
        "application/json",
        {"type": "object", "properties": {name: {"type": "string"} for name in names}},
    )


def _surface(*, deletable: bool = True, key: str = "username", by_id: bool = False) -> Surface:
    """VAmPI-like operations; ``deletable``: a self-service ``DELETE /me``; ``by_id``: a
    ``DELETE /users/v1/{key}`` (usually an administrator's)."""
    password = _body("password")
    one = (Parameter(key, "path", required=True),)
    account = "/users/v1/{" + key + "}"
    ops = [
        Operation(
            "POST", "/users/v1/register", request_body=_body("username", "password", "email")
        ),
        Operation("POST", "/users/v1/login", request_body=_body("username", "password")),
        Operation("GET", "/me"),
        Operation("POST", "/auth/logout"),
        Operation("PUT", account + "/password", parameters=one, request_body=password),
        Operation("PUT", account + "/email", parameters=one, request_body=_body("email")),
    ]
    if deletable:
        ops.append(Operation("DELETE", "/me"))
    if by_id:
        ops.append(Operation("DELETE", account, parameters=one))
    return Surface(BASE, tuple(ops))


class _Users:
    """VAmPI-like accounts: ``admin`` taken from the sign-up body, and any caller changing any
    password, when ``vulnerable``."""

    def __init__(self, *, vulnerable: bool, removable: bool = True) -> None:
        self.vulnerable = vulnerable
        self.removable = removable  # False: DELETE /me answers 204 and deletes nothing
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}  # numeric id -> username

    def caller(self, request: Request) -> str | None:
        auth = request.headers.get("authorization") or ""
        return self.tokens.get(auth.removeprefix("Bearer "))

    def __call__(self, request: Request) -> Response:
        path = request.url.removeprefix(BASE)
        body = json.loads(request.body or b"{}")
        if path == "/users/v1/register":
            if body["username"] in self.users:
                return response(400, {"message": "taken"})
            admin = bool(body.get("admin", False)) if self.vulnerable else False
            self.users[body["username"]] = {**body, "admin": admin}
            number = str(len(self.ids) + 1)
            self.ids[number] = body["username"]
            return response(200, {"message": "registered", "user": {"id": int(number)}})
        if path == "/users/v1/login":
            user = self.users.get(body.get("username"))
            if user is None or user["password"] != body.get("password"):
                return response(401, {"message": "bad"})
            token = secrets.token_hex(16)
            self.tokens[token] = body["username"]
            return response(200, {"auth_token": token})
        caller = self.caller(request)
        if caller is None:
            return response(401, {"message": "no token"})
        if path == "/auth/logout":
            if not self.vulnerable:
                self.tokens = {t: u for t, u in self.tokens.items() if u != caller}
            return response(200, {"message": "logged out"})
        if path == "/me" and request.method == "DELETE":
            if self.removable:
                del self.users[caller]
                self.tokens = {t: u for t, u in self.tokens.items() if u != caller}
            return response(204)
        if path == "/me":
            record = {"username": caller, "admin": self.users[caller]["admin"]}
            return response(200, {"data": record, "status": "success"})  # VAmPI's envelope
        name = self.ids.get(path.split("/")[3], path.split("/")[3])
        if name not in self.users:
            return response(404, {"message": "no user"})
        if path.endswith("/email"):
            if caller != name:
                return response(403, {"message": "not yours"})
            email = str(body.get("email", ""))
            # a backtracking pattern takes 2 ** (run of letters before "!") steps: 1 µs each
            stem = email[:-1] if email.endswith("!") and self.vulnerable else ""
            run = len(stem) - len(stem.rstrip("a"))
            answer = response(204 if "@" in email else 400)
            return dataclasses.replace(answer, elapsed_ms=2.0 + (2**run) / 1000 if run else 2.0)
        if path.endswith("/password"):
            if caller != name and not self.vulnerable:
                return response(403, {"message": "not yours"})
            self.users[name]["password"] = body["password"]
            return response(204)
        return response(401, {"message": "admins only"})  # DELETE /users/v1/{x}: VAmPI's


class _Sender(FakeSender):
    """A fake client with the real safety policy (refused requests are not sent)."""

    def __init__(self, api: _Users, surface: Surface, include: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.api = api
        policy = Policy.of("active", include, (), BASE)
        policy.learn(surface)
        self.scope = SimpleNamespace(policy=policy, allows=lambda method, url: True)
        self.journal = Journal(self._answer, policy)
        self.journal.learn(surface.operations)

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        refusal = self.scope.policy.refusal(
            request.method, request.url, anonymous=request.identity == ANONYMOUS
        )
        if refusal is not None:
            return Exchange(request, None, f"not sent: {refusal}")
        return await super().send(request, follow_redirects=follow_redirects)

    async def _answer(self, request: Request) -> Exchange:
        self.sent.append(request)
        return Exchange(request, self.api(request))


async def _run(check: str, api: _Users, surface: Surface, include: tuple[str, ...] = ()):
    sender = _Sender(api, surface, include)
    found = await run_check(
        check,
        baseline=make_baseline([]),
        sender=sender,
        surface=surface,
        scan=ScanRequest(target=BASE, mode="active"),
        identities=ALICE,
    )
    await sender.journal.undo()
    return found, sender


async def test_registration_mass_assignment_reports_admin_taken_from_the_sign_up():
    api = _Users(vulnerable=True)

    found, sender = await _run(
        "property_authorization.registration_mass_assignment", api, _surface()
    )

    assert [(f.type_id, f.operation, f.confidence) for f in found] == [
        (
            "property_authorization.registration-mass-assignment",
            "POST /users/v1/register",
            Confidence.confirmed,
        )
    ]
    assert "admin=true" in found[0].detail and "has admin=false" in found[0].detail
    assert api.users == {}  # both disposable users deleted by the journal
    assert [r.state for r in sender.journal.results] == ["deleted"] * 3  # the canary first


async def test_registration_mass_assignment_stays_quiet_when_the_server_sets_the_flag():
    api = _Users(vulnerable=False)

    found, _ = await _run("property_authorization.registration_mass_assignment", api, _surface())

    assert found == []
    assert api.users == {}


async def test_other_users_password_reports_a_password_changed_by_another_user():
    api = _Users(vulnerable=True)

    found, sender = await _run("bola.other_users_password", api, _surface())

    assert [(f.type_id, f.operation) for f in found] == [
        ("bola.other-user-password-changed", "PUT /users/v1/{username}/password")
    ]
    assert api.users == {}
    assert all(r.state == "deleted" for r in sender.journal.results)


async def test_other_users_password_stays_quiet_when_only_the_owner_may_change_it():
    api = _Users(vulnerable=False)

    found, _ = await _run("bola.other_users_password", api, _surface())

    assert found == []
    assert api.users == {}


async def test_no_registration_is_sent_when_it_cannot_be_undone_and_is_not_included():
    api = _Users(vulnerable=True)
    surface = _surface(deletable=False)

    for check in (
        "property_authorization.registration_mass_assignment",
        "bola.other_users_password",
    ):
        found, sender = await _run(check, api, surface)
        assert found == []
        assert not [r for r in sender.sent if r.url.endswith("/register")]
    assert api.users == {}


async def test_an_included_registration_is_sent_and_reported_as_not_restored():
    api = _Users(vulnerable=True)
    surface = _surface(deletable=False)

    found, sender = await _run(
        "property_authorization.registration_mass_assignment",
        api,
        surface,
        include=("POST /users/v1/register",),
    )

    assert [f.type_id for f in found] == ["property_authorization.registration-mass-assignment"]
    assert len(api.users) == 2
    assert [r.state for r in sender.journal.results] == ["not_restored", "not_restored"]


async def test_redos_own_account_reports_a_backtracking_email_check_of_the_callers_own():
    api = _Users(vulnerable=True)

    found, sender = await _run("input_validation.redos_own_account", api, _surface())

    assert [(f.type_id, f.operation, f.parameter) for f in found] == [
        ("input_validation.redos", "PUT /users/v1/{username}/email", "body.email")
    ]
    assert api.users == {}
    written = {r.url.split("/")[-2] for r in sender.sent if r.url.endswith("/email")}
    assert len(written) == 1  # only the disposable user's own account


async def test_redos_own_account_stays_quiet_when_the_email_check_is_linear():
    api = _Users(vulnerable=False)

    found, _ = await _run("input_validation.redos_own_account", api, _surface())

    assert found == []
    assert api.users == {}


async def test_logout_not_revoked_reports_a_token_that_still_works_after_logout():
    api = _Users(vulnerable=True)

    found, sender = await _run("authentication.logout_not_revoked", api, _surface())

    assert [(f.type_id, f.operation) for f in found] == [
        ("authentication.logout-not-revoked", "POST /auth/logout")
    ]
    assert api.users == {}
    logouts = [r for r in sender.sent if r.url.endswith("/auth/logout")]
    assert [r.identity for r in logouts] == [ANONYMOUS]  # never with the scan's credentials


async def test_logout_not_revoked_stays_quiet_when_logout_revokes_the_token():
    api = _Users(vulnerable=False)

    found, sender = await _run("authentication.logout_not_revoked", api, _surface())

    assert found == []
    assert api.users == {}  # logged in again after the logout, and deleted
    assert all(r.state == "deleted" for r in sender.journal.results)


def test_a_logout_goes_only_without_the_scans_credentials():
    surface = _surface()
    policy = Policy.of("active", (), (), BASE)
    policy.learn(surface)
    policy.ends_session(BASE + "/auth/logout")

    assert policy.refusal("POST", BASE + "/auth/logout", anonymous=True) is None
    assert policy.refusal("POST", BASE + "/auth/logout") is not None
    safe = Policy.of("safe", (), (), BASE)
    safe.learn(surface)
    safe.ends_session(BASE + "/auth/logout")
    assert safe.refusal("POST", BASE + "/auth/logout", anonymous=True) is not None


async def test_an_account_delete_by_id_takes_the_id_the_registration_answered():
    api = _Users(vulnerable=True)

    found, sender = await _run("bola.other_users_password", api, _surface(key="user_id"))

    assert [(f.type_id, f.operation) for f in found] == [
        ("bola.other-user-password-changed", "PUT /users/v1/{user_id}/password")
    ]
    assert api.users == {}
    assert [r.state for r in sender.journal.results] == ["deleted"] * 3  # the canary first


async def test_a_delete_of_an_account_by_id_alone_does_not_make_registration_undoable():
    api = _Users(vulnerable=True)
    surface = _surface(deletable=False, by_id=True)  # VAmPI: DELETE /users/v1/{username}
    policy = Policy.of("active", (), (), BASE)
    _, skipped = policy.learn(surface)

    assert ("POST /users/v1/register", "undeletable") in [(s.operation, s.kind) for s in skipped]
    found, sender = await _run("bola.other_users_password", api, surface)
    assert found == [] and api.users == {}
    assert not [r for r in sender.sent if r.url.endswith("/register")]


def test_a_self_service_deletion_makes_registration_undoable():
    policy = Policy.of("active", (), (), BASE)
    _, skipped = policy.learn(_surface())

    assert "POST /users/v1/register" not in [s.operation for s in skipped]
    assert policy.refusal("POST", BASE + "/users/v1/register", anonymous=True) is None
    assert policy.refusal("POST", BASE + "/users/v1/register") is not None


async def test_no_user_is_registered_after_a_canary_that_could_not_delete_itself():
    api = _Users(vulnerable=True, removable=False)  # DELETE /me answers 204, deletes nothing

    found, sender = await _run("bola.other_users_password", api, _surface())

    assert found == []
    assert len([r for r in sender.sent if r.url.endswith("/register")]) == 1
    assert len(api.users) == 1  # the canary, reported as not restored
    assert [r.state for r in sender.journal.results] == ["not_restored"]
    assert "by hand" in sender.journal.results[0].detail
    deletes = [r for r in sender.sent if r.method == "DELETE"]
    assert [r.identity for r in deletes] == [ANONYMOUS]  # its own token, never the scan's
