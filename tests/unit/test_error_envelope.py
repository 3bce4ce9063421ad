"""A 2xx whose JSON body is an error envelope is a refusal, never data."""

from __future__ import annotations

from typing import Any

import pytest

from middlebrick.checks._compare import is_denied, looks_like_denial, same_content
from middlebrick.filtering.facts import Answer
from middlebrick.http.exchange import is_error_envelope
from middlebrick.testing import exchange, response


@pytest.mark.parametrize(
    "body",
    [
        {"success": False, "error": "No API token given."},  # REST API Goat
        {"success": False},
        {"ok": False, "error": "invalid_auth"},  # Slack Web API
        {"status": "fail", "message": "Username does not exist"},  # JSend, VAmPI's login
        {"status": "error", "message": "Unable to communicate with database"},  # JSend
        {"error": "Invalid API token."},
        {"errors": [{"message": "Not authorized"}]},
        {"message": "You are not allowed here", "code": 1001},
        {"detail": "Not your customer."},
    ],
)
def test_an_error_envelope_is_recognised(body: Any) -> None:
    assert is_error_envelope(body)
    assert looks_like_denial(response(200, body))
    assert is_denied(exchange("GET", "/x", response(200, body)))
    assert not exchange("GET", "/x", response(200, body)).answered


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "customers": [{"id": 2}]},
        {"id": 7, "status": "failed", "error": "card declined"},  # a record that failed
        {"name": "job", "ok": False},  # a record with an ok flag among its data
        {"status": "ok"},
        {"success": True, "message": "saved"},
        {"status": "success", "data": {"id": 1}},
        [{"error": "x"}],
        {},
        {"message": ""},
    ],
)
def test_data_stays_data(body: Any) -> None:
    assert not is_error_envelope(body)
    assert exchange("GET", "/x", response(200, body)).answered


def test_an_envelope_is_a_refusal_only_in_a_2xx() -> None:
    assert not response(404, {"error": "not found"}).refused_in_body
    assert response(200, {"error": "not found"}).refused_in_body


def test_an_envelope_is_never_the_same_content_as_data() -> None:
    data = response(200, {"success": True, "items": [{"id": 1}]})
    refused = response(200, {"success": False, "error": "No API token given."})
    again = response(200, {"success": False, "error": "No API token given."})

    assert same_content(data, refused) is None
    assert same_content(refused, again) is None


def test_the_filter_reads_an_envelope_as_no_answer() -> None:
    assert not Answer(200, b'{"success": false, "error": "No API token given."}').ok
    assert Answer(200, b'{"success": true, "items": []}').ok
