"""The safety policy: what a scan never requests, never writes, and what --include allows."""

from __future__ import annotations

import pytest

from middlebrick.errors import UsageError
from middlebrick.http.patterns import OperationPattern
from middlebrick.http.policy import Policy
from middlebrick.http.wording import action, resource, words
from middlebrick.spec.model import Operation, RequestBody, Surface

BASE = "http://127.0.0.1:8000/api"


def _policy(mode: str = "safe", include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()):
    return Policy.of(mode, include, exclude, BASE)  # type: ignore[arg-type]


def _learn(policy: Policy, *operations: Operation) -> tuple[set[str], dict[str, str]]:
    kept, skipped = policy.learn(Surface(base_url=BASE, operations=operations))
    return {op.key for op in kept}, {s.operation: s.kind for s in skipped}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resetDatabase", ("reset", "database")),
        ("reset_db", ("reset", "db")),
        ("Reset-DB", ("reset", "db")),
        ("HTTPServer.restart", ("http", "server", "restart")),
        ("logOut", ("log", "out")),
        ("v1", ("v", "1")),
    ],
)
def test_words_split_identifiers_on_separators_and_camel_case(text: str, expected: tuple) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    "operation",
    [
        Operation("GET", "/admin/reset-db"),
        Operation("GET", "/admin/resetDatabase"),
        Operation("GET", "/db/createdb"),
        Operation("GET", "/db/init"),
        Operation("GET", "/demo/seed"),
        Operation("GET", "/auth/logout"),
        Operation("GET", "/auth/log_out"),
        Operation("GET", "/account/signOut"),
        Operation("GET", "/tokens/{token_id}/revoke"),
        Operation("GET", "/cache/FLUSH_ALL"),
        Operation("GET", "/service/shutdown"),
        Operation("GET", "/items/{item_id}/delete"),
        Operation("GET", "/maintenance", operation_id="resetDemoData"),
        Operation("GET", "/maintenance", summary="Resets the demo data"),
        Operation("GET", "/maintenance", description="Purges every record. Use with care."),
        Operation("GET", "/newsletter/{id}/send"),
        Operation("GET", "/posts/{post_id}", operation_id="posts_publish"),
    ],
    ids=lambda op: f"{op.path}|{op.operation_id}|{op.summary}|{op.description[:12]}",
)
def test_policy_never_requests_an_operation_whose_name_says_it_changes_state(
    operation: Operation,
) -> None:
    for mode in ("safe", "active"):
        kept, skipped = _learn(_policy(mode), operation)
        assert kept == set() and operation.key in skipped


@pytest.mark.parametrize(
    "operation",
    [
        Operation("GET", "/items/deleted"),
        Operation("GET", "/posts/published"),
        Operation("GET", "/releases"),
        Operation("GET", "/settings"),
        Operation("GET", "/invitations"),
        Operation("GET", "/stops/{stop_id}"),
        Operation("GET", "/session/links", operation_id="getLogoutUrl"),
        Operation("GET", "/items", summary="List items; deleted ones are left out"),
        Operation("GET", "/users/{user_id}/clearance"),
    ],
    ids=lambda op: f"{op.path}|{op.operation_id}|{op.summary}",
)
def test_policy_reads_an_operation_whose_words_only_look_like_a_state_change(
    operation: Operation,
) -> None:
    kept, skipped = _learn(_policy("active"), operation)
    assert kept == {operation.key} and skipped == {}


@pytest.mark.parametrize(
    ("operation", "kind"),
    [
        (Operation("POST", "/items/{item_id}/publish"), "irreversible"),
        (Operation("POST", "/orgs/{org}/invitations"), "irreversible"),
        (Operation("POST", "/v1/charges"), "irreversible"),
        (Operation("POST", "/keys/{key_id}/rotate"), "irreversible"),
        (Operation("PATCH", "/settings"), "protected"),
        (Operation("PUT", "/orgs/{org}/members/{username}"), "protected"),
        (Operation("PATCH", "/me"), "protected"),
        (Operation("PUT", "/users/{user_id}/password"), "protected"),
        (Operation("POST", "/api-keys"), "protected"),
        (Operation("DELETE", "/items/{item_id}"), "state-changing"),
        (Operation("POST", "/logout"), "state-changing"),
    ],
    ids=lambda value: value.key if isinstance(value, Operation) else value,
)
def test_active_policy_refuses_writes_it_could_not_undo_and_lists_them(
    operation: Operation, kind: str
) -> None:
    policy = _policy("active")
    kept, skipped = _learn(policy, operation)

    assert skipped == {operation.key: kind}
    assert operation.key in kept, "its schema stays readable for passive checks"
    url = BASE + operation.path.replace("{", "").replace("}", "")
    assert policy.refusal(operation.method, url) is not None


