"""The baseline: each readable operation requested once with realistic values, shared by checks."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode

from middlebrick.events import EventSink, OperationBaselined
from middlebrick.http.exchange import Exchange, Headers, Request, Sender
from middlebrick.spec.model import Operation, Parameter, Surface
from middlebrick.spec.values import harvest_ids, serialize, value_for_parameter


@dataclass(frozen=True, eq=False)
class Baseline:
    """The baseline exchanges by operation key, plus the target URL's own answer."""

    operations: Mapping[str, Operation] = field(default_factory=dict)
    exchanges: Mapping[str, Exchange] = field(default_factory=dict)
    root: Exchange | None = None  # GET of the target URL as given

    def items(self) -> list[tuple[Operation, Exchange]]:
        """Every baselined operation with its exchange, in surface order."""
        return [
            (op, self.exchanges[key])
            for key, op in self.operations.items()
            if key in self.exchanges
        ]

    def successful(self, *, requires_auth: bool | None = None) -> list[tuple[Operation, Exchange]]:
        """Operations whose baseline answered 2xx, optionally filtered on requiring auth."""
        return [
            (op, ex)
            for op, ex in self.items()
            if ex.ok and (requires_auth is None or op.requires_auth == requires_auth)
        ]

    def responses(self) -> list[Exchange]:
        """Every exchange that got a response, the root first."""
        found = [self.root] if self.root is not None and self.root.response is not None else []
        found += [ex for _, ex in self.items() if ex.response is not None]
        return found

    def get(self, key: str) -> Exchange | None:
        """The exchange of one operation key."""
        return self.exchanges.get(key)


_CREDENTIAL_HEADERS = {"authorization", "cookie", "x-api-key", "proxy-authorization"}


async def build_baseline(
    client: Sender, surface: Surface, *, root: Exchange | None, on_event: EventSink | None = None
) -> Baseline:
    """Request each readable (GET) operation once with realistic values, in waves.

    Operations without path parameters go first; identifiers harvested from their responses fill
    the path parameters of later waves (``/items`` answers ``[{"id": "a1"}]`` so ``/items/{id}``
    is requested as ``/items/a1``).
    """
    readable = [op for op in surface.operations if op.method == "GET"]
    harvested: dict[str, list[str]] = {}
    by_path: dict[str, Exchange] = {}
    if root is not None and root.response is not None and root.response.json is not None:
        _merge(harvested, harvest_ids(root.response.json))
    exchanges: dict[str, Exchange] = {}
    waves: dict[int, list[Operation]] = {}
    for op in readable:
        waves.setdefault(len(op.params("path")), []).append(op)
    for count in sorted(waves):
        requests = [
            (op, build_request(op, surface.base_url, harvested, by_path)) for op in waves[count]
        ]
        results = await asyncio.gather(*(client.send(req) for _, req in requests))
        for (op, _), exchange in zip(requests, results, strict=True):
            exchange = replace(exchange, operation=op.key)
            exchanges[op.key] = exchange
            by_path[op.path] = exchange
            if on_event is not None:
                on_event(
                    OperationBaselined(
                        op.key, exchange.response.status if exchange.response else None
                    )
                )
            if exchange.ok and exchange.response is not None and exchange.response.json is not None:
                _merge(harvested, harvest_ids(exchange.response.json))
    return Baseline(operations={op.key: op for op in readable}, exchanges=exchanges, root=root)


def build_request(
    op: Operation,
    base_url: str,
    harvested: Mapping[str, list[str]] | None = None,
    by_path: Mapping[str, Exchange] | None = None,
) -> Request:
    """The realistic request for an operation: harvested ids, else examples and schema values."""
    harvested = harvested or {}
    path = op.path
    for param in op.params("path"):
        value = _harvested_value(op, param, harvested, by_path or {})
        if value is None:
            value = serialize(value_for_parameter(param))
        path = path.replace("{" + param.name + "}", quote(str(value), safe=""))
    query = [
        (p.name, serialize(value_for_parameter(p)))
        for p in op.params("query")
        if p.required or p.examples
    ]
    url = base_url.rstrip("/") + path + ("?" + urlencode(query) if query else "")
    headers = Headers()
    for param in op.params("header"):
        if param.required and param.name.lower() not in _CREDENTIAL_HEADERS:
            headers = headers.set(param.name, serialize(value_for_parameter(param)))
    cookies = [
        f"{p.name}={serialize(value_for_parameter(p))}" for p in op.params("cookie") if p.required
    ]
    if cookies:
        headers = headers.set("Cookie", "; ".join(cookies))
    return Request("GET", url, headers=headers)


def _harvested_value(
    op: Operation,
    param: Parameter,
    harvested: Mapping[str, list[str]],
    by_path: Mapping[str, Exchange],
) -> str | None:
    if harvested.get(param.name):
        return harvested[param.name][0]
    # "/items/{item_id}": the "id" of the first record the parent collection "/items" returned
    parent = op.path.split("/{" + param.name + "}", 1)[0]
    parent_exchange = by_path.get(parent)
    if parent_exchange is not None and parent_exchange.response is not None and parent_exchange.ok:
        ids = harvest_ids(parent_exchange.response.json).get("id")
        if ids:
            return ids[0]
    return None


def _merge(into: dict[str, list[str]], found: Mapping[str, list[str]]) -> None:
    for key, values in found.items():
        bucket = into.setdefault(key, [])
        for value in values:
            if value not in bucket and len(bucket) < 8:
                bucket.append(value)
