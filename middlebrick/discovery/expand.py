"""Crawl mode: more of the surface when the target serves no API description.

::

    expanded = await expand_surface(client, surface, crawled.pages)  # at most 72 requests
    operations = (*surface.operations, *expanded.operations)

In this order, until the cap is spent:

1. **Listed routes.** A debug page the crawl met that lists the routes (Django's technical 404)
   gives them as templates (``/api/members/{member_id}``).
2. **Routes.** The ``resources`` of ``knowledge/discovery_paths.yaml`` (``users/me``,
   ``orders`` …) under the base, the first of its ``prefixes`` (``/api``) and any prefix a
   crawled path lies under. A route counts when it answers with content unlike its control
   (the same folder with a segment that cannot exist), or refuses the request (400, 401, 403,
   422) where its control answers 404 or 410.
3. **Query parameters.** A 422 that names missing query parameters (pydantic's ``detail``)
   gives them; a route that answers 400 without parameters gets each ``query_params`` name
   once (``url=`` set to the target's own base URL); a name that changes the answer, where an
   unknown name does not, becomes a parameter with that example. Pagination fields of an
   answer (``next_cursor``) give a ``cursor`` parameter.
4. **Item routes** (:mod:`middlebrick.discovery.items`): ``<collection>/{<singular>_id}`` for
   the collections found, checked with a harvested id against a made-up one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

from middlebrick.discovery.debug_routes import listed_routes
from middlebrick.discovery.items import item_routes
from middlebrick.discovery.undocumented import control_token, has_content, send_all, unlike
from middlebrick.http.exchange import Exchange, Sender
from middlebrick.knowledge import discovery_paths
from middlebrick.spec.model import Operation, Parameter, Surface

__all__ = ["DEFAULT_MAX_REQUESTS", "Budget", "Expanded", "expand_surface", "with_operations"]

DEFAULT_MAX_REQUESTS = 72
"""The most requests one expansion sends: routes, their controls, parameters and item routes."""

_MAX_GRID_PREFIXES = 3  # the base, the first usual prefix, one a crawled path shows
_REFUSED = frozenset({400, 401, 403, 422})
_ABSENT = frozenset({404, 410})
_MAX_PARAM_ROUTES = 3  # routes refusing a bare request that get the query_params names
_SHARED_BODY = 3
_URL_NAMES = frozenset({"url", "uri", "link", "src", "source", "target", "dest", "callback"})
_CURSOR_FIELDS = re.compile(r"^(?:next_?)?(cursor|page_?token|token|marker|after)$", re.I)


class Budget:
    """How many requests are left to one expansion."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.sent = 0
        self.stopped: str | None = None

    def take(self, wanted: int) -> int:
        """How many of ``wanted`` requests may be sent now (they are counted as sent)."""
        granted = max(0, min(wanted, self.left)) if self.stopped is None else 0
        self.left -= granted
        self.sent += granted
        return granted

    async def get(self, client: Sender, urls: list[str]) -> list[Exchange | None]:
        """GET the URLs the budget allows (``None`` for the rest, or one out of scope)."""
        granted = self.take(len(urls))
        answers, stopped = await send_all(client, urls[:granted])
        self.stopped = self.stopped or stopped
        return [*answers, *([None] * (len(urls) - granted))]


@dataclass(frozen=True)
class Expanded:
    """What crawl-mode expansion added to the surface, and what it cost."""

    operations: tuple[Operation, ...] = ()
    requests: int = 0
    stopped: str | None = None

    def note(self) -> str:
        """One plain sentence for the report."""
        if self.operations:
            keys = ", ".join(op.key for op in self.operations)
            found = f"{len(self.operations)} answered and joined it: {keys}"
        else:
            found = "none answered"
        stopped = f" (stopped early: {self.stopped})" if self.stopped else ""
        return (
            f"looked for usual routes, their parameters and item routes with "
            f"{self.requests} requests; {found}{stopped}"
        )


@dataclass(frozen=True)
class _Route:
    path: str
    answer: Exchange


async def expand_surface(
    client: Sender,
    surface: Surface,
    pages: dict[str, Exchange],
    *,
    max_requests: int = DEFAULT_MAX_REQUESTS,
) -> Expanded:
    """GET operations a crawled surface lacks, found by bounded, controlled probing.

    ``pages`` are the crawl's answers by path. Sends at most ``max_requests`` GETs through
    ``client``; a spent budget stops it with what it found; a path outside the scope is skipped.
    """
    budget = Budget(max_requests)
    base = surface.base_url.rstrip("/")
    known = {op.path for op in surface.operations}
    listed = [op for op in listed_routes(pages.values()) if op.path not in known]
    known |= {op.path for op in listed}
    routes = await _routes(client, base, known, pages, budget)
    operations = [*listed]
    for route in routes:
        operations.append(await _with_query(client, base, route, budget))
    answers = {**pages, **{r.path: r.answer for r in routes}}
    known |= {route.path for route in routes}
    operations += await item_routes(client, base, answers, known, budget)
    return Expanded(tuple(operations), requests=budget.sent, stopped=budget.stopped)


