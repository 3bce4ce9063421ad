"""The baseline: each readable operation requested once with realistic values, shared by checks."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from urllib.parse import quote, urlencode

from middlebrick.events import EventSink, OperationBaselined
from middlebrick.http.exchange import Exchange, Headers, Request, Sender
from middlebrick.spec.links import Answer, path_values
from middlebrick.spec.model import Operation, Parameter, Surface
from middlebrick.spec.pool import ValuePool, resource_of
from middlebrick.spec.values import serialize, value_for_parameter


@dataclass(frozen=True, eq=False)
class Baseline:
    """The baseline exchanges by operation key, plus the target URL's own answer."""

    operations: Mapping[str, Operation] = field(default_factory=dict)
    exchanges: Mapping[str, Exchange] = field(default_factory=dict)
    root: Exchange | None = None  # GET of the target URL as given
    pool: ValuePool = field(default_factory=ValuePool)  # every value the answers held

    def items(self) -> Sequence[tuple[Operation, Exchange]]:
        """Every baselined operation with its exchange, in surface order."""
        return self._items

    def successful(
        self, *, requires_auth: bool | None = None
    ) -> Sequence[tuple[Operation, Exchange]]:
        """Operations whose baseline answered 2xx with data (not an error envelope such as
        ``{"success": false, "error": …}``), optionally filtered on requiring auth."""
        if requires_auth is None:
            return self._successful
        return tuple((op, ex) for op, ex in self._successful if op.requires_auth == requires_auth)

    def responses(self) -> Sequence[Exchange]:
        """Every exchange that got a response, the root first."""
        return self._responses

    # Computed once: every check walks them, and a copy each on a large surface adds up.
    @cached_property
    def _items(self) -> tuple[tuple[Operation, Exchange], ...]:
        exchanges = self.exchanges
        return tuple(
            (op, exchanges[key]) for key, op in self.operations.items() if key in exchanges
        )

    @cached_property
    def _successful(self) -> tuple[tuple[Operation, Exchange], ...]:
        return tuple((op, ex) for op, ex in self._items if ex.answered)

    @cached_property
    def _responses(self) -> tuple[Exchange, ...]:
        root = (self.root,) if self.root is not None and self.root.response is not None else ()
        return root + tuple(ex for _, ex in self._items if ex.response is not None)

    def get(self, key: str) -> Exchange | None:
        """The exchange of one operation key."""
        return self.exchanges.get(key)


_CREDENTIAL_HEADERS = {"authorization", "cookie", "x-api-key", "proxy-authorization"}
AT_ONCE = 256  # sends of a wave pending at once (the most --concurrency allows)


async def build_baseline(
    client: Sender,
    surface: Surface,
    *,
    root: Exchange | None,
    on_event: EventSink | None = None,
    own: Collection[str] = (),
    owned: Mapping[str, list[str]] | None = None,
    identity: str | None = None,
) -> Baseline:
    """Request each readable (GET) operation once with realistic values, in waves.

    Operations without path parameters go first; the values of their answers go into the
    scan's value pool (``middlebrick.spec.pool``), which fills the path parameters of later
    waves (``/books`` answers ``[{"book_title": "t1"}]`` so ``/books/{book_title}`` is
    requested as ``/books/t1``, and ``/items`` answers ``[{"id": "a1"}]`` so ``/items/{id}``
    is ``/items/a1``); a value an OpenAPI response link names fills exactly the linked
    operation's parameter, before any value matched by name (and the target goes in a later
    wave than its source). ``own`` holds the values that name the scanning identity (its user
    id, objects it owns): records that mention one are preferred, so the baseline reads the
    identity's own objects rather than another owner's listed beside them. ``owned`` holds ids
    given for a resource (``--owns alice=books:12``): a path parameter of that resource
    (``/books/{book_id}``, ``/books/{id}``) takes them first. ``identity`` names whose
    credentials the requests carry, recorded with every value.
    """
    prefer = set(own)
    pool = ValuePool()
    readable = [op for op in surface.operations if op.method == "GET"]
    if root is not None and root.response is not None and root.response.json is not None:
        pool.add(root.response.json, identity=identity, prefer=prefer)
    exchanges: dict[str, Exchange] = {}
    waves: dict[int, list[Operation]] = {}
    for op, wave in _waves(readable).items():
        waves.setdefault(wave, []).append(op)
    for count in sorted(waves):
        mine = frozenset(prefer)
        requests = (  # built as they are sent, so a large wave never holds up the loop
            build_request(op, surface.base_url, pool, mine, owned) for op in waves[count]
        )
        results = await send_all(client, requests)
        for op, exchange in zip(waves[count], results, strict=True):
            exchange = replace(exchange, operation=op.key)
            exchanges[op.key] = exchange
            if on_event is not None:
                on_event(
                    OperationBaselined(
                        op.key, exchange.response.status if exchange.response else None
                    )
                )
            if exchange.ok and exchange.response is not None and exchange.response.json is not None:
                body = exchange.response.json
                if not op.params("path") and isinstance(body, dict):
                    prefer.update(_self_ids(op, body))
                pool.add(body, operation=op, identity=identity, prefer=prefer)
            if exchange.ok and op.links:
                pool.follow(op, answer_of(op, exchange), identity=identity)
    return Baseline(
        operations={op.key: op for op in readable}, exchanges=exchanges, root=root, pool=pool
    )


