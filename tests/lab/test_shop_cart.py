"""The shop's cart lines: a negative quantity stored by the vulnerable twin, refused by its twin.

The request the flaw answers, and the secure twin refusing it, so a change of the lab shows
here before it shows in the scans.
"""

from __future__ import annotations

from typing import Any

import pytest

from lab.runner import Lab
from tests.lab.conftest import running

pytestmark = pytest.mark.lab


def _add(http: Any, target: Any, quantity: int) -> tuple[int, Any]:
    """Add a cart line with ``quantity``; the status and the line as read back (then removed)."""
    token = target.tokens["alice"]
    body = {"product_id": 1, "quantity": quantity}
    made = http("POST", target.url + "/api/v2/cart", token=token, json_body=body)
    if made.status != 201:
        return made.status, None
    url = f"{target.url}/api/v2/cart/{made.json()['data']['id']}"
    read = http("GET", url, token=token).json()["data"]
    assert http("DELETE", url, token=token).status == 204
    assert http("GET", url, token=token).status == 404
    return made.status, read


def test_shop_stores_a_negative_cart_quantity_and_its_twin_refuses_it(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")

    status, line = _add(http, vulnerable, -5)
    refused, _ = _add(http, secure, -5)
    accepted, normal = _add(http, secure, 2)

    assert status == 201
    assert line["quantity"] == -5 and line["line_total_cents"] < 0
    assert refused == 422
    assert accepted == 201 and normal["quantity"] == 2 and normal["line_total_cents"] > 0
