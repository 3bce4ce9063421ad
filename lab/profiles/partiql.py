"""PartiQL ``SELECT`` for the profiles service, on any DynamoDB-speaking server.

``execute_select(resource, statement, parameters)`` sends the statement with ``ExecuteStatement``
(DynamoDB, DynamoDB Local). dynalite does not implement ``ExecuteStatement``; there the statement
is evaluated here instead, over a ``Scan`` of its table, with the same meaning and DynamoDB's own
error text for a malformed statement. Only what the lab needs: ``SELECT * | a, b FROM "table"
[WHERE …]`` with ``= <> != < <= > >=``, ``AND``, ``OR``, ``NOT``, parentheses, ``begins_with``,
``IS [NOT] MISSING``, string and number literals and ``?`` parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from botocore.exceptions import ClientError

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<unterminated>'[^']*$)
    | (?P<quoted>"(?:[^"]|"")*")
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><>|!=|<=|>=|=|<|>)
    | (?P<punct>[(),*?])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IS", "MISSING"}
Row = dict[str, Any]
Predicate = Callable[[Row], bool]
Operand = Callable[[Row], Any]


def execute_select(
    resource: Any, statement: str, parameters: Sequence[Any] = (), limit: int | None = None
) -> list[Row]:
    """Run a PartiQL ``SELECT`` and return its items (plain Python values)."""
    client = resource.meta.client
    request: dict[str, Any] = {"Statement": statement}
    if parameters:
        request["Parameters"] = list(parameters)
    if limit is not None:
        request["Limit"] = limit
    try:
        items: list[Row] = client.execute_statement(**request)["Items"]
        return items
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "UnknownOperationException":
            raise
    table, columns, predicate = _parse(statement, list(parameters))
    rows = _scan(resource, table)
    selected = [row for row in rows if predicate(row)]
    if limit is not None:
        selected = selected[:limit]
    if columns is None:
        return selected
    return [{c: row[c] for c in columns if c in row} for row in selected]


def _scan(resource: Any, table: str) -> list[Row]:
    kwargs: dict[str, Any] = {}
    rows: list[Row] = []
    while True:
        page = resource.Table(table).scan(**kwargs)
        rows += page["Items"]
        if "LastEvaluatedKey" not in page:
            return rows
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _malformed(detail: str) -> ClientError:
    message = f"Statement wasn't well formed, can't be processed: {detail}"
    return ClientError(
        {"Error": {"Code": "ValidationException", "Message": message}}, "ExecuteStatement"
    )


class _Parser:
    """A recursive-descent parser that turns a statement into a predicate over rows."""

    def __init__(self, statement: str, parameters: list[Any]) -> None:
        self.tokens: list[tuple[str, str]] = []
        for match in _TOKEN.finditer(statement):
            kind = match.lastgroup or "bad"
            text = match.group(kind)
            if kind == "unterminated":
                raise _malformed("Unterminated string literal")
            if kind == "bad":
                raise _malformed(f"Unexpected character: {text}")
            self.tokens.append((kind, text))
        self.position = 0
        self.parameters = parameters
        self.used = 0

    def peek(self) -> tuple[str, str]:
        if self.position < len(self.tokens):
            return self.tokens[self.position]
        return ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end":
            raise _malformed("Unexpected end of statement")
        self.position += 1
        return token

    def keyword(self, word: str) -> bool:
        kind, text = self.peek()
        if kind == "word" and text.upper() == word:
            self.position += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.keyword(word):
            found = self.peek()[1] or "end of statement"
            raise _malformed(f"Expected {word} but found {found}")

    def punct(self, char: str) -> bool:
        if self.peek() == ("punct", char):
            self.position += 1
            return True
        return False

    def name(self) -> str:
        kind, text = self.take()
        if kind == "quoted":
            return text[1:-1].replace('""', '"')
        if kind == "word" and text.upper() not in _KEYWORDS:
            return text
        raise _malformed(f"Unexpected token: {text}")

    def disjunction(self) -> Predicate:
        terms = [self.conjunction()]
        while self.keyword("OR"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else lambda row: any(t(row) for t in terms)

    def conjunction(self) -> Predicate:
        terms = [self.negation()]
        while self.keyword("AND"):
            terms.append(self.negation())
        return terms[0] if len(terms) == 1 else lambda row: all(t(row) for t in terms)

    def negation(self) -> Predicate:
        if self.keyword("NOT"):
            inner = self.negation()
            return lambda row: not inner(row)
        return self.comparison()

    def comparison(self) -> Predicate:
        if self.punct("("):
            inner = self.disjunction()
            if not self.punct(")"):
                raise _malformed("Expected )")
            return inner
        kind, text = self.peek()
        if kind == "word" and text.lower() == "begins_with":
            self.position += 1
            return self.begins_with()
        left = self.operand()
        if self.keyword("IS"):
            negated = self.keyword("NOT")
            self.expect("MISSING")
            return lambda row: (left(row) is None) != negated
        kind, operator = self.take()
        if kind != "op":
            raise _malformed(f"Unexpected token: {operator}")
        right = self.operand()
        return lambda row: _compare(left(row), operator, right(row))

    def begins_with(self) -> Predicate:
        if not self.punct("("):
            raise _malformed("Expected (")
        left = self.operand()
        if not self.punct(","):
            raise _malformed("Expected ,")
        right = self.operand()
        if not self.punct(")"):
            raise _malformed("Expected )")

        def starts(row: Row) -> bool:
            value, prefix = left(row), right(row)
            return isinstance(value, str) and isinstance(prefix, str) and value.startswith(prefix)

        return starts

    def operand(self) -> Operand:
        kind, text = self.take()
        if kind == "string":
            literal: Any = text[1:-1].replace("''", "'")
            return lambda row: literal
        if kind == "number":
            number = Decimal(text)
            return lambda row: number
        if (kind, text) == ("punct", "?"):
            if self.used >= len(self.parameters):
                raise _malformed("Number of parameters in request and statement don't match")
            value = self.parameters[self.used]
            self.used += 1
            return lambda row: value
        self.position -= 1
        attribute = self.name()
        return lambda row: row.get(attribute)


def _parse(statement: str, parameters: list[Any]) -> tuple[str, list[str] | None, Predicate]:
    """Return (table, selected columns or None for ``*``, predicate) of a ``SELECT``."""
    parser = _Parser(statement, parameters)
    if not parser.keyword("SELECT"):
        raise _malformed("Expected SELECT, INSERT, UPDATE, or DELETE")
    columns: list[str] | None = None
    if not parser.punct("*"):
        columns = [parser.name()]
        while parser.punct(","):
            columns.append(parser.name())
    parser.expect("FROM")
    table = parser.name()
    predicate: Predicate = lambda row: True  # noqa: E731
    if parser.keyword("WHERE"):
        predicate = parser.disjunction()
    if parser.peek()[0] != "end":
        raise _malformed(f"Unexpected token: {parser.peek()[1]}")
    if parser.used != len(parameters):
        raise _malformed("Number of parameters in request and statement don't match")
    return table, columns, predicate


def _compare(left: Any, operator: str, right: Any) -> bool:
    if left is None or right is None:
        return False
    if isinstance(left, (int, float)) and not isinstance(left, bool):
        left = Decimal(str(left))
    if isinstance(right, (int, float)) and not isinstance(right, bool):
        right = Decimal(str(right))
    if type(left) is not type(right):
        return operator in ("<>", "!=")
    try:
        if operator == "=":
            return bool(left == right)
        if operator in ("<>", "!="):
            return bool(left != right)
        if operator == "<":
            return bool(left < right)
        if operator == "<=":
            return bool(left <= right)
        if operator == ">":
            return bool(left > right)
        return bool(left >= right)
    except (TypeError, InvalidOperation):
        return False
