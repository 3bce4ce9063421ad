"""The scope of a scan: hosts and methods a request may use."""

from __future__ import annotations

import pytest

from middlebrick.config import ScanRequest
from middlebrick.errors import ScopeViolation, UsageError
from middlebrick.http.scope import Scope

TARGET = "http://127.0.0.1:8000/api"


def _scope(mode: str = "safe", extra_hosts: tuple[str, ...] = ()) -> Scope:
    return Scope.for_scan(ScanRequest(target=TARGET, mode=mode, extra_hosts=extra_hosts))


def test_scope_allows_the_targets_host_and_port_only() -> None:
    scope = _scope()
    assert scope.allows_url("http://127.0.0.1:8000/anything?x=1")
    assert not scope.allows_url("http://127.0.0.1:8001/api")
    assert not scope.allows_url("http://localhost:8000/api")
    assert not scope.allows_url("ftp://127.0.0.1:8000/api")
    assert not scope.allows_url("not a url")


def test_scope_is_not_fooled_by_userinfo_or_case_in_the_host() -> None:
    scope = _scope()
    assert not scope.allows_url("http://127.0.0.1:8000@evil.example/api")
    assert Scope.for_scan(ScanRequest(target="https://API.Example.com/")).allows_url(
        "https://api.example.com./v1"
    )


def test_scope_admits_the_https_upgrade_of_a_target_without_port() -> None:
    scope = Scope.for_scan(ScanRequest(target="http://api.example.com/v1"))
    assert scope.allows_url("https://api.example.com/v1")
    assert not scope.allows_url("http://api.example.com:8080/v1")


def test_scope_adds_extra_hosts_by_port_or_default_ports() -> None:
    scope = _scope(
        extra_hosts=("127.0.0.1:9000", "auth.example.com", "https://cdn.example.com:8443")
    )
    assert scope.allows_url("http://127.0.0.1:9000/x")
    assert scope.allows_url("https://auth.example.com/login")
    assert not scope.allows_url("http://auth.example.com:8080/login")
    assert scope.allows_url("https://cdn.example.com:8443/a.js")


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_scope_allows_read_only_methods(method: str) -> None:
    assert _scope().check(method, TARGET + "/items").path == "/api/items"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_safe_scope_refuses_methods_that_change_data(method: str) -> None:
    with pytest.raises(
        ScopeViolation, match=f"{method} .* safe mode sends only GET, HEAD and OPTIONS"
    ):
        _scope().check(method, TARGET + "/items")


def test_active_scope_allows_every_method_on_its_hosts_only() -> None:
    scope = _scope("active")
    scope.check("DELETE", TARGET + "/items/1")
    with pytest.raises(ScopeViolation, match=r"host evil\.example:80 is outside the scope"):
        scope.check("GET", "http://evil.example/")


def test_scope_message_names_the_request_and_the_allowed_hosts() -> None:
    with pytest.raises(ScopeViolation) as caught:
        _scope().check("GET", "http://10.0.0.1:8000/admin")
    assert str(caught.value) == (
        "GET http://10.0.0.1:8000/admin refused: host 10.0.0.1:8000 is outside the scope "
        "(allowed: 127.0.0.1:8000)"
    )


def test_safe_scope_sends_writes_only_to_what_include_names() -> None:
    scope = Scope.for_scan(ScanRequest(target=TARGET, include=("POST /chat/*",)))
    scope.check("POST", TARGET + "/chat/completions?stream=false")
    assert not scope.allows("POST", TARGET + "/chatter")
    assert not scope.allows("POST", TARGET + "/admin")
    assert not scope.allows("PUT", TARGET + "/chat/completions")


@pytest.mark.parametrize(
    "path",
    ["/chat/../admin", "/chat/%2e%2e/admin", "/chat/..%2fadmin", "/chat/x%2F..%2F..%2Fadmin"],
)
def test_an_included_path_cannot_be_escaped_by_traversal(path: str) -> None:
    scope = Scope.for_scan(ScanRequest(target=TARGET, include=("POST /chat/**",)))
    assert not scope.allows("POST", "http://127.0.0.1:8000/api" + path)


@pytest.mark.parametrize("extra", ["", "host:port", "host:99999"])
def test_a_malformed_extra_host_is_a_usage_error_naming_it(extra: str) -> None:
    with pytest.raises(UsageError, match=f"extra host {extra!r} is not a host"):
        _scope(extra_hosts=(extra,))


def test_safe_scope_lets_the_scan_delete_only_what_it_created_itself() -> None:
    scope = Scope.for_scan(ScanRequest(target=TARGET, include=("POST /notes",)))
    scope.policy.created(TARGET + "/notes/n-1")

    scope.check("DELETE", TARGET + "/notes/n-1")
    assert not scope.allows("DELETE", TARGET + "/notes/n-2")
    assert not scope.allows("PATCH", TARGET + "/items/1")
