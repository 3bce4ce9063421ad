"""The tests' network guard (``tests/loopback.py``) refuses before any packet leaves."""

from __future__ import annotations

import socket

import pytest

from tests import loopback


def test_guard_refuses_a_connection_outside_loopback_and_records_it() -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="loopback only"):
        sock.connect(("192.0.2.10", 80))  # TEST-NET-1: never answers, never reached
    assert loopback.attempts == ["connect to 192.0.2.10:80"]
    loopback.attempts.clear()  # this test's own proof, not a violation


def test_guard_resolves_no_name_but_loopback_s() -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("api.example.com", 443)
    assert loopback.attempts == ["resolve 'api.example.com'"]
    loopback.attempts.clear()
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("10.0.0.1", 80)  # a literal is data: nothing is sent


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "::1", "::ffff:127.0.0.1", "localhost", "a.localhost"]
)
def test_guard_lets_loopback_through(host: str) -> None:
    assert loopback.is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "169.254.169.254", "example.com", "::ffff:c000:20a"])
def test_guard_holds_everything_else(host: str) -> None:
    assert not loopback.is_loopback(host)


def test_guard_resolves_a_name_the_test_gives_an_address_without_a_query() -> None:
    with loopback.names({"API.example.test": "127.0.0.1"}):
        (found, *_) = socket.getaddrinfo("api.example.test.", 80, type=socket.SOCK_STREAM)
    assert found[4] == ("127.0.0.1", 80)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("api.example.test", 80)
    loopback.attempts.clear()