async def _routes(
    client: Sender, base: str, known: set[str], pages: dict[str, Exchange], budget: Budget
) -> list[_Route]:
    """The usual routes that answer under the base and the live prefixes."""
    vocabulary = discovery_paths()
    evidenced = [p for p in vocabulary.prefixes if any(k.startswith(f"/{p}/") for k in known)]
    prefixes = list(dict.fromkeys(["", *vocabulary.prefixes[:1], *evidenced]))
    paths = [
        path
        for prefix in prefixes[:_MAX_GRID_PREFIXES]
        for resource in vocabulary.resources
        if (path := f"/{prefix}/{resource}".replace("//", "/")) not in known
    ]
    paths = list(dict.fromkeys(paths))
    token = control_token(base)
    controls = list(dict.fromkeys(_control(path, token) for path in paths))
    paths = paths[: max(0, budget.left - len(controls))]
    controls = list(dict.fromkeys(_control(path, token) for path in paths))
    answers = await budget.get(client, [base + p for p in [*paths, *controls]])
    got = dict(zip([*paths, *controls], answers, strict=True))
    root = pages.get("/")
    bodies: dict[bytes, int] = {}
    for path in paths:
        exchange = got[path]
        if exchange is not None and exchange.ok and exchange.response is not None:
            bodies[exchange.response.body] = bodies.get(exchange.response.body, 0) + 1
    found: list[_Route] = []
    for path in paths:
        exchange, control = got[path], got[_control(path, token)]
        if exchange is None or exchange.response is None or control is None:
            continue
        if exchange.ok:
            shared = bodies.get(exchange.response.body, 0) >= _SHARED_BODY
            live = has_content(exchange, base + path, root) and unlike(exchange, control)
            if live and not shared:
                found.append(_Route(path, exchange))
        elif _refused_not_absent(exchange, control):
            found.append(_Route(path, exchange))
    return found


def _control(path: str, token: str) -> str:
    return path.rsplit("/", 1)[0] + "/" + token


def _refused_not_absent(exchange: Exchange, control: Exchange) -> bool:
    """A refusal (400/401/403/422) where a path that cannot exist answers 404 or 410."""
    ours, theirs = exchange.response, control.response
    if ours is None or theirs is None or ours.status not in _REFUSED:
        return False
    asked = urlsplit(exchange.request.url).path
    return urlsplit(ours.url or exchange.request.url).path == asked and theirs.status in _ABSENT


async def _with_query(client: Sender, base: str, route: _Route, budget: Budget) -> Operation:
    """The route's GET operation, with the query parameters its answers reveal."""
    response = route.answer.response
    assert response is not None
    params: list[Parameter] = []
    if response.status == 422:
        params = [_param(name, base, required=True) for name in _missing_query(response.json)]
    elif response.status == 400:
        params = await _probe_names(client, base, route, budget)
    elif response.ok:
        params = _pagination(response.json)
    return Operation(method="GET", path=route.path, parameters=tuple(params), source="probed")


def _missing_query(body: Any) -> list[str]:
    """The query parameters a pydantic-style 422 says are missing or invalid."""
    names: list[str] = []
    detail = body.get("detail") if isinstance(body, dict) else None
    for entry in detail if isinstance(detail, list) else []:
        loc = entry.get("loc") if isinstance(entry, dict) else None
        if not isinstance(loc, list) or len(loc) != 2 or loc[0] != "query":
            continue
        if isinstance(loc[1], str) and loc[1] not in names:
            names.append(loc[1])
    return names[:5]


async def _probe_names(client: Sender, base: str, route: _Route, budget: Budget) -> list[Parameter]:
    """Each usual query parameter name once; those that change the 400 become parameters."""
    names = discovery_paths().query_params
    bogus = control_token(base)
    urls = [
        f"{base}{route.path}?{urlencode({name: _value(name, base)})}" for name in (*names, bogus)
    ]
    answers = await budget.get(client, urls)
    control = answers[-1]
    if control is None or _differs(route.answer, control):
        return []  # any name changes the answer (or no verdict): none is telling
    return [
        _param(name, base)
        for name, answer in zip(names, answers[:-1], strict=True)
        if answer is not None and _differs(route.answer, answer)
    ]


def _differs(bare: Exchange, probe: Exchange) -> bool:
    ours, theirs = bare.response, probe.response
    return ours is not None and theirs is not None and ours.status != theirs.status


def _pagination(body: Any) -> list[Parameter]:
    """A cursor query parameter when the answer names its next page (``next_cursor``)."""
    if not isinstance(body, dict):
        return []
    for key, value in body.items():
        match = _CURSOR_FIELDS.match(str(key))
        if match and (value is None or isinstance(value, str)):
            name = "cursor" if match.group(1).lower() == "cursor" else str(key)
            return [Parameter(name=name, location="query", examples=(value,) if value else ())]
    return []


def _param(name: str, base: str, *, required: bool = False) -> Parameter:
    return Parameter(name=name, location="query", required=required, examples=(_value(name, base),))


def _value(name: str, base: str) -> str:
    """A harmless value: the target's own base URL for URL-like names, else ``1``."""
    return base + "/" if name.lower() in _URL_NAMES else "1"


def with_operations(surface: Surface, expanded: Expanded) -> Surface:
    """``surface`` with the expansion's operations and note."""
    return replace(
        surface,
        operations=(*surface.operations, *expanded.operations),
        notes=(*surface.notes, expanded.note()),
    )
