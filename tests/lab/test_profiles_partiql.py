"""The profiles service's PartiQL SELECT: sent as ExecuteStatement, or evaluated on dynalite."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lab.profiles.partiql import execute_select

pytestmark = pytest.mark.lab

ROWS = [
    {"id": "1", "owner_id": "alice", "status": "open", "total": Decimal("10.5")},
    {"id": "2", "owner_id": "alice", "status": "shipped", "total": Decimal("99")},
    {"id": "3", "owner_id": "bob", "status": "open", "total": Decimal("7")},
    {"id": "4", "owner_id": "bob", "status": "cancelled"},
]


class _Table:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def scan(self, **kwargs: Any) -> dict[str, Any]:
        start = int(kwargs.get("ExclusiveStartKey", {}).get("i", 0))
        page = self.rows[start : start + 2]  # two per page: pagination is followed
        out: dict[str, Any] = {"Items": page}
        if start + 2 < len(self.rows):
            out["LastEvaluatedKey"] = {"i": start + 2}
        return out


class _Client:
    def __init__(self, supported: bool) -> None:
        self.supported = supported
        self.sent: list[dict[str, Any]] = []

    def execute_statement(self, **request: Any) -> dict[str, Any]:
        self.sent.append(request)
        if not self.supported:
            error = {"Error": {"Code": "UnknownOperationException", "Message": ""}}
            raise ClientError(error, "ExecuteStatement")  # what dynalite answers
        return {"Items": [{"id": "from-server"}]}


def _resource(supported: bool = False) -> Any:
    client = _Client(supported)
    return SimpleNamespace(meta=SimpleNamespace(client=client), Table=lambda name: _Table(ROWS))


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["id"] for row in rows]


def test_partiql_is_sent_as_execute_statement_when_the_server_knows_it():
    resource = _resource(supported=True)
    rows = execute_select(resource, 'SELECT * FROM "t" WHERE status = ?', ["open"], limit=5)
    assert rows == [{"id": "from-server"}]
    assert resource.meta.client.sent == [
        {"Statement": 'SELECT * FROM "t" WHERE status = ?', "Parameters": ["open"], "Limit": 5}
    ]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("owner_id = 'alice' AND status = 'open'", ["1"]),
        ("owner_id = 'alice' AND status = 'x' OR '1'='1'", ["1", "2", "3", "4"]),
        ("NOT (status = 'open') AND total > 50", ["2"]),
        ("total <= 10.5", ["1", "3"]),
        ("total IS MISSING", ["4"]),
        ("begins_with(status, 'ca') OR status <> 'open' AND owner_id = 'bob'", ["4"]),
        ("owner_id = 'it''s'", []),
    ],
)
def test_partiql_where_clause_is_evaluated_like_dynamodb_on_dynalite(where, expected):
    assert _ids(execute_select(_resource(), f'SELECT * FROM "t" WHERE {where}')) == expected


def test_partiql_parameters_and_column_lists_are_honoured():
    rows = execute_select(
        _resource(), 'SELECT id, status FROM "t" WHERE owner_id = ? AND status = ?', ["bob", "open"]
    )
    assert rows == [{"id": "3", "status": "open"}]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM \"t\" WHERE status = '''",
        "SELECT * FROM \"t\" WHERE status = 'open' AND",
        'SELECT * FROM "t" WHERE status = ?',
        'DELETE FROM "t"',
        "SELECT * FROM \"t\" WHERE status = 'open' ; DROP",
    ],
)
def test_malformed_partiql_raises_dynamodbs_validation_error(statement):
    with pytest.raises(ClientError) as raised:
        execute_select(_resource(), statement)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "Statement wasn't well formed, can't be processed" in str(raised.value)
