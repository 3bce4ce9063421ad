"""The shop's marketplace offers: mass assignment through an envelope and a query string.

Each test sends the request a flaw answers and shows the secure twin ignoring it, so a change
of the lab shows here before it shows in the scans.
"""

from __future__ import annotations

from typing import Any

import pytest

from lab.runner import Lab
from tests.lab.conftest import running

pytestmark = pytest.mark.lab

_OFFER = {"title": "Board game, complete", "asking_cents": 1500}
_RAISED = {"is_featured": True, "verified": True, "fee_cents": 1}


def _offer(http: Any, target: Any, method: str, body: dict[str, Any], **params: str) -> Any:
    """Create an offer, send ``method`` to it, and return it as read back (then delete it)."""
    token = target.tokens["alice"]
    made = http("POST", target.url + "/api/v2/offers", token=token, json_body={"offer": _OFFER})
    url = f"{target.url}/api/v2/offers/{made.json()['offer']['id']}"
    wrote = http(method, url, token=token, json_body={"offer": body}, params=params or None)
    read = http("GET", url, token=token).json()["offer"]
    http("DELETE", url, token=token)
    return wrote, read


def test_shop_stores_server_owned_fields_from_a_patch_envelope_and_its_twin_does_not(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")

    _, stored = _offer(http, vulnerable, "PATCH", {"title": "x", **_RAISED})
    echoed, kept = _offer(http, secure, "PATCH", {"title": "x", **_RAISED})

    assert (stored["is_featured"], stored["verified"], stored["fee_cents"]) == (True, True, 1)
    assert echoed.json()["offer"]["is_featured"] is True  # echoed in the answer only
    assert (kept["is_featured"], kept["verified"], kept["fee_cents"]) == (False, False, 250)


def test_shop_stores_server_owned_fields_from_a_puts_query_and_its_twin_does_not(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    query = {"is_featured": "true", "fee_cents": "1"}

    _, from_body = _offer(http, vulnerable, "PUT", {**_OFFER, **_RAISED})
    _, from_query = _offer(http, vulnerable, "PUT", _OFFER, **query)
    _, kept = _offer(http, secure, "PUT", _OFFER, **query)

    assert from_body["is_featured"] is False  # the PUT's body goes through its schema
    assert (from_query["is_featured"], from_query["fee_cents"]) == (True, 1)
    assert (kept["is_featured"], kept["fee_cents"]) == (False, 250)


def test_shop_stores_server_owned_fields_of_a_new_offers_envelope(lab: Lab, http: Any) -> None:
    results = []
    for target in (running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")):
        token = target.tokens["alice"]
        body = {"offer": {**_OFFER, "verified": True}}
        made = http("POST", target.url + "/api/v2/offers", token=token, json_body=body)
        url = f"{target.url}/api/v2/offers/{made.json()['offer']['id']}"
        results.append(http("GET", url, token=token).json()["offer"]["verified"])
        http("DELETE", url, token=token)

    assert results == [True, False]
