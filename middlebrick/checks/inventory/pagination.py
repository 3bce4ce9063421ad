"""Inventory: collection operations the API description documents without pagination."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Schema

_PAGINATION = "inventory.missing-pagination"

LARGE_COLLECTION = 100
"""Records in one answer that show a collection without pagination is already a cost."""

_PAGING = re.compile(
    r"^(?:limit|page|pages?_?(?:size|number|no|num|index|token)|per_?page|size|offset|cursor|"
    r"after|before|starting_?after|ending_?before|start|from|skip|top|take|first|last|"
    r"max_?(?:results|items|count|keys)|next(?:_?(?:token|cursor|page))?|continuation(?:_?token)?|"
    r"marker|since_?id|max_?id|range|exclusive_?start_?key)$",
    re.I,
)


@check(category="inventory", emits={_PAGINATION})
async def pagination(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Collection operations in the API description that take no pagination parameter.

    Reads the surface and the baseline; sends no requests. A collection is a GET operation
    whose documented 2xx JSON response is an array, or an object with an array property (the
    first one is the list). It lacks pagination when none of its query or header parameters
    is a page size, page, offset or cursor (``limit``, ``page``, ``per_page``, ``cursor``,
    ``offset``, ``next_token``, ``marker`` …).

    When its baseline answer holds at least 100 records in that list, the cost is already
    real: default severity, confirmed. Otherwise (fewer records, or no usable answer) the
    finding is informational and tentative: nothing bounds the list, but it is small today.
    """
    async for operation in ctx.each(ctx.surface.operations):
        if operation.method != "GET" or operation.source != "spec":
            continue
        location = _list_location(operation.success_schema())
        if location is None or any(
            _PAGING.match(p.name) for p in operation.parameters if p.location in ("query", "header")
        ):
            continue
        exchange = ctx.baseline.get(operation.key)
        records = _records(exchange, location)
        where = f"property `{location}`" if location else "top-level array"
        if records is not None and records >= LARGE_COLLECTION:
            yield ctx.finding(
                _PAGINATION,
                operation,
                detail=f"`{operation.key}` documents a list ({where}) but no limit, page or "
                f"cursor parameter, and its answer returned {records} records at once",
                evidence=[exchange] if exchange is not None else [],
                confidence=Confidence.confirmed,
            )
            continue
        now = (
            f"its answer held {records} records"
            if records is not None
            else "its answer could not be read"
        )
        yield ctx.finding(
            _PAGINATION,
            operation,
            detail=f"`{operation.key}` documents a list ({where}) but no limit, page or cursor "
            f"parameter; {now}, so nothing bounds it as the data grows",
            evidence=[exchange] if exchange is not None and exchange.response else [],
            confidence=Confidence.tentative,
            severity=Severity.info,
        )


def _list_location(schema: Schema | None) -> str | None:
    """Where a response schema keeps its list: "" for an array body, else the property name."""
    if not schema:
        return None
    if _is_array(schema):
        return ""
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, prop in properties.items():
            if isinstance(prop, dict) and _is_array(prop) and _of_objects(prop):
                return str(name)
    return None


def _is_array(schema: Schema) -> bool:
    kind = schema.get("type")
    return kind == "array" or (isinstance(kind, list) and "array" in kind)


def _of_objects(schema: Schema) -> bool:
    items = schema.get("items")
    if not isinstance(items, dict):
        return False
    kind = items.get("type")
    return kind == "object" or "properties" in items or "allOf" in items or kind is None


def _records(exchange: Exchange | None, location: str) -> int | None:
    """How many records the answer's list holds, when it answered 2xx with that list."""
    if exchange is None or exchange.response is None or not exchange.ok:
        return None
    body: Any = exchange.response.json
    if location and isinstance(body, dict):
        body = body.get(location)
    return len(body) if isinstance(body, list) else None
