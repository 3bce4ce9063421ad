"""DynamoDB injection on recorded answers: each flaw reported with three exchanges, twins quiet.

Every fake below answers like the DynamoDB-backed handler it stands for: the vulnerable one
builds its expression, statement, table name or condition from the request; the fixed one
binds or allow-lists it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

CHECK = "input_validation.dynamodb_injection"
Answer = Callable[[Request], Response]

TICKETS = [
    {"id": 1, "priority": "high", "title": "a"},
    {"id": 2, "priority": "high", "title": "b"},
    {"id": 3, "priority": "low", "title": "c"},
    {"id": 4, "priority": "low", "title": "d"},
    {"id": 5, "title": "e"},
]
ORDERS = [
    {"id": "o1", "owner": "me", "status": "open"},
    {"id": "o2", "owner": "me", "status": "shipped"},
    {"id": "o3", "owner": "other", "status": "open"},
    {"id": "o4", "owner": "other", "status": "open"},
]
USERS = [{"email": "a@x.example"}, {"email": "b@x.example"}, {"email": "c@x.example"}]
RESERVED = {"timestamp", "status", "name"}


def _query(request: Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))


def _syntax_error(text: str) -> Response:
    return response(500, f"<h1>ClientError</h1><p>Invalid FilterExpression: {text}</p>")


def tickets(*, spliced: bool) -> Answer:
    """``GET /tickets?field=&value=``: ``f"{field} = :value"`` or an allow-listed ``Attr()``."""

    def answer(request: Request) -> Response:
        query = _query(request)
        field, value = query.get("field", "priority"), query.get("value", "")
        if not spliced:
            if field not in ("priority", "title"):
                return response(400, {"error": "bad request"})
            return response(200, {"tickets": [t for t in TICKETS if t.get(field) == value]})
        expression = f"{field} = :value"
        logic = re.fullmatch(r"attribute_exists\((\w+)\) (OR|AND) (\w+) = :value", expression)
        if logic:
            name, op, compared = logic.groups()
            if op == "OR":
                rows = [t for t in TICKETS if name in t or t.get(compared) == value]
            else:
                rows = [t for t in TICKETS if name in t and t.get(compared) == value]
            return response(200, {"tickets": rows})
        plain = re.fullmatch(r"(\w+) = :value", expression)
        if plain is None:
            return _syntax_error(f'Syntax error; token: ")", near: "{field} ="')
        if plain.group(1) in RESERVED:
            return _syntax_error(f"Attribute name is a reserved keyword; reserved keyword: {field}")
        return response(200, {"tickets": [t for t in TICKETS if t.get(field) == value]})

    return answer


def orders(*, formatted: bool) -> Answer:
    """``GET /orders?status=``: a PartiQL f-string, or a statement with ``?`` parameters."""

    def answer(request: Request) -> Response:
        status = _query(request).get("status", "open")
        mine = [o for o in ORDERS if o["owner"] == "me"]
        if not formatted:
            return response(200, {"orders": [o for o in mine if o["status"] == status]})
        if status.endswith("' OR 'mb'<>'mc"):
            return response(200, {"orders": ORDERS})
        if status.endswith("' AND 'mb'<>'mc"):
            literal = status.split("'")[0]
            return response(200, {"orders": [o for o in mine if o["status"] == literal]})
        if status.replace("''", "").count("'"):
            return response(
                400,
                {
                    "error": "An error occurred (ValidationException) when calling the "
                    "ExecuteStatement operation: Statement wasn't well formed, can't be "
                    "processed: Unterminated string literal"
                },
            )
        literal = status.replace("''", "'")
        return response(200, {"orders": [o for o in mine if o["status"] == literal]})

    return answer


def items_by_table(*, from_path: bool) -> Answer:
    """``GET /items/{table_name}/{item_id}``: the table named by the path, or an allow-list."""
    tables = {"orders": {"o1": {"id": "o1"}}, "users": {"u1": {"id": "u1"}}}

    def answer(request: Request) -> Response:
        _, _, table, item = urlsplit(request.url).path.split("/")
        if not from_path and table != "orders":
            return response(404, {"error": "not found"})
        if table not in tables:
            return response(
                400, {"error": "Requested resource not found", "code": "ResourceNotFoundException"}
            )
        found = tables[table].get(item)
        return response(200, found) if found else response(404, {"error": f"no {item} in {table}"})

    return answer


def user_search(*, client_filter: bool) -> Answer:
    """``GET /users/search?filter=``: the JSON is the ScanFilter, or only its EQ value is used."""

    def answer(request: Request) -> Response:
        condition = json.loads(_query(request)["filter"])["email"]
        operator, values = condition["ComparisonOperator"], condition.get("AttributeValueList")
        strict_eq = operator == "EQ" and isinstance(values, list) and len(values) == 1
        if not client_filter and not strict_eq:
            return response(400, {"error": "bad request"})
        if operator == "NOT_NULL":
            return response(200, {"users": USERS})
        if operator == "GE":
            return response(200, {"users": [u for u in USERS if u["email"] >= values[0]]})
        return response(200, {"users": [u for u in USERS if u["email"] == values[0]]})

    return answer


async def _run(
    path: str, parameters: tuple[Parameter, ...], url: str, sender: Any
) -> tuple[list[Finding], FakeSender]:
    op = Operation(method="GET", path=path, parameters=parameters)
    baseline_request = Request("GET", BASE + url)
    pair = (op, exchange("GET", url, sender.answer(baseline_request), operation=op.key))
    findings = await run_check(CHECK, baseline=make_baseline([pair]), sender=sender)
    return findings, sender


def _query_params(*names: str) -> tuple[Parameter, ...]:
    return tuple(Parameter(name, "query") for name in names)


def _labels(finding: Finding) -> list[str | None]:
    return [evidence.label for evidence in finding.evidence]


# --- expression injection ---------------------------------------------------------------------


async def test_dynamodb_injection_reports_expression_injection_confirmed_by_a_tautology(
    api: Any,
) -> None:
    url = "/tickets?" + urlencode({"field": "priority", "value": "high"})

    found, _ = await _run(
        "/tickets", _query_params("field", "value"), url, api(tickets(spliced=True))
    )

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("input_validation.dynamodb-expression-injection", "field", Confidence.confirmed)
    ]
    assert _labels(found[0]) == ["baseline", "probe", "control"]
    assert "attribute_exists(priority) OR priority" in found[0].detail
    assert "4 records" in found[0].detail and "2 records" in found[0].detail


async def test_dynamodb_injection_stays_quiet_when_the_field_is_allow_listed(api: Any) -> None:
    url = "/tickets?" + urlencode({"field": "priority", "value": "high"})

    found, sender = await _run(
        "/tickets", _query_params("field", "value"), url, api(tickets(spliced=False))
    )

    assert found == []
    assert len(sender.sent) == 2  # the breaker of each parameter, no follow-up


async def test_dynamodb_injection_reports_a_syntax_break_when_no_records_can_be_compared(
    api: Any,
) -> None:
    def projection(request: Request) -> Response:
        fields = _query(request).get("fields", "title")
        if not re.fullmatch(r"\w+(,\w+)*", fields):
            return _syntax_error(f'Syntax error; token: ")", near: "{fields}"')
        if set(fields.split(",")) & RESERVED:
            return _syntax_error("Attribute name is a reserved keyword; reserved keyword: x")
        return response(200, {"title": "a"})

    found, _ = await _run(
        "/ticket", _query_params("fields"), "/ticket?fields=title", api(projection)
    )

    assert [(f.type_id, f.confidence) for f in found] == [
        ("input_validation.dynamodb-expression-injection", Confidence.firm)
    ]
    assert "title)" in found[0].detail and "title_mbzq" in found[0].detail


async def test_dynamodb_injection_stays_quiet_when_the_control_fails_like_the_probe(
    api: Any,
) -> None:
    def always_broken(request: Request) -> Response:
        if _query(request).get("fields") == "title":
            return response(200, {"title": "a"})
        return _syntax_error("Syntax error; token: x")

    found, _ = await _run(
        "/ticket", _query_params("fields"), "/ticket?fields=title", api(always_broken)
    )

    assert found == []


# --- PartiQL injection ------------------------------------------------------------------------


async def test_dynamodb_injection_reports_partiql_injection_confirmed_by_a_tautology(
    api: Any,
) -> None:
    found, _ = await _run(
        "/orders", _query_params("status"), "/orders?status=open", api(orders(formatted=True))
    )

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("input_validation.partiql-injection", "status", Confidence.confirmed)
    ]
    assert _labels(found[0]) == ["baseline", "probe", "control"]
    assert "open' OR 'mb'<>'mc" in found[0].detail and "4 records" in found[0].detail


async def test_dynamodb_injection_stays_quiet_when_the_value_is_a_statement_parameter(
    api: Any,
) -> None:
    found, _ = await _run(
        "/orders", _query_params("status"), "/orders?status=open", api(orders(formatted=False))
    )

    assert found == []


async def test_dynamodb_injection_reports_a_quote_that_breaks_the_statement_firm(api: Any) -> None:
    def single(request: Request) -> Response:
        status = _query(request).get("status", "open")
        if status.replace("''", "").count("'"):
            return response(400, {"error": "Statement wasn't well formed, can't be processed"})
        return response(200, {"status": status})

    found, _ = await _run("/order", _query_params("status"), "/order?status=open", api(single))

    assert [(f.type_id, f.confidence) for f in found] == [
        ("input_validation.partiql-injection", Confidence.firm)
    ]
    assert "open''" in found[0].detail


async def test_dynamodb_injection_reports_is_not_missing_when_not_equal_is_refused(
    api: Any,
) -> None:
    def no_not_equal(request: Request) -> Response:
        status = _query(request).get("status", "open")
        if "<>" in status:
            return response(400, {"error": "Statement wasn't well formed: Unexpected token <>"})
        mine = [o for o in ORDERS if o["owner"] == "me"]
        if status.endswith("' OR status IS NOT MISSING OR 'mb'='mc"):
            return response(200, {"orders": ORDERS})
        if status.endswith("' AND status IS NOT MISSING AND 'mb'='mb"):
            return response(200, {"orders": [o for o in mine if o["status"] == "open"]})
        return orders(formatted=True)(request)

    found, _ = await _run(
        "/orders", _query_params("status"), "/orders?status=open", api(no_not_equal)
    )

    assert [(f.type_id, f.confidence) for f in found] == [
        ("input_validation.partiql-injection", Confidence.confirmed)
    ]
    assert "IS NOT MISSING" in found[0].detail


# --- table names ------------------------------------------------------------------------------


TABLE_PARAMS = (Parameter("table_name", "path"), Parameter("item_id", "path"))


async def test_dynamodb_injection_reports_a_table_named_by_the_path(api: Any) -> None:
    found, _ = await _run(
        "/items/{table_name}/{item_id}",
        TABLE_PARAMS,
        "/items/orders/o1",
        api(items_by_table(from_path=True)),
    )

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("input_validation.table-name-injection", "table_name", Confidence.firm)
    ]
    probe, control = found[0].evidence[1], found[0].evidence[2]
    assert probe.request.url == BASE + "/items/users/o1"  # "items" answered like no table
    assert control.request.url == BASE + "/items/mbzq_no_such_table/o1"
    assert "ResourceNotFoundException" in found[0].detail


async def test_dynamodb_injection_stays_quiet_when_tables_are_allow_listed(api: Any) -> None:
    found, sender = await _run(
        "/items/{table_name}/{item_id}",
        TABLE_PARAMS,
        "/items/orders/o1",
        api(items_by_table(from_path=False)),
    )

    assert found == []
    assert not any("/users/" in r.url for r in sender.sent)  # no table tried: the control was a 404


# --- legacy operators -------------------------------------------------------------------------


def _filter_url(value: str) -> str:
    condition = {"email": {"ComparisonOperator": "EQ", "AttributeValueList": [value]}}
    return "/users/search?" + urlencode({"filter": json.dumps(condition)})


async def test_dynamodb_injection_reports_a_client_chosen_comparison_operator(api: Any) -> None:
    found, _ = await _run(
        "/users/search",
        _query_params("filter"),
        _filter_url("a@x.example"),
        api(user_search(client_filter=True)),
    )

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("input_validation.dynamodb-operator-injection", "filter", Confidence.confirmed)
    ]
    assert "NOT_NULL" in found[0].detail and "3 records" in found[0].detail
    assert _labels(found[0]) == ["baseline", "probe", "control"]


async def test_dynamodb_injection_reports_ge_when_not_null_is_refused(api: Any) -> None:
    def no_not_null(request: Request) -> Response:
        if "NOT_NULL" in request.url:
            return response(400, {"error": "operator not supported"})
        return user_search(client_filter=True)(request)

    found, _ = await _run(
        "/users/search", _query_params("filter"), _filter_url("a@x.example"), api(no_not_null)
    )

    assert len(found) == 1 and "ComparisonOperator GE" in found[0].detail


async def test_dynamodb_injection_reports_ne_when_not_null_and_ge_are_refused(api: Any) -> None:
    def only_eq_and_ne(request: Request) -> Response:
        condition = json.loads(_query(request)["filter"])["email"]
        operator, values = condition["ComparisonOperator"], condition.get("AttributeValueList")
        if operator == "NE":
            return response(200, {"users": [u for u in USERS if u["email"] != values[0]]})
        if operator != "EQ":
            return response(400, {"error": "operator not supported"})
        return response(200, {"users": [u for u in USERS if u["email"] == values[0]]})

    found, _ = await _run(
        "/users/search", _query_params("filter"), _filter_url("a@x.example"), api(only_eq_and_ne)
    )

    assert len(found) == 1 and "ComparisonOperator NE" in found[0].detail
    assert "a@x.example" in found[0].evidence[1].request.url.replace("%40", "@")


async def test_dynamodb_injection_stays_quiet_when_only_eq_is_accepted(api: Any) -> None:
    found, _ = await _run(
        "/users/search",
        _query_params("filter"),
        _filter_url("a@x.example"),
        api(user_search(client_filter=False)),
    )

    assert found == []
