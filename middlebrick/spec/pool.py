"""The value pool: every value the API produced during a scan, to fill path parameters with.

One pool serves the whole scan. Each value is kept with the field that held it (``book_title``),
its JSON path (``Books[].book_title``, ``author.username``), the operation and the resource
(``books`` for ``GET /books/v1``) that answered it, and the identity whose request it answered.
A path parameter takes, in order (see ``ValuePool.candidates``):

0. a value an OpenAPI response link of the answering operation names for exactly this
   parameter of this operation (``links: {getOrder: {operationId: getOrder, parameters:
   {ref: $response.body#/id}}}``; ``ValuePool.follow``, ``middlebrick.spec.links``);
1. a value of a field of the same name, whatever the name, across conventions (``userId``,
   ``user_id``, ``user-id`` and ``UserID`` are one name), the same resource's records first,
   then (within each rule) the records that mention the scanning identity;
2. the ``id`` of the records of the parent collection (``/items`` for ``/items/{item_id}``) or
   of the same resource; a resource-qualified name counts too (``{book_title}`` takes the
   ``title`` of a book, ``{title}`` under ``/books`` a ``book_title``);
3. a natural key of the same resource's records (``slug``, ``name``, ``title``, ``username``,
   ``handle``): the keys web frameworks route records by.

A value must fit the parameter's schema (an ``integer`` parameter takes digits only, a
``uuid`` one a UUID, an ``enum`` one a listed value). Nothing is invented: when no value fits,
the caller falls back on spec examples. The pool is deterministic (values in the order the
answers were added, documents walked breadth first) and bounded against hostile answers: nodes
walked per answer, values kept per field name and resource, length of a value, values and
records kept in all.

Objects the scan created (active mode) are added with their URL (``add(created=…)``): they
come first within each rule, ``candidates(created_only=True)`` gives only theirs (a write under
a parent object takes only one the scan made), and ``forget(url)`` drops them once the journal
deleted the object, so nothing uses an id that no longer exists.

Per-user values are those one identity's answers hold and another identity's do not
(``ValuePool.per_user``): the first candidates of a cross-identity (BOLA) read.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from middlebrick.spec.links import Answer, evaluate
from middlebrick.spec.model import Operation, Parameter

__all__ = ["Sighting", "ValuePool", "fits", "flat_name", "resource_of", "values_in"]

MAX_NODES = 5000
"""JSON nodes walked per answer."""
PER_KEY = 8
"""Distinct values kept per field name (across conventions) and resource; the identity's own
records keep eight times as many."""
MAX_LENGTH = 200
"""The longest value kept (a path segment, not a text)."""
MAX_VALUES = 20_000
"""Values kept in all."""
_LIST_ITEMS = 50  # items of one list walked
_RECORD_VALUES = 64  # values of a record remembered to tell whose it is
_MAX_RECORDS = 20_000  # records remembered in all
_OWN_FACTOR = 8  # the identity's own records keep this many times more values per name
_ELSEWHERE = 32  # same-name values from other resources ranked per parameter

# The fields frameworks route records by when not by ``id``: Django REST framework's
# ``lookup_field`` (typically ``slug`` or ``username``), Rails' friendly_id (``slug``),
# Laravel's route-model binding by column (``slug``, ``name``), GitHub-style handles.
_NATURAL_KEYS = ("slug", "name", "title", "username", "handle")
_GUESS = 3  # the rule from which a value is a guess (a natural key, not a name match)
_INTEGER = re.compile(r"^-?[0-9]{1,19}$")
_NUMBER = re.compile(r"^-?[0-9]+(?:\.[0-9]+)?$")
_UUID = re.compile(r"(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_VERSION = re.compile(r"(?i)^(?:v\d+(?:\.\d+)*|api|rest|latest)$")


@dataclass(frozen=True)
class Sighting:
    """One value the API produced, and where it was seen."""

    key: str  # the field as the answer spelled it
    path: str  # JSON path: ``Books[].book_title``, ``author.username``, ``[].id``
    value: str
    operation: str = ""  # the operation key that answered it ("" for the target's root)
    resource: str = ""  # the collection the operation reads (``books``), "" when unknown
    identity: str | None = None  # whose request it answered (None: unknown or anonymous)
    record: int = -1  # the record it belongs to, an index into the pool's records
    seq: int = 0  # the order it was seen in, across the pool
    created: str = ""  # the URL of the object the scan created that holds it ("" for none)

    @property
    def top_level(self) -> bool:
        """True for a record's own field (``[].id``, ``data[].id``), not a nested one."""
        tail = self.path.rsplit("[]", 1)[-1].lstrip(".")
        return "." not in tail


