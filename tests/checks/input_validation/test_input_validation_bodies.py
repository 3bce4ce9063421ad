"""Active mode on recorded answers: injection and type probes in JSON bodies of writes."""

from __future__ import annotations

import json
import re
from typing import Any

from middlebrick.checks.registry import load_all
from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

CHECK = "input_validation.body_injection"
ACTIVE = ScanRequest(target=BASE, mode="active")
GET_ITEM = Operation(
    method="GET", path="/items/{item_id}", parameters=(Parameter("item_id", "path", True),)
)
PATCH_ITEM = Operation(
    method="PATCH",
    path="/items/{item_id}",
    parameters=(Parameter("item_id", "path", True),),
    request_body=RequestBody(
        "application/json",
        {"type": "object"},
        examples=({"quantity": 3, "field": "status"},),
    ),
)


def updates(*, spliced: bool) -> Any:
    """``PATCH /items/{id}``: ``f"SET {field} = :v"`` with the body's field, or names bound."""

    def answer(request: Request) -> Response:
        if request.method == "GET":
            return response(200, {"id": "i1", "status": "open"})
        body = json.loads(request.body or b"{}")
        field, quantity = body.get("field"), body.get("quantity")
        if not isinstance(quantity, int):
            if spliced:
                return response(500, "TypeError: unsupported operand", {})
            return response(422, {"detail": "quantity must be an integer"})
        if not isinstance(field, str):
            return response(422, {"detail": "field must be a string"})
        if spliced and not re.fullmatch(r"\w+", field):
            return response(
                500, {"error": f'Invalid UpdateExpression: Syntax error; token: "{field}"'}
            )
        if spliced and field in ("timestamp", "status_mbzq"):
            return response(200, {"id": "i1"})
        return response(200, {"id": "i1", field: quantity})

    return answer


async def _run(sender: Any) -> list[Finding]:
    url = "/items/i1"
    pairs = [(GET_ITEM, exchange("GET", url, sender.answer(Request("GET", BASE + url))))]
    surface = Surface(base_url=BASE, operations=(GET_ITEM, PATCH_ITEM))
    return await run_check(
        CHECK, baseline=make_baseline(pairs), sender=sender, scan=ACTIVE, surface=surface
    )


async def test_body_injection_reports_a_body_field_spliced_into_an_update_expression(
    api: Any,
) -> None:
    sender = api(updates(spliced=True))

    found = await _run(sender)

    by_id = {f.type_id: f for f in found}
    expression = by_id["input_validation.dynamodb-expression-injection"]
    assert expression.parameter == "body.field" and expression.confidence == Confidence.firm
    assert [e.label for e in expression.evidence] == ["baseline", "probe", "control"]
    assert {r.url for r in sender.sent if r.method == "PATCH"} == {BASE + "/items/i1"}


async def test_body_injection_reports_a_number_field_that_crashes_on_letters(api: Any) -> None:
    found = await _run(api(updates(spliced=True)))

    confusion = [f for f in found if f.type_id == "input_validation.type-confusion"]
    assert [f.parameter for f in confusion] == ["body.quantity"]
    assert '"abc"' in confusion[0].detail and "body.quantity=4" in confusion[0].detail


async def test_body_injection_stays_quiet_when_the_write_binds_and_validates(api: Any) -> None:
    assert await _run(api(updates(spliced=False))) == []


def test_body_injection_is_registered_for_active_mode_only() -> None:
    assert load_all()[CHECK].mode == "active"
