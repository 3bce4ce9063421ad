"""Whose data an answer holds: its records, their owner fields, and the values naming each user.

Shared by the bola checks. A *record* is a JSON object of an answer: the objects of its first
list of objects (looked for two levels deep), else the object itself (a lone ``{"Item": {…}}``
wrapper is opened). DynamoDB AttributeValues (``{"S": "x"}``) are read as plain values. An
*owner field* names who a record belongs to: ``owner``, ``owner_id``, ``owner_email``,
``created_by`` always; ``user_id``, ``account_id``, ``customer_id``, ``username``… only when
the record also has an id of its own (in a user record ``user_id`` is the record's own key).
An owner field may hold the owner as an object (``"created_by": {"id": 2, "email": …}``): its
identifying fields count, named ``created_by.email``.

Ownership is proven by an owner field equal to one of the identity's own stable identifiers (its
token subject, its ``/me`` record), by an id given with ``--owns``, or, for a user record, by
its own id together with its own e-mail or user name. A record's own id alone, equal to a small
integer that also numbers the identity, proves nothing (project 2 is not the project of the
user whose id is 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from middlebrick.auth import is_credential_header
from middlebrick.checks._compare import is_empty_json, looks_like_denial, same_shape
from middlebrick.config import ScanRequest
from middlebrick.http.exchange import Exchange, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation, Parameter
from middlebrick.tokens import bearer_token, decode_jwt

_STRONG_OWNER = re.compile(
    r"(?i)^(?:owner|owner_?(?:id|uuid|email|name|sub)|created_?by|posted_?by)$"
)
_WEAK_OWNER = re.compile(
    r"(?i)^(?:user|user_?(?:id|uuid|sub)|uid|account_?id|customer_?id|user_?name)$"
)
_TENANT = re.compile(
    r"(?i)^(?:tenant|tenant_?(?:id|name|slug)|tid|org|org_?id|organi[sz]ation(?:_?id)?|"
    r"workspace(?:_?id)?|company_?id)$"
)
_ID_SUFFIXES = ("_id", "Id", "ID", "_uuid", "Uuid", "_key", "Key")
_ID_NAMES = frozenset({"id", "uuid", "guid", "key", "pk", "sk", "slug"})
_SECRET_NAMES = re.compile(r"(?i)secret|passw|token|api_?key|access_?key|private|signing|session")
_AV_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
_WRAPPERS = ("Item", "item", "data", "result", "record")
_MAX_RECORDS = 200
_SELF_KEYS = frozenset({"email", "username", "user_name", "login", "sub"})
_PERSON_KEYS = frozenset({"email", "username", "user_name", "login"})
_NESTED_KEYS = ("id", "pk", "uuid", "email", "username", "user_name", "login", "sub")
_NUMBER = re.compile(r"^[0-9]{1,12}$")


def plain(value: Any) -> Any:
    """A DynamoDB AttributeValue (``{"S": "x"}``, ``{"N": "1"}``, ``{"M": {…}}``) as its value."""
    if isinstance(value, dict) and len(value) == 1:
        kind, inner = next(iter(value.items()))
        if kind in _AV_TYPES:
            if kind == "M" and isinstance(inner, dict):
                return {k: plain(v) for k, v in inner.items()}
            if kind == "L" and isinstance(inner, list):
                return [plain(v) for v in inner]
            return inner
    return value


def records(body: Any) -> list[dict[str, Any]]:
    """The records of a JSON body, AttributeValues read as plain values."""
    found = _record_list(body)
    return [{str(k): plain(v) for k, v in item.items()} for item in found[:_MAX_RECORDS]]


def is_collection(body: Any) -> bool:
    """True when the body holds a list of objects (a page of records, not one object)."""
    return _first_list(body, depth=0) is not None


def _record_list(body: Any) -> list[dict[str, Any]]:
    listed = _first_list(body, depth=0)
    if listed is not None:
        return listed
    if isinstance(body, dict):
        for key in _WRAPPERS:
            inner = body.get(key)
            if isinstance(inner, dict) and len(body) <= 3:
                return [inner]
        return [body]
    return []


def _first_list(body: Any, depth: int) -> list[dict[str, Any]] | None:
    """The first list of objects, in an envelope (``{"items": […]}``) but not inside an object.

    An object with an id of its own (``{"item_id": …, "comments": […]}``) is one record.
    """
    if isinstance(body, list):
        dicts = [item for item in body if isinstance(item, dict)]
        return dicts if dicts else None
    if isinstance(body, dict) and depth < 2 and not _has_own_id(body):
        for value in body.values():
            found = _first_list(value, depth + 1)
            if found is not None:
                return found
    return None


def _has_own_id(body: dict[Any, Any]) -> bool:
    return any(
        isinstance(k, str) and is_id_key(k) and scalar(v) is not None for k, v in body.items()
    )


def scalar(value: Any) -> str | None:
    """A string or integer value as text; ``None`` for anything else (booleans included)."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if 0 < len(text) <= 200 else None


