"""Item routes of the collections found: ``/api/members`` lists members, so ``/api/members/{id}``.

For each collection an answer holds (a JSON list of records with ids, bare or under a key
naming the resource), the id of its first record is tried at ``<collection>/<id>`` and at
``/<prefix>/<resource>/<id>`` for the usual prefixes (``/v1/users/u-1`` when ``/api/users/search``
answered ``{"users": [{"id": "u-1"}]}``). A candidate counts when it answers 2xx with a record
sharing a field with the listed one (or naming its id), and the same path with a made-up id does
not answer alike (a catch-all gives itself away there). It joins the surface as
``<path>/{<singular>_id}``, the harvested id as the parameter's example.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from middlebrick.discovery.records import collections, record, record_id, singular
from middlebrick.discovery.undocumented import control_token, has_content, unlike
from middlebrick.http.exchange import Exchange, Sender
from middlebrick.knowledge import discovery_paths
from middlebrick.spec.model import Operation, Parameter

if TYPE_CHECKING:
    from middlebrick.discovery.expand import Budget

_MAX_RESOURCES = 5
_MAX_PER_RESOURCE = 7


@dataclass(frozen=True)
class _Candidate:
    template: str  # /api/members/{member_id}
    path: str  # /api/members/1
    control: str  # /api/members/9999991
    parameter: Parameter
    listed: dict[str, Any]  # the record the id came from


async def item_routes(
    client: Sender,
    base: str,
    answers: Mapping[str, Exchange],
    known: set[str],
    budget: Budget,
) -> list[Operation]:
    """Item operations of the collections in ``answers`` (path -> exchange), checked live."""
    candidates = _candidates(answers, known, base)
    candidates = candidates[: max(0, budget.left // 2)]
    got = await budget.get(client, [base + c.path for c in candidates])
    hopeful = [
        (candidate, exchange)
        for candidate, exchange in zip(candidates, got, strict=True)
        if exchange is not None and _is_record_of(exchange, base + candidate.path, candidate)
    ]
    controls = await budget.get(client, [base + c.control for c, _ in hopeful])
    found: dict[str, Operation] = {}
    for (candidate, exchange), control in zip(hopeful, controls, strict=True):
        if control is not None and unlike(exchange, control) and candidate.template not in found:
            found[candidate.template] = Operation(
                method="GET",
                path=candidate.template,
                parameters=(candidate.parameter,),
                source="probed",
            )
    return list(found.values())


def _candidates(answers: Mapping[str, Exchange], known: set[str], base: str) -> list[_Candidate]:
    prefixes = ["", *discovery_paths().prefixes]
    seen: set[str] = set(known)
    resources: set[str] = set()
    found: list[_Candidate] = []
    for path, exchange in answers.items():
        if "{" in path or not exchange.ok or exchange.response is None:
            continue
        for collection in collections(exchange.response.json):
            last = path.rstrip("/").rsplit("/", 1)[-1].lower()
            resource = collection.resource or last
            if not resource or resource in resources or len(resources) >= _MAX_RESOURCES:
                continue
            listed = collection.records[0]
            ident = record_id(listed, resource)
            if ident is None:
                continue
            resources.add(resource)
            folders = [path.rstrip("/")] if last == resource else []
            folders += [f"/{p}/{resource}".replace("//", "/") for p in prefixes]
            name = f"{_slug(singular(resource))}_id"
            parameter = Parameter(
                name=name,
                location="path",
                required=True,
                schema={"type": "integer"} if ident[1].isdigit() else {"type": "string"},
                examples=(ident[1],),
            )
            made_up = _made_up(ident[1], base)
            added = 0
            for folder in dict.fromkeys(folders):
                template = f"{folder}/{{{name}}}"
                if template in seen or added >= _MAX_PER_RESOURCE:
                    continue
                seen.add(template)
                added += 1
                found.append(
                    _Candidate(
                        template,
                        f"{folder}/{_quoted(ident[1])}",
                        f"{folder}/{made_up}",
                        parameter,
                        listed,
                    )
                )
    return found


def _is_record_of(exchange: Exchange, url: str, candidate: _Candidate) -> bool:
    """2xx content at ``url`` holding a record that shares a field with the listed one."""
    if not has_content(exchange, url, None) or exchange.response is None:
        return False
    answered = record(exchange.response.json)
    if answered is None:
        return False
    shared = set(answered) & set(candidate.listed)
    value = str(candidate.parameter.examples[0])
    return bool(shared) or any(str(v) == value for v in answered.values())


def _made_up(ident: str, base: str) -> str:
    """An id of the same kind that no record has."""
    if ident.isdigit():
        return "9" * max(7, len(ident) + 2)
    return control_token(base)


def _quoted(ident: str) -> str:
    return quote(ident, safe="")


def _slug(word: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in word.lower()).strip("_") or "item"
