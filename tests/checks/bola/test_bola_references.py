"""BOLA through a reference: alice creates a list naming bob's address (active)."""

from __future__ import annotations

import json
from typing import Any

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Severity
from middlebrick.http.exchange import ANONYMOUS, Request, Response
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

LIST_BODY = RequestBody(
    "application/json",
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "example": "groceries"},
            "address_id": {"type": "integer", "default": None},
        },
    },
)
LIST_ID = (Parameter("list_id", "path", required=True),)
ADDRESSES = Operation("GET", "/addresses")
ADDRESS = Operation(
    "GET", "/addresses/{address_id}", parameters=(Parameter("address_id", "path", True),)
)
SURFACE = Surface(
    BASE,
    (
        ADDRESSES,
        ADDRESS,
        Operation("POST", "/lists", request_body=LIST_BODY),
        Operation("GET", "/lists/{list_id}", parameters=LIST_ID),
        Operation("DELETE", "/lists/{list_id}", parameters=LIST_ID),
    ),
)
OWNERS = {1: "alice", 2: "bob"}


class _Shop:
    """Addresses 1 (alice's) and 2 (bob's); lists with a delivery address."""

    def __init__(self, *, checks_the_address: bool) -> None:
        self.checks_the_address = checks_the_address
        self.lists: dict[int, dict[str, Any]] = {}

    def __call__(self, request: Request) -> Response:
        who = "alice" if request.identity is None else request.identity
        if who == ANONYMOUS:
            return response(401, {"detail": "authentication required"})
        path = request.url.removeprefix(BASE)
        if path == "/addresses":
            mine = [{"id": n, "city": "x"} for n, owner in OWNERS.items() if owner == who]
            return response(200, {"data": mine})
        if path.startswith("/addresses/"):
            number = int(path.rsplit("/", 1)[-1])
            if OWNERS.get(number) != who:
                return response(404, {"detail": "not found"})
            return response(200, {"id": number, "user_id": f"u-{who}", "city": "x"})
        if path == "/lists" and request.method == "POST":
            body = json.loads(request.body or b"{}")
            address = body.get("address_id")
            if self.checks_the_address and address is not None and OWNERS.get(address) != who:
                return response(404, {"detail": "no such address"})
            number = max(self.lists, default=0) + 1
            self.lists[number] = {"id": number, "name": body.get("name"), "address_id": address}
            return response(201, self.lists[number])
        number = int(path.rsplit("/", 1)[-1])
        if number not in self.lists:
            return response(404, {"detail": "not found"})
        if request.method == "DELETE":
            del self.lists[number]
            return response(204)
        return response(200, self.lists[number])


async def _run(shop: _Shop, users) -> list:
    sender = FakeSender(shop)
    sender.journal.learn(SURFACE.operations)
    listing = exchange("GET", "/addresses", shop(Request("GET", BASE + "/addresses")))
    found = await run_check(
        "bola.foreign_references",
        baseline=make_baseline([(ADDRESSES, listing)]),
        sender=sender,
        surface=SURFACE,
        scan=ScanRequest(target=BASE, mode="active"),
        identities=users(alice=("u-alice",), bob=("u-bob",)),
    )
    await sender.journal.undo()
    return found


async def test_foreign_references_reports_a_list_stored_with_another_user_s_address(users):
    shop = _Shop(checks_the_address=False)

    found = await _run(shop, users)

    assert [(f.type_id, f.operation, f.parameter, f.severity, f.confidence) for f in found] == [
        (
            "bola.foreign-reference-accepted",
            "POST /lists",
            "address_id",
            Severity.high,
            Confidence.confirmed,
        )
    ]
    assert "`address_id` = '2'" in found[0].detail
    assert "the primary reading it by id got 404" in found[0].detail
    assert shop.lists == {}  # the list the scan created was deleted


async def test_foreign_references_stays_quiet_when_the_address_is_checked(users):
    shop = _Shop(checks_the_address=True)

    assert await _run(shop, users) == []
    assert shop.lists == {}