def is_id_key(key: str) -> bool:
    """True for keys that usually hold an identifier (``id``, ``*_id``, ``uuid``, ``pk``…)."""
    if _SECRET_NAMES.search(key):
        return False
    return key.lower() in _ID_NAMES or key.endswith(_ID_SUFFIXES)


def owner_fields(record: Mapping[str, Any]) -> dict[str, str]:
    """The owner fields of one record and their values (an owner object's as ``key.field``)."""
    values = {k: v for k, raw in record.items() if (v := scalar(raw)) is not None}
    own_id = any(
        is_id_key(k) and not _STRONG_OWNER.match(k) and not _WEAK_OWNER.match(k) for k in values
    )
    found = {
        k: v
        for k, v in values.items()
        if _STRONG_OWNER.match(k) or (own_id and _WEAK_OWNER.match(k))
    }
    for key, raw in record.items():
        inner = plain(raw)
        if not isinstance(inner, Mapping):
            continue
        if not (_STRONG_OWNER.match(key) or (own_id and _WEAK_OWNER.match(key))):
            continue
        for name in _NESTED_KEYS:
            value = scalar(inner.get(name))
            if value is not None:
                found[f"{key}.{name}"] = value
    return found


def is_person(record: Mapping[str, Any]) -> bool:
    """True when a record describes a person (a user or member record): it carries an e-mail
    or user name and names its user only through weak fields (``user_id``), never through an
    owner or creator (``owner_id``, ``created_by``)."""
    personal = any(k.lower() in _PERSON_KEYS and scalar(v) is not None for k, v in record.items())
    return personal and not any(
        _STRONG_OWNER.match(k.split(".", 1)[0]) for k in owner_fields(record)
    )


def is_empty(body: Any) -> bool:
    """True for an answer that holds nothing: ``[]``, ``{}``, ``null``, an empty page."""
    if is_empty_json(body):
        return True
    return isinstance(body, list) and all(is_empty_json(item) for item in body)


def tenant_values(body: Any) -> set[str]:
    """The values of tenant fields (``tenant``, ``tenant_id``, ``org_id``…) across the records."""
    return {
        v
        for record in records(body)
        for k, raw in record.items()
        if _TENANT.match(k) and (v := scalar(raw)) is not None
    }


def is_tenant_name(name: str) -> bool:
    """True for a header, parameter or claim name that names a tenant (``X-Tenant-ID``…)."""
    bare = re.sub(r"(?i)^x-", "", name).replace("-", "_")
    return bool(_TENANT.match(bare))


def record_ids(body: Any) -> set[tuple[str, str]]:
    """Every (key, value) of the id fields that are not owner fields, across the records."""
    found: set[tuple[str, str]] = set()
    for record in records(body):
        owners = owner_fields(record)
        for key, raw in record.items():
            value = scalar(raw)
            if (
                value is not None
                and is_id_key(key)
                and key not in owners
                and not _TENANT.match(key)
            ):
                found.add((key, value))
    return found


def readable(exchange: Exchange) -> bool:
    """True when the answer is a 2xx that does not say "log in" or "access denied"."""
    response = exchange.response
    return response is not None and response.ok and not looks_like_denial(response)


def same_object(a: Response, b: Response) -> bool:
    """True when two answers hold the same object(s): equal bodies, or one shape and equal ids.

    An empty answer (no body, ``[]``, ``{}``, ``null``, an empty page) is never the same object.
    """
    if not a.body.strip() or (a.is_json and is_empty(a.json)):
        return False
    if a.body == b.body:
        return True
    if not (a.is_json and b.is_json) or not same_shape(a.json, b.json):
        return False
    ids = record_ids(a.json)
    return bool(ids) and ids == record_ids(b.json)


def read_same(mine: Exchange, theirs: Exchange) -> bool:
    """True when ``theirs`` is readable and holds the same object(s) as ``mine``."""
    return (
        readable(theirs)
        and mine.response is not None
        and theirs.response is not None
        and same_object(mine.response, theirs.response)
    )


def other_object(a: Response, b: Response, *, not_id: str | None = None) -> bool:
    """True when ``b`` is another object of ``a``'s shape: same structure, other ids.

    ``not_id``: an id of ``a``'s object that ``b`` must not carry (the one that was stepped).
    """
    if a.body == b.body or not (a.is_json and b.is_json) or not same_shape(a.json, b.json):
        return False
    ids_a, ids_b = record_ids(a.json), record_ids(b.json)
    if not_id is not None and not_id in {value for _, value in ids_b}:
        return False
    return bool(ids_a) and bool(ids_b) and ids_a != ids_b


