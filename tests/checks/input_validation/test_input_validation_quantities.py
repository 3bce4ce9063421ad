"""Negative quantities and amounts a write accepts and stores (active, the scan's own objects)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from middlebrick.checks._created import resources
from middlebrick.checks.input_validation.quantities import fields_of
from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.knowledge import quantity_words
from middlebrick.knowledge.models import QuantityWords
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, FakeSender, make_baseline, response, run_check

CHECK = "input_validation.negative_quantity_accepted"
ALICE = Identities(primary=Identity("alice", True, frozenset({"u-alice"})))
ID = (Parameter("line_id", "path", required=True),)
PRICE = 250  # cents per unit, the server's


def _surface(properties: dict[str, Any], *, patch: bool = False) -> Surface:
    body = RequestBody("application/json", {"type": "object", "properties": properties})
    return Surface(
        BASE,
        (
            Operation("POST", "/lines", request_body=body),
            Operation("GET", "/lines/{line_id}", parameters=ID),
            Operation("DELETE", "/lines/{line_id}", parameters=ID),
            *(
                [Operation("PATCH", "/lines/{line_id}", parameters=ID, request_body=body)]
                if patch
                else []
            ),
        ),
    )


CART = {
    "product": {"type": "string", "example": "tea"},
    "quantity": {"type": "integer", "example": 3},
}


class _Lines:
    """Cart lines: ``checks`` says which writes refuse a negative number (``"post"``,
    ``"patch"``), ``store`` how a number is kept (``"as sent"``, ``"absolute"``), and
    ``show`` whether the read shows the fields sent or only the line's total."""

    def __init__(self, *, checks: str = "", store: str = "as sent", show: str = "fields") -> None:
        self.checks, self.store, self.show = checks, store, show
        self.rows: dict[int, dict[str, Any]] = {}

    def _refuses(self, method: str, body: dict[str, Any]) -> bool:
        negative = any(isinstance(v, int | float) and v < 0 for v in body.values())
        return negative and method.lower() in self.checks

    def _keep(self, body: dict[str, Any]) -> dict[str, Any]:
        kept = {
            k: abs(v) if self.store == "absolute" and isinstance(v, int) else v
            for k, v in body.items()
        }
        return kept

    def _shown(self, row: dict[str, Any]) -> dict[str, Any]:
        if self.show == "fields":
            return row
        total = row.get("quantity", 1) * PRICE
        return {"id": row["id"], "product": row.get("product"), "total_cents": total}

    def __call__(self, request: Request) -> Response:
        path = request.url.removeprefix(BASE).split("?", 1)[0]
        body = json.loads(request.body or b"{}")
        if path == "/lines" and request.method == "POST":
            if self._refuses("post", body):
                return response(422, {"detail": "must be at least 1"})
            number = max(self.rows, default=0) + 1
            self.rows[number] = {"id": number, **self._keep(body)}
            return response(201, self._shown(self.rows[number]))
        number = int(path.rsplit("/", 1)[-1])
        if number not in self.rows:
            return response(404, {"detail": "not found"})
        if request.method == "DELETE":
            del self.rows[number]
            return response(204)
        if request.method == "PATCH":
            if self._refuses("patch", body):
                return response(422, {"detail": "must be at least 1"})
            self.rows[number].update(self._keep(body))
        return response(200, self._shown(self.rows[number]))


class _Sender(FakeSender):
    def __init__(self, api: _Lines) -> None:
        super().__init__()
        self.api = api

    async def _answer(self, request: Request) -> Exchange:
        self.sent.append(request)
        return Exchange(request, self.api(request))


async def _run(api: _Lines, surface: Surface) -> tuple[list, list[Request]]:
    sender = _Sender(api)
    sender.journal.learn(surface.operations)
    found = await run_check(
        CHECK,
        baseline=make_baseline([]),
        sender=sender,
        surface=surface,
        scan=ScanRequest(target=BASE, mode="active"),
        identities=ALICE,
    )
    await sender.journal.undo()
    return found, sender.sent


def _posted(sent: list[Request]) -> list[dict[str, Any]]:
    return [json.loads(r.body or b"{}") for r in sent if r.method == "POST"]