def test_active_policy_refuses_a_post_to_a_collection_it_could_not_delete_from() -> None:
    listing, create = Operation("GET", "/notes"), Operation("POST", "/notes")

    _, skipped = _learn(_policy("active"), listing, create)
    _, deletable = _learn(_policy("active"), listing, create, Operation("PATCH", "/notes/{id}"))
    _, undoable = _learn(_policy("active"), listing, create, Operation("DELETE", "/notes/{id}"))

    assert skipped["POST /notes"] == "undeletable"
    assert deletable["POST /notes"] == "undeletable"
    assert "POST /notes" not in undoable


def test_active_policy_writes_only_objects_it_created_and_ai_endpoints_it_found() -> None:
    policy = _policy("active")
    operations = (
        Operation("PATCH", "/items/{item_id}", summary="Update one of my items"),
        Operation("POST", "/v1/chat/completions", summary="Ask the assistant"),
    )
    kept, skipped = _learn(policy, *operations)

    assert kept == {op.key for op in operations}
    assert skipped == {"POST /v1/chat/completions": "unrecognised"}
    assert "created" in (policy.refusal("PATCH", BASE + "/items/42") or "")
    assert "AI endpoints" in (policy.refusal("POST", BASE + "/v1/chat/completions") or "")

    policy.created(BASE + "/items/42")
    policy.converses(BASE + "/v1/chat/completions")

    assert policy.refusal("PATCH", BASE + "/items/42") is None
    assert policy.refusal("PATCH", BASE + "/items/43") is not None
    assert policy.refusal("POST", BASE + "/v1/chat/completions") is None
    _, listed = policy.learn(Surface(base_url=BASE, operations=operations))
    assert [s.operation for s in listed if policy.still_refuses(s)] == []


ALLOW_LIST = (
    Operation("GET", "/reviews"),
    Operation("POST", "/reviews"),
    Operation("DELETE", "/reviews/{review_id}"),
    Operation("POST", "/users/v1/register"),
    Operation("POST", "/auth/register"),
    Operation("POST", "/jobs"),
    Operation("POST", "/products/search"),
    Operation("POST", "/v1/books:search"),
    Operation("POST", "/auth/login"),
    Operation("POST", "/signin"),
    Operation("POST", "/auth/otp/verify"),
    Operation("POST", "/orders/verify"),
    Operation("POST", "/mfa/challenge"),
)


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/reviews", True),  # a removable creation: the journal deletes what it makes
        ("/products/search", True),  # names a read
        ("/v1/books:search", True),
        ("/auth/login", True),  # logs in
        ("/signin", True),
        ("/auth/otp/verify", True),  # checks a one-time code: a wrong one creates nothing
        ("/orders/verify", False),  # a verification, but of no authentication
        ("/mfa/challenge", False),  # the step that sends a code
        ("/users/v1/register", False),  # creates an account nothing deletes
        ("/auth/register", False),  # an authentication folder, but a registration
        ("/jobs", False),  # an unknown POST
        ("/crawled/link", False),  # a URL no operation describes
    ],
)
def test_active_policy_sends_only_the_posts_it_recognises(path: str, allowed: bool) -> None:
    policy = _policy("active")
    _, skipped = _learn(policy, *ALLOW_LIST)

    refusal = policy.refusal("POST", BASE + path)

    assert (refusal is None) is allowed, refusal
    if not allowed and path != "/crawled/link":
        assert skipped[f"POST {path}"] == "unrecognised"


def test_active_policy_refuses_writes_other_than_post_to_objects_it_did_not_create() -> None:
    policy = _policy("active")
    _learn(policy, *ALLOW_LIST, Operation("PUT", "/reviews/{review_id}"))

    assert policy.refusal("PUT", BASE + "/reviews/7") is not None
    assert policy.refusal("PUT", BASE + "/reviews") is not None


ITEM = RequestBody("application/json", {"type": "object", "properties": {"name": {}}})
ITEMS = RequestBody("application/json", {"type": "array", "items": {"type": "object"}})
CREATED = {"201": {}}


def test_active_policy_sends_a_put_that_creates_in_a_collection_it_can_delete_from() -> None:
    # FastAPI's shape: PUT /menu (201, one item) beside DELETE /menu/{item_id}
    policy = _policy("active")
    put = Operation("PUT", "/menu", request_body=ITEM, responses=CREATED)
    _, skipped = _learn(policy, Operation("GET", "/menu"), put, Operation("DELETE", "/menu/{id}"))

    assert "PUT /menu" not in skipped
    assert policy.refusal("PUT", BASE + "/menu") is None
    assert policy.refusal("POST", BASE + "/menu") is not None  # only the documented method
    assert policy.refusal("PUT", BASE + "/menu/7") is not None  # not an object it created