@dataclass(frozen=True)
class Owners:
    """Which identity each value names; values several identities share (a tenant) are left out."""

    primary: Identity | None
    by_value: Mapping[str, Identity]
    given: frozenset[str] = frozenset()  # the values given with --owns

    @classmethod
    def of(cls, identities: Identities) -> Owners:
        """The owners of a scan's verified identities."""
        named: dict[str, list[Identity]] = {}
        for identity in (identities.primary, *identities.others):
            if identity is None:
                continue
            for value in {*identity.self_ids, *identity.owns}:
                if value:
                    named.setdefault(value, []).append(identity)
        by_value = {value: who[0] for value, who in named.items() if len(who) == 1}
        given = frozenset(
            value
            for identity in (identities.primary, *identities.others)
            if identity is not None
            for value in identity.owns
        )
        return cls(identities.primary, by_value, given)

    def whose(self, record: Mapping[str, Any]) -> Identity | None:
        """The identity a record's owner fields name, if any."""
        for value in owner_fields(record).values():
            if value in self.by_value:
                return self.by_value[value]
        return None

    def subject(self, record: Mapping[str, Any]) -> Identity | None:
        """Whose record it is: its owner fields, else its own e-mail or user name (a user
        record), else its own id when ``--owns`` gave it or it is not a bare number.

        An own id that is a bare number (``"id": 2``) names an identity only beside the same
        identity's e-mail or user name in the record: small integers number every table.
        """
        owner = self.whose(record)
        if owner is not None:
            return owner
        by_self: Identity | None = None
        by_id: list[tuple[str, Identity]] = []
        for key, raw in record.items():
            value = scalar(raw)
            if value is None or value not in self.by_value:
                continue
            if key.lower() in _SELF_KEYS:
                by_self = by_self or self.by_value[value]
            elif is_id_key(key):
                by_id.append((value, self.by_value[value]))
        if by_self is not None:
            return by_self
        for value, who in by_id:
            if value in self.given or not _NUMBER.match(value):
                return who
        return None

    def named(self, body: Any) -> list[Identity]:
        """Every identity the owner fields of a body's records name, in order of first mention."""
        found: dict[str, Identity] = {}
        for record in records(body):
            who = self.whose(record)
            if who is not None:
                found.setdefault(who.name, who)
        return list(found.values())

    def names_primary(self, body: Any) -> bool:
        """True when some record of the body is the primary identity's (its owner fields)."""
        return self.primary is not None and any(
            who.name == self.primary.name for who in self.named(body)
        )

    def names_other(self, body: Any) -> Identity | None:
        """The first identity other than the primary that the body's records name."""
        primary = self.primary.name if self.primary else None
        return next((who for who in self.named(body) if who.name != primary), None)

    def values_of(self, identity: Identity) -> list[str]:
        """The values naming ``identity`` alone, sorted."""
        return sorted(v for v, who in self.by_value.items() if who.name == identity.name)


def claims(scan: ScanRequest, name: str | None, *, primary: bool) -> dict[str, Any]:
    """The JWT claims of an identity's bearer token (``{}`` when it has none)."""
    credential = scan.identities.get(name) if name else None
    headers: list[tuple[str, str]] = []
    if primary:
        headers += [pair for pair in scan.headers if is_credential_header(pair[0])]
    if credential is not None:
        headers += list(credential.headers)
    token = bearer_token(tuple(headers))
    jwt = decode_jwt(token) if token else None
    return dict(jwt.claims) if jwt is not None else {}


def counterpart(value: str, mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> str | None:
    """The other identity's claim of the kind that ``value`` is among the primary's claims."""
    for key, claim in mine.items():
        if scalar(claim) == value and scalar(theirs.get(key)) not in (None, value):
            return scalar(theirs.get(key))
    return None


def tenant_of(token_claims: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (claim, value) that names the token's tenant (``tenant``, ``org_id``…), if any."""
    for key, value in token_claims.items():
        text = scalar(value)
        if text is not None and is_tenant_name(key):
            return key, text
    return None


def parent_of(path: str) -> tuple[str, str] | None:
    """``("/items", "item_id")`` for ``/items/{item_id}``: the collection and the last path id."""
    start = path.rfind("/{")
    end = path.find("}", start)
    if start <= 0 or end < 0:
        return None
    return path[:start], path[start + 2 : end]


def path_parameters(op: Operation) -> list[Parameter]:
    """The path parameters of ``op`` in template order, undeclared ones included."""
    declared = {p.name: p for p in op.params("path")}
    names = re.findall(r"\{([^}/]+)\}", op.path)
    return [declared.get(name) or Parameter(name, "path", required=True) for name in names]


def row_id(record: Mapping[str, Any], name: str) -> str | None:
    """The id a record is fetched by: its field ``name``, else ``id``, else its first own id."""
    owners = owner_fields(record)
    keys = [name, "id", *(k for k in record if is_id_key(k) and k not in owners)]
    for key in keys:
        value = scalar(record.get(key))
        if value is not None and not _TENANT.match(key):
            return value
    return None