def flat_name(name: str) -> str:
    """A name without case or separators: ``userId``, ``user_id``, ``User-ID`` -> ``userid``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def resource_of(path: str, param: str | None = None) -> str:
    """The collection a path reads, lower-case: its last literal segment that is not a version.

    With ``param``, the collection before ``{param}``: ``books`` for ``/books/v1/{title}``.
    """
    if param is not None:
        path = path.split("{" + param + "}", 1)[0]
    for segment in reversed(path.strip("/").split("/")):
        if segment and "{" not in segment and not _VERSION.match(segment):
            return segment.lower()
    return ""


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


class ValuePool:
    """Every value the scan's answers held, by field name, with where each was seen."""

    def __init__(
        self,
        *,
        max_nodes: int = MAX_NODES,
        per_key: int = PER_KEY,
        max_length: int = MAX_LENGTH,
        max_values: int = MAX_VALUES,
    ) -> None:
        self.max_nodes, self.per_key = max_nodes, per_key
        self.max_length, self.max_values = max_length, max_values
        self._by_name: dict[str, dict[str, _Bucket]] = {}  # flat name -> resource -> values
        # (operation key, parameter, location or None) -> the values response links name for it
        self._linked: dict[tuple[str, str, str | None], _Bucket] = {}
        self._records: list[frozenset[str]] = []
        self._count = 0  # values kept now
        self._seq = 0  # values ever kept: the order seen
        self._by_identity: dict[str | None, frozenset[str]] = {}  # cache of ``seen_as``

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Sighting]:
        for buckets in self._by_name.values():
            for bucket in buckets.values():
                yield from bucket.sightings
        for bucket in self._linked.values():
            yield from bucket.sightings

    def add(
        self,
        body: Any,
        *,
        operation: Operation | None = None,
        identity: str | None = None,
        prefer: Collection[str] = (),
        created: str = "",
    ) -> None:
        """Keep the values of a parsed JSON answer of ``operation`` as ``identity`` saw it.

        Values of records that mention one of ``prefer`` (the identity's own ids) are kept
        beyond the per-name cap: the identity's objects are the ones worth reading. ``created``:
        the answer is the object the scan created at that URL (kept beyond the cap too).
        """
        op_key = operation.key if operation is not None else ""
        resource = resource_of(operation.path) if operation is not None else ""
        mine = set(prefer)
        queue: deque[tuple[Any, str, int]] = deque([(body, "", -1)])
        visited = 0
        while queue and visited < self.max_nodes and self._count < self.max_values:
            node, path, record = queue.popleft()
            visited += 1
            if isinstance(node, list):
                queue.extend((item, path + "[]", -1) for item in node[:_LIST_ITEMS])
                continue
            if not isinstance(node, dict):
                continue
            if record < 0:  # a list's item or the root: a record of its own
                record = self._record(node)
            own = bool(created) or (record >= 0 and bool(mine & self._records[record]))
            for key, value in node.items():
                if not isinstance(key, str):
                    continue
                where = f"{path}.{key}" if path else key
                if isinstance(value, dict):
                    queue.append((value, where, record))
                elif isinstance(value, list):
                    queue.append((value, where, -1))
                elif (text := self._text(value)) is not None:
                    sighting = Sighting(
                        key, where, text, op_key, resource, identity, record, created=created
                    )
                    self._keep(sighting, capped=not own)

    def follow(
        self,
        operation: Operation,
        answer: Answer,
        *,
        identity: str | None = None,
        created: str = "",
    ) -> None:
        """Keep the values ``operation``'s response links name in ``answer`` for the linked
        operations' parameters (``created``: the answer made the object at that URL)."""
        if not operation.links:
            return
        declared = frozenset(operation.responses)
        for link in operation.links:
            if not link.applies_to(answer.status, declared):
                continue
            for param in link.parameters:
                text = self._text(evaluate(param.expression, answer))
                if text is None or self._count >= self.max_values:
                    continue
                bucket = self._linked.setdefault(
                    (link.target, param.name, param.location), _Bucket()
                )
                sighting = Sighting(
                    param.name,
                    f"link:{link.name}",
                    text,
                    operation.key,
                    "",
                    identity,
                    -1,
                    0,
                    created,
                )
                self._put(bucket, sighting, self.per_key * _OWN_FACTOR)

    def forget(self, url: str) -> None:
        """Drop the values of the object the scan created at ``url`` (the journal deleted it)."""
        url = url.rstrip("/")
        buckets = [b for r in self._by_name.values() for b in r.values()]
        for bucket in [*buckets, *self._linked.values()]:
            if any(s.created.rstrip("/") == url for s in bucket.sightings if s.created):
                kept = [
                    s for s in bucket.sightings if s.created.rstrip("/") != url or not s.created
                ]
                self._count -= len(bucket.sightings) - len(kept)
                bucket.sightings = kept
                bucket.values = {s.value for s in kept}
                bucket.seen = {(s.value, s.identity) for s in kept}
                self._by_identity.clear()

    def values(self, name: str) -> list[Sighting]:
        """The sightings of a field name (across conventions), in the order they were added."""
        buckets = self._by_name.get(flat_name(name), {})
        return sorted((s for b in buckets.values() for s in b.sightings), key=lambda s: s.seq)

    def candidates(
        self,
        op: Operation,
        param: Parameter,
        *,
        prefer: Collection[str] = (),
        guesses: bool = True,
        created_only: bool = False,
    ) -> list[str]:
        """The values that may fill ``param`` of ``op``, best first (see the module docstring).

        ``guesses=False`` leaves out the natural keys (rule 3), which only guess that a record
        is routed by its slug or name: a caller with a declared example may prefer it.
        ``created_only``: only values of objects the scan created and has not deleted.
        Within a rule: the resource's own records first, then the scan's own objects, then
        (``prefer``: the values naming the scanning identity) the records that mention one,
        then the order seen.
        """
        resource = resource_of(op.path, param.name)
        wanted = flat_name(param.name)
        single = flat_name(_singular(resource))
        names = [wanted, "id", single + wanted, *_NATURAL_KEYS]
        if single and wanted.startswith(single) and wanted != single:
            names.append(wanted[len(single) :])
        ranked = [(-1, 0, made, 1, seq, value) for made, seq, value in self._links(op, param)]
        if created_only:
            ranked = [rank for rank in ranked if rank[2] == 0]
        for name in dict.fromkeys(names):
            buckets = self._by_name.get(name, {})
            # the resource's own first; a same-name value from elsewhere, a bounded few
            sightings = list(buckets[resource].sightings) if resource in buckets else []
            if name == wanted:
                elsewhere = (s for r, b in buckets.items() if r != resource for s in b.sightings)
                sightings += islice(elsewhere, _ELSEWHERE)
            for sighting in sightings:
                same = sighting.top_level and sighting.resource == resource
                rule = _rule(name, wanted, single, same=same)
                if rule is None or not (guesses or rule < _GUESS):
                    continue
                if created_only and not sighting.created:
                    continue
                if fits(param.schema, sighting.value):
                    mine = self._not_mine(sighting, prefer)
                    made = 0 if sighting.created else 1
                    ranked.append(
                        (rule, 0 if same else 1, made, mine, sighting.seq, sighting.value)
                    )
        ranked.sort()
        return list(dict.fromkeys(value for *_, value in ranked))

    def linked(self, op: Operation, param: Parameter) -> list[str]:
        """The values response links name for ``param`` of ``op`` (any location), best first:
        the scan's own objects', then in the order seen."""
        return list(dict.fromkeys(value for *_, value in sorted(self._links(op, param))))

    def _links(self, op: Operation, param: Parameter) -> Iterator[tuple[int, int, str]]:
        # an unqualified name (``holder``, not ``query.holder``) is the path parameter's when
        # there is one of that name
        path = param.location == "path" or all(p.name != param.name for p in op.params("path"))
        for location in (param.location, None) if path else (param.location,):
            for sighting in self._linked.get((op.key, param.name, location), _Bucket()).sightings:
                if fits(param.schema, sighting.value):
                    yield (0 if sighting.created else 1), sighting.seq, sighting.value

    def seen_by(self, value: str) -> set[str | None]:
        """The identities whose answers held ``value``."""
        return {s.identity for s in self if s.value == value}

    def seen_as(self, identity: str | None) -> frozenset[str]:
        """Every value the answers to ``identity``'s requests held."""
        if identity not in self._by_identity:
            self._by_identity[identity] = frozenset(s.value for s in self if s.identity == identity)
        return self._by_identity[identity]

    def per_user(self, identity: str, theirs: Collection[str]) -> set[str]:
        """The values ``identity``'s answers held that are not among ``theirs`` (the values of
        another identity's answers, see ``values_in``)."""
        return {value for value in self.seen_as(identity) if value not in theirs}

    def _not_mine(self, sighting: Sighting, prefer: Collection[str]) -> int:
        if not prefer or sighting.record < 0:
            return 1
        return 0 if any(value in self._records[sighting.record] for value in prefer) else 1

    def _record(self, node: Mapping[Any, Any]) -> int:
        if len(self._records) >= _MAX_RECORDS:
            return -1  # past the bound: its values are kept, but never told whose
        values: list[str] = []
        for value in node.values():
            inner = value.values() if isinstance(value, Mapping) else (value,)
            values.extend(t for v in inner if (t := self._text(v)) is not None)
        self._records.append(frozenset(values[:_RECORD_VALUES]))
        return len(self._records) - 1

    def _text(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int):
            return None
        text = str(value)
        if not 0 < len(text) <= self.max_length or "\n" in text:
            return None
        return text

    def _keep(self, sighting: Sighting, *, capped: bool) -> None:
        buckets = self._by_name.setdefault(flat_name(sighting.key), {})
        bucket = buckets.setdefault(sighting.resource, _Bucket())
        self._put(bucket, sighting, self.per_key if capped else self.per_key * _OWN_FACTOR)

    def _put(self, bucket: _Bucket, sighting: Sighting, limit: int) -> None:
        if (sighting.value, sighting.identity) in bucket.seen:
            return
        if sighting.value not in bucket.values and len(bucket.values) >= limit:
            return
        bucket.values.add(sighting.value)
        bucket.seen.add((sighting.value, sighting.identity))
        bucket.sightings.append(replace(sighting, seq=self._seq))
        self._count += 1
        self._seq += 1
        self._by_identity.clear()