def _waves(readable: Sequence[Operation]) -> dict[Operation, int]:
    """The wave of each operation: its number of path parameters, and a target of another
    one's response link goes after that one (one pass, so a cycle of
    links ends; a link back to its own source is not followed)."""
    waves = {op: len(op.params("path")) for op in readable}
    by_key = {op.key: op for op in readable}
    after: set[tuple[str, str]] = set()  # (source, target) pairs applied
    for op in readable:
        for link in op.links:
            target = by_key.get(link.target)
            if target is None or target is op:
                continue
            if (target.key, op.key) in after:
                continue  # a link back: the first one stated keeps its order
            after.add((op.key, target.key))
            waves[target] = max(waves[target], waves[op] + 1)
    return waves


def answer_of(op: Operation, exchange: Exchange) -> Answer:
    """What an OpenAPI link's runtime expressions read in one exchange of ``op``."""
    request, response = exchange.request, exchange.response
    body = response.json if response is not None else None
    try:
        request_body = json.loads(request.body) if request.body else None
    except ValueError:
        request_body = None
    return Answer(
        method=request.method,
        url=request.url,
        status=response.status if response is not None else 0,
        path=path_values(op.path, request.url),
        request_headers=request.headers.get,
        response_headers=response.headers.get if response is not None else lambda _name: None,
        body=body,
        request_body=request_body,
    )


async def send_all(client: Sender, requests: Iterable[Request]) -> list[Exchange]:
    """Send every request, at most ``AT_ONCE`` waiting at a time; the answers in order.

    However many operations a wave holds, only ``AT_ONCE`` sends are pending at once (the
    client's pace decides how many are on the wire), and ``requests`` is read as they go. The
    first exception (a spent budget) stops the others and is raised.
    """
    answers: dict[int, Exchange] = {}
    queue = enumerate(requests)

    async def worker() -> None:
        for index, request in queue:
            answers[index] = await client.send(request)

    workers = [asyncio.ensure_future(worker()) for _ in range(AT_ONCE)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    return [answers[index] for index in range(len(answers))]


def build_request(
    op: Operation,
    base_url: str,
    pool: ValuePool | None = None,
    prefer: Collection[str] = (),
    owned: Mapping[str, list[str]] | None = None,
) -> Request:
    """The realistic request for an operation: ids given for its resource with ``--owns``,
    values the API produced (the pool), else examples and schema values; a query parameter a
    response link names takes the linked value (and is sent, even when optional)."""
    path = op.path
    for param in op.params("path"):
        value = _owned_value(op, param, owned or {})
        if value is None and pool is not None:
            # a declared example beats a guess (a record's name taken for its key)
            found = pool.candidates(op, param, prefer=prefer, guesses=not param.examples)
            value = found[0] if found else None
        if value is None:
            value = serialize(value_for_parameter(param))
        path = path.replace("{" + param.name + "}", quote(str(value), safe=""))
    query = []
    for param in op.params("query"):
        linked = pool.linked(op, param) if pool is not None else []
        if linked:  # the value a response link names for it
            query.append((param.name, linked[0]))
        elif param.required or param.examples:
            query.append((param.name, serialize(value_for_parameter(param))))
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


def _owned_value(op: Operation, param: Parameter, owned: Mapping[str, list[str]]) -> str | None:
    """An id given with ``--owns NAME=RESOURCE:ID`` for the collection ``param`` sits under."""
    if not owned:
        return None
    collection = resource_of(op.path, param.name)
    for resource, values in owned.items():
        if values and collection in (resource, resource + "s", resource.removesuffix("s")):
            return values[0]
    return None


_ME = re.compile(r"/(me|whoami|profile|account|users/me|api/me)/?$", re.I)
_SELF_FIELDS = ("id", "user_id", "userId", "username", "email", "sub")


def _self_ids(op: Operation, body: Mapping[str, object]) -> set[str]:
    """What a ``/me``-style answer says the identity is called (its id, username, email)."""
    if not _ME.search(op.path):
        return set()
    return {
        str(value)
        for key in _SELF_FIELDS
        if isinstance(value := body.get(key), str | int) and not isinstance(value, bool)
    }