@pytest.mark.parametrize(
    "put",
    [
        Operation("PUT", "/menu", request_body=ITEMS, responses=CREATED),  # replaces the list
        Operation("PUT", "/menu", request_body=ITEM, responses={"200": {}}),  # says no creation
    ],
    ids=["list body", "no 201"],
)
def test_active_policy_refuses_a_put_to_a_collection_that_may_replace_it(put: Operation) -> None:
    policy = _policy("active")
    _, skipped = _learn(policy, Operation("GET", "/menu"), put, Operation("DELETE", "/menu/{id}"))

    assert skipped["PUT /menu"] == "unrecognised"
    assert policy.refusal("PUT", BASE + "/menu") is not None


def test_active_policy_refuses_a_put_creation_nothing_deletes() -> None:
    policy = _policy("active")
    put = Operation("PUT", "/menu", request_body=ITEM, responses=CREATED)
    _, skipped = _learn(policy, Operation("GET", "/menu"), put)

    assert "PUT /menu" in skipped


PASSWORD_FORM = RequestBody(
    "application/x-www-form-urlencoded",
    {
        "type": "object",
        "properties": {"grant_type": {}, "username": {}, "password": {}},
        "required": ["username", "password"],
    },
)


def test_active_policy_sends_an_oauth2_password_grant_as_a_login() -> None:
    # FastAPI's OAuth2PasswordRequestForm on POST /token: a login, though `token` names a
    # credential resource the scan otherwise never writes
    policy = _policy("active")
    login = Operation("POST", "/token", request_body=PASSWORD_FORM)
    _, skipped = _learn(policy, login)

    assert skipped == {}
    assert policy.refusal("POST", BASE + "/token") is None
    assert policy.creates_nothing(BASE + "/token")


@pytest.mark.parametrize(
    "operation",
    [
        Operation(  # issues an API token by name: creates a credential
            "POST",
            "/tokens",
            request_body=RequestBody("application/json", {"properties": {"name": {}}}),
        ),
        Operation(  # sets a new password: no user name field
            "POST",
            "/users/me/password",
            request_body=RequestBody("application/json", {"properties": {"password": {}}}),
        ),
    ],
    ids=["api token", "password change"],
)
def test_active_policy_still_refuses_token_and_password_writes_that_are_no_login(
    operation: Operation,
) -> None:
    policy = _policy("active")
    _, skipped = _learn(policy, operation)

    assert operation.key in skipped
    assert policy.refusal("POST", BASE + operation.path) is not None


def test_safe_policy_keeps_writes_for_passive_checks_and_lists_none_of_them() -> None:
    kept, skipped = _learn(_policy("safe"), Operation("POST", "/orgs/{org}/invitations"))
    assert kept == {"POST /orgs/{org}/invitations"} and skipped == {}


def test_policy_refuses_a_url_of_a_skipped_operation_and_any_path_naming_a_state_change() -> None:
    policy = _policy("safe")
    _learn(policy, Operation("GET", "/maintenance/{task}", summary="Reset the demo data"))

    assert "Reset the demo data" in (policy.refusal("GET", BASE + "/maintenance/nightly") or "")
    assert "`logout`" in (policy.refusal("GET", BASE + "/auth/logout?next=/") or "")
    assert policy.refusal("GET", BASE + "/items/42") is None


def test_active_policy_deletes_only_what_the_scan_created() -> None:
    policy = _policy("active")
    _learn(policy, Operation("DELETE", "/notes/{note_id}"))

    assert policy.refusal("DELETE", BASE + "/notes/n-1") is not None
    policy.created(BASE + "/notes/n-1")
    assert policy.refusal("DELETE", BASE + "/notes/n-1") is None
    assert policy.refusal("DELETE", BASE + "/notes/n-2") is not None


def test_include_allows_a_named_operation_and_exclude_wins_over_it() -> None:
    operation = Operation("GET", "/admin/reset")
    included = _policy("safe", include=("GET /admin/reset",))
    both = _policy("safe", include=("/admin/**",), exclude=("GET /admin/*",))

    assert _learn(included, operation) == ({"GET /admin/reset"}, {})
    assert included.refusal("GET", BASE + "/admin/reset") is None
    assert _learn(both, operation) == (set(), {"GET /admin/reset": "excluded"})
    assert "excluded by --exclude 'GET /admin/*'" in (
        both.refusal("GET", BASE + "/admin/reset") or ""
    )