@dataclass
class _Bucket:
    """The values of one field name on one resource."""

    sightings: list[Sighting] = field(default_factory=list)
    values: set[str] = field(default_factory=set)
    seen: set[tuple[str, str | None]] = field(default_factory=set)


def _rule(name: str, wanted: str, single: str, *, same: bool) -> int | None:
    """How well a field ``name`` fits a parameter (both flat), lower is better; None: not."""
    if name == wanted:
        return 0  # the same name, across conventions
    if not same:
        return None  # the other rules hold only for the resource's own records
    if name == "id":
        return 1
    if single and (name == single + wanted or wanted == single + name):
        return 2  # {book_title} and a book's title, {title} and a book_title
    if name in _NATURAL_KEYS:
        return _GUESS + _NATURAL_KEYS.index(name)
    return None


def fits(schema: Any, value: str) -> bool:
    """True when ``value`` (as text) may be a value of the parameter schema: its type
    (``integer``: digits), its ``uuid`` format, its ``enum``; an unknown schema takes anything."""
    if not isinstance(schema, Mapping):
        return True
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and value not in {str(item) for item in enum}:
        return False
    kind = schema.get("type")
    if kind == "integer" and not _INTEGER.match(value):
        return False
    if kind == "number" and not _NUMBER.match(value):
        return False
    return not (schema.get("format") == "uuid" and not _UUID.match(value))


def values_in(body: Any, *, max_nodes: int = MAX_NODES) -> set[str]:
    """Every short scalar value of a parsed JSON answer (bounded like the pool's walk)."""
    pool = ValuePool(max_nodes=max_nodes, per_key=MAX_VALUES)
    pool.add(body)
    return {s.value for s in pool}