async def test_negative_quantity_accepted_reports_a_negative_quantity_stored():
    # Given a cart whose lines take any quantity
    api = _Lines()

    # When the check runs in active mode
    found, sent = await _run(api, _surface(CART))

    # Then the negative line is reported, and every line the scan made is gone
    assert [(f.type_id, f.operation, f.parameter, f.confidence, f.severity) for f in found] == [
        (
            "input_validation.negative-quantity-accepted",
            "POST /lines",
            "body.quantity",
            Confidence.firm,
            Severity.medium,
        )
    ]
    assert "with quantity=-3 created an object that reads back `quantity` negative" in (
        found[0].detail
    )
    assert _posted(sent) == [{"product": "tea", "quantity": 3}, {"product": "tea", "quantity": -3}]
    assert api.rows == {}


async def test_negative_quantity_accepted_reports_a_total_turned_negative():
    api = _Lines(show="total")

    found, _ = await _run(api, _surface(CART))

    assert [f.parameter for f in found] == ["body.quantity"]
    assert "reads back `total_cents` negative" in found[0].detail
    assert api.rows == {}


async def test_negative_quantity_accepted_stays_quiet_when_the_creation_refuses_it():
    api = _Lines(checks="post")

    found, sent = await _run(api, _surface(CART))

    assert found == []
    assert len(_posted(sent)) == 2
    assert api.rows == {}


async def test_negative_quantity_accepted_stays_quiet_when_the_server_keeps_the_absolute_value():
    api = _Lines(store="absolute")

    assert (await _run(api, _surface(CART)))[0] == []
    assert api.rows == {}


async def test_negative_quantity_accepted_reports_an_update_when_only_the_creation_checks():
    api = _Lines(checks="post")

    found, sent = await _run(api, _surface(CART, patch=True))

    assert [(f.operation, f.parameter) for f in found] == [
        ("PATCH /lines/{line_id}", "body.quantity")
    ]
    patches = [json.loads(r.body or b"{}") for r in sent if r.method == "PATCH"]
    assert patches == [{"quantity": -3}]
    assert api.rows == {}


async def test_negative_quantity_accepted_stays_quiet_when_creation_and_update_refuse_it():
    api = _Lines(checks="post patch")

    assert (await _run(api, _surface(CART, patch=True)))[0] == []
    assert api.rows == {}


async def test_negative_quantity_accepted_never_tries_fields_signed_by_design():
    # Given fields that take negatives by name or by the API's own schema
    signed = {
        "product": {"type": "string", "example": "tea"},
        "balance_adjustment": {"type": "integer", "example": 5},
        "latitude": {"type": "number", "example": 48.8},
        "max_count": {"type": "integer", "example": 10},
        "amount": {"type": "integer", "minimum": -1000, "example": 5},
        "line_id": {"type": "integer", "minimum": 0, "example": 7},
    }
    api = _Lines()

    # When the check runs, Then it writes no negative number and reports nothing
    found, sent = await _run(api, _surface(signed))

    assert found == []
    assert _posted(sent) == []
    assert api.rows == {}


async def test_negative_quantity_accepted_reports_a_field_the_schema_bounds_as_low():
    # Given a field no word list names, which the API's schema says is at least 0
    bounded = {"name": {"type": "string"}, "priority": {"type": "integer", "minimum": 0}}
    api = _Lines()

    found, sent = await _run(api, _surface(bounded))

    assert [(f.parameter, f.severity) for f in found] == [("body.priority", Severity.low)]
    assert "although the API's schema bounds it at zero or above" in found[0].detail
    assert [p["priority"] for p in _posted(sent)] == [1, -1]
    assert api.rows == {}


def test_fields_of_reads_nullable_numbers_and_exclusive_minimums():
    surface = _surface(
        {
            "qty": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "unitPrice": {"type": "number", "exclusiveMinimum": 0, "example": 9.5},
            "note": {"type": "string"},
            "createdCount": {"type": "integer", "readOnly": True},
        }
    )
    fields = fields_of(resources_of(surface))

    assert [(f.name, f.value, f.negative, f.bounded) for f in fields] == [
        ("qty", 1, -1, False),
        ("unitPrice", 9.5, -9.5, True),
    ]


def resources_of(surface: Surface) -> Any:
    class _Ctx:
        pass

    ctx: Any = _Ctx()
    ctx.surface = surface
    return resources(ctx)[0]


def test_quantity_words_load_and_refuse_a_word_in_two_lists():
    words = quantity_words()
    assert {"quantity", "amount", "price"} <= set(words.quantities) | set(words.money)
    assert "delta" in words.signed

    with pytest.raises(ValidationError, match="duplicate entries \\['amount'\\]"):
        QuantityWords(quantities=("qty",), money=("amount",), signed=("amount",))