def test_action_and_resource_say_why_in_a_sentence() -> None:
    assert action(Operation("GET", "/x", summary="Log out the current user")) == (
        "state-changing",
        "its summary (“Log out the current user”) names a state change (`log out`)",
    )
    assert resource("/orgs/{org}/settings") == (
        "protected",
        "it writes settings, memberships or accounts, which the scan never writes (`settings`)",
    )


@pytest.mark.parametrize(
    ("text", "method", "path", "matched"),
    [
        ("POST /v1/chat/*", "POST", "/v1/chat/completions", True),
        ("POST /v1/chat/*", "GET", "/v1/chat/completions", False),
        ("/v1/chat/*", "GET", "/v1/chat/completions", True),
        ("/v1/chat/*", "GET", "/v1/chat/a/b", False),
        ("/admin/**", "GET", "/admin", True),
        ("/admin/**", "DELETE", "/admin/users/1", True),
        ("PATCH /members/{member_id}", "PATCH", "/members/{member_id}", True),
        ("PATCH /members/{member_id}", "patch", "/members/7", True),
        ("/items/*-draft", "GET", "/items/a-draft", True),
    ],
)
def test_operation_patterns_match_methods_templates_and_paths(
    text: str, method: str, path: str, matched: bool
) -> None:
    assert OperationPattern.parse(text).matches(method, path) is matched


@pytest.mark.parametrize("text", ["admin", "FETCH /x", "POST", "POST /a /b", ""])
def test_an_operation_pattern_that_is_not_one_is_a_usage_error_showing_the_form(text: str) -> None:
    with pytest.raises(
        UsageError, match=r"--exclude .* is not METHOD PATH-PATTERN or PATH-PATTERN"
    ):
        OperationPattern.parse(text, flag="--exclude")


def _registration(*, deletable: bool) -> Surface:
    body = RequestBody(
        "application/json",
        {"type": "object", "properties": {"username": {}, "password": {}}},
    )
    ops = [Operation("POST", "/users/v1/register", request_body=body)]
    if deletable:
        ops.append(Operation("DELETE", "/users/v1/me"))
    ops.append(Operation("DELETE", "/users/v1/{username}"))  # an administrator's, as VAmPI's
    return Surface("http://127.0.0.1:9/", tuple(ops))


def test_policy_lets_an_active_scan_register_when_a_self_service_deletion_is_documented():
    policy = Policy.of("active", (), (), "http://127.0.0.1:9/")
    _, skipped = policy.learn(_registration(deletable=True))

    assert [s.operation for s in skipped] == [
        "DELETE /users/v1/me",
        "DELETE /users/v1/{username}",
    ]
    assert policy.refusal("POST", "http://127.0.0.1:9/users/v1/register", anonymous=True) is None
    assert policy.refusal("POST", "http://127.0.0.1:9/users/v1/register") is not None  # as alice
    assert policy.refusal("DELETE", "http://127.0.0.1:9/users/v1/mb01") is not None
    policy.created("http://127.0.0.1:9/users/v1/mb01", below=True)
    assert policy.refusal("PUT", "http://127.0.0.1:9/users/v1/mb01/password") is None
    assert policy.refusal("PUT", "http://127.0.0.1:9/users/v1/alice/password") is not None


def test_policy_refuses_a_registration_it_could_not_undo_unless_included():
    policy = Policy.of("active", (), (), "http://127.0.0.1:9/")
    _, skipped = policy.learn(_registration(deletable=False))

    assert (skipped[0].operation, skipped[0].kind) == ("POST /users/v1/register", "undeletable")
    assert "administrator" in skipped[0].reason  # a DELETE /users/{id} alone is not enough
    assert policy.refusal("POST", "http://127.0.0.1:9/users/v1/register") is not None
    included = Policy.of("active", ("POST /users/v1/register",), (), "http://127.0.0.1:9/")
    included.learn(_registration(deletable=False))
    assert included.refusal("POST", "http://127.0.0.1:9/users/v1/register") is None


def test_active_policy_sends_a_registration_only_without_its_password() -> None:
    policy = _policy("active")
    signup = Operation("POST", "/signup", responses={"201": {}})
    _, skipped = _learn(policy, *ALLOW_LIST, signup)
    assert skipped["POST /signup"] == "undeletable"

    assert policy.refusal("POST", BASE + "/signup") is not None
    assert policy.refusal("POST", BASE + "/signup", incomplete=True) is None
    assert policy.refusal("POST", BASE + "/auth/register") is not None
    assert policy.refusal("POST", BASE + "/auth/register", incomplete=True) is None
    assert policy.refusal("POST", BASE + "/users/v1/register", incomplete=True) is None
    assert policy.refusal("POST", BASE + "/jobs", incomplete=True) is not None  # no registration
    assert policy.refusal("PUT", BASE + "/auth/register", incomplete=True) is not None
