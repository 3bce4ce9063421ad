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
from dataclasses import dataclass, replace
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
_IDS_TRIED = 3  # records of the first listing whose ids are tried at its own folder


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


@dataclass
class _Resource:
    """A resource the answers list: where its items may live, and ids to try there."""

    own: list[str]  # folders that listed it (``/items`` for ``{"items": [...]}`` at /items)
    ids: list[tuple[dict[str, Any], str]]  # (listed record, its id), first listing first


def _candidates(answers: Mapping[str, Exchange], known: set[str], base: str) -> list[_Candidate]:
    """Item paths to try: each listing's folder with a few listed ids, usual prefixes with one."""
    prefixes = ["", *discovery_paths().prefixes]
    resources = _resources(answers)
    seen: set[str] = set(known)
    found: list[_Candidate] = []
    for resource, listed in resources.items():
        first = listed.ids[0][1]
        name = f"{_slug(singular(resource))}_id"
        parameter = Parameter(
            name=name,
            location="path",
            required=True,
            schema={"type": "integer"} if first.isdigit() else {"type": "string"},
            examples=(first,),
        )
        made_up = _made_up(first, base)
        folders = listed.own + [f"/{p}/{resource}".replace("//", "/") for p in prefixes]
        added = 0
        for folder in dict.fromkeys(folders):
            template = f"{folder}/{{{name}}}"
            if template in seen or added >= _MAX_PER_RESOURCE:
                continue
            seen.add(template)
            added += 1
            # a listing's own folder gets a few ids: the first may be a record the caller sees
            # listed but may not read (another owner's, in a leaky list)
            for row, value in listed.ids if folder in listed.own else listed.ids[:1]:
                found.append(
                    _Candidate(
                        template,
                        f"{folder}/{_quoted(value)}",
                        f"{folder}/{made_up}",
                        replace(parameter, examples=(value,)),
                        row,
                    )
                )
    return found


def _resources(answers: Mapping[str, Exchange]) -> dict[str, _Resource]:
    """The resources the answers list (at most five), with their folders and listed ids."""
    found: dict[str, _Resource] = {}
    for path, exchange in answers.items():
        if "{" in path or not exchange.ok or exchange.response is None:
            continue
        last = path.rstrip("/").rsplit("/", 1)[-1].lower()
        for collection in collections(exchange.response.json):
            resource = collection.resource or last
            if not resource or (resource not in found and len(found) >= _MAX_RESOURCES):
                continue
            rows = (
                collection.records[:_IDS_TRIED] if resource not in found else collection.records[:1]
            )
            idents = [(row, ident[1]) for row in rows if (ident := record_id(row, resource))]
            if not idents:
                continue
            listed = found.setdefault(resource, _Resource([], []))
            if last == resource and path.rstrip("/") not in listed.own:
                listed.own.append(path.rstrip("/"))
            values = {value for _, value in listed.ids}
            listed.ids += [(row, v) for row, v in idents if v not in values][
                : max(0, _IDS_TRIED + 1 - len(listed.ids))
            ]
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
