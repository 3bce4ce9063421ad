"""Properties of JSON answers and of schemas: records walked, property names classified.

The property-authorization and BFLA checks read answers property by property. ``plain`` turns
DynamoDB's wire format (``{"role": {"S": "admin"}}``) into plain JSON first, ``properties``
walks an answer breadth first (bounded), and the classifiers say what a property's name
makes it: a secret or credential, personal data, an internal annotation, an authorization
attribute (``role``, ``is_admin`` …), an ownership attribute (``owner_id``, ``tenant_id``) or a
name for the principal itself (``user_id``, ``email``).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from middlebrick.checks._field_names import key_tokens, names

MAX_NODES = 5000
"""JSON nodes visited per answer, however large it is."""

_ATTRIBUTE_TYPES: dict[str, type | tuple[type, ...]] = {
    "S": str,
    "N": str,
    "B": str,
    "BOOL": bool,
    "NULL": bool,
    "M": dict,
    "L": list,
    "SS": list,
    "NS": list,
    "BS": list,
}

Sensitivity = Literal["credential", "secret", "personal", "internal", "authorization"]

_PASSWORD = {"password", "passwd", "pwd", "passcode", "passphrase"}
# Variables the POSIX shell sets to directories, named as the shell spells them: PWD (the
# working directory) and OLDPWD (the previous one, set by cd) (IEEE Std 1003.1-2017, Shell
# Command Language §2.5.3 "Shell Variables", and cd). An environment dump's `PWD` is a path,
# not a password; `DB_PWD`, `MYSQL_PWD` and a login body's `pwd` stay credentials.
_SHELL_DIRECTORIES = frozenset({"PWD", "OLDPWD"})
_PASSWORD_FLAT = ("passwordhash", "hashedpassword", "pwhash", "passhash", "passwordsalt")
_SECRET_FLAT = (
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "signingkey",
    "encryptionkey",
    "clientsecret",
    "mfasecret",
    "otpsecret",
    "totpsecret",
    "recoverycode",
)
_NOT_SECRET_TOKENS = {
    "next", "page", "pagination", "continuation", "cursor", "csrf", "xsrf", "sync", "type",
    "count", "counts", "expires", "expiry", "ttl", "usage", "limit", "max", "prompt",
    "completion", "total", "used", "length", "name", "url", "uri", "endpoint",
}  # fmt: skip
# Names that are the identifier itself, whatever _META says about their last word.
_PERSONAL_EXACT = {
    "ssn", "socialsecuritynumber", "taxid", "taxpayerid", "nationalid", "personalid",
    "dateofbirth", "birthdate", "dob",
}  # fmt: skip
_PERSONAL_FLAT = (
    "ssn",
    "socialsecurity",
    "passportnumber",
    "cardnumber",
    "creditcard",
    "ccnumber",
    "cvv",
    "cvc",
    "bankaccount",
    "iban",
    "routingnumber",
)
# Words that make a name describe a secret instead of holding it: `api_key_id`,
# `password_changed_at`, `ssn_last4`, `token_type`.
_META = {
    "id", "ids", "name", "names", "type", "kind", "prefix", "suffix", "last4", "last", "hint",
    "mask", "masked", "brand", "count", "length", "changed", "updated", "created", "expires",
    "expiry", "expired", "at", "date", "time", "age", "policy", "required", "strength",
    "enabled", "set", "is", "has", "min", "max", "url", "uri", "endpoint", "version", "status",
}  # fmt: skip
_NOTE_WORDS = {"notes", "note", "comment", "comments", "memo", "remarks"}
_RESTRICTED_WORDS = {"internal", "admin", "staff", "private", "ops", "moderator"}
_FLAGS_FLAT = {"isadmin", "issuperuser", "superuser", "isstaff", "isroot", "isowner", "admin"}
_ROLE_FLAT = {
    "role", "roles", "userrole", "userroles", "accountrole", "memberrole", "orgrole",
    "tenantrole", "permissions", "permission", "perms", "privileges", "authorities",
    "accesslevel", "acl", "usertype",
}  # fmt: skip
_WEAK_ROLE_FLAT = {"groups", "scopes", "scope", "entitlements", "claims"}
_OWNERSHIP_FLAT = {
    "ownerid", "owner", "userid", "tenantid", "tenant", "accountid", "orgid",
    "organizationid", "organisationid", "createdby", "customerid", "ownerusername",
}  # fmt: skip
_GROUP_FLAT = {"tenant", "tenantid", "orgid", "organizationid", "organisationid"}
_PRINCIPAL_FLAT = {"userid", "username", "email", "sub", "uid", "memberid", "accountid", "login"}
_CHAT_ROLES = {"assistant", "system", "tool", "function", "developer", "model", "user"}
_MASKED = re.compile(r"^(?:[*x•#.\-]+|\[?(?:redacted|hidden|masked|removed|filtered)\]?)$", re.I)


@dataclass(frozen=True)
class Property:
    """One property of one JSON object in an answer."""

    path: str  # "items[].password_hash", "Item.role"
    key: str
    value: Any
    record: Mapping[str, Any]  # the object it belongs to


def flat(key: str) -> str:
    """A property name lower-case with separators removed: ``isAdmin`` -> ``isadmin``."""
    return re.sub(r"[^a-z0-9]", "", key.lower())


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` with DynamoDB AttributeValues (``{"S": "x"}``, ``{"M": {…}}``) unwrapped."""
    if depth > 32:
        return value
    if isinstance(value, list):
        return [plain(item, depth + 1) for item in value[:500]]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((kind, inner),) = value.items()
        expected = _ATTRIBUTE_TYPES.get(kind)
        if expected is not None and isinstance(inner, expected):
            if kind == "NULL":
                return None
            return plain(inner, depth + 1)
    return {key: plain(item, depth + 1) for key, item in list(value.items())[:500]}


def properties(value: Any, *, limit: int = MAX_NODES) -> Iterator[Property]:
    """Every property of every object in ``value``, breadth first, at most ``limit`` nodes."""
    queue: deque[tuple[Any, str]] = deque([(value, "")])
    visited = 0
    while queue and visited < limit:
        node, path = queue.popleft()
        visited += 1
        if isinstance(node, list):
            queue.extend((item, f"{path}[]") for item in node[:200])
        elif isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str):
                    continue
                where = f"{path}.{key}" if path else key
                yield Property(where, key, item, node)
                if isinstance(item, dict | list):
                    queue.append((item, where))


def records(value: Any) -> list[Mapping[str, Any]]:
    """The JSON objects of an answer that hold scalar properties (its records), in order."""
    seen: dict[int, Mapping[str, Any]] = {}
    for prop in properties(value):
        if not isinstance(prop.value, dict | list):
            seen.setdefault(id(prop.record), prop.record)
    return list(seen.values())


def has_value(value: Any) -> bool:
    """True when a property holds something: a boolean, a number, or a non-masked text or list."""
    if isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return bool(value.strip()) and not _MASKED.match(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return False


def sensitivity(key: str, value: Any) -> Sensitivity | None:
    """What a property's name says it holds, when that is something no caller should see.

    Flags (``is_admin``) count whatever their value; the other kinds need a value that is not
    empty or masked, and a name that holds the thing rather than describes it (``ssn_last4``,
    ``api_key_id`` and ``password_changed_at`` are not secrets).
    """
    if is_flag(key, value):
        return "authorization"
    name, tokens = flat(key), key_tokens(key)
    if not has_value(value) or isinstance(value, bool | float | list | dict):
        return None
    if name in _PERSONAL_EXACT:
        return "personal"
    if tokens & _META:
        return None
    text = isinstance(value, str)
    if key in _SHELL_DIRECTORIES:
        return None
    if tokens & _PASSWORD or names(key, _PASSWORD_FLAT):
        return "credential" if text and len(value) >= 4 else None
    if "secret" in tokens or names(key, _SECRET_FLAT):
        return "secret" if text and len(value) >= 8 else None
    if tokens & {"token", "tokens"} and not tokens & _NOT_SECRET_TOKENS:
        return "secret" if text and len(value) >= 8 else None
    if "ssn" in tokens or names(key, _PERSONAL_FLAT):
        return "personal"
    if "internal" in tokens or (tokens & _NOTE_WORDS and tokens & _RESTRICTED_WORDS):
        return "internal" if text else None
    return None


def is_flag(key: str, value: Any) -> bool:
    """An authorization flag: ``is_admin``, ``isSuperuser``, ``admin: true`` …"""
    name = flat(key)
    if name not in _FLAGS_FLAT:
        return False
    return name != "admin" or isinstance(value, bool)


def is_role(key: str, value: Any, record: Mapping[str, Any] | None = None) -> bool:
    """An authorization attribute: a flag, or a role / permission / scope / group field.

    ``groups`` and ``scopes`` count only in a record that names a principal; a chat message's
    ``role`` (``{"role": "assistant", "content": …}``) is not one.
    """
    if is_flag(key, value):
        return True
    name = flat(key)
    if name in _ROLE_FLAT or (name.endswith("role") and len(name) <= 16):
        if isinstance(value, str) and value.lower() in _CHAT_ROLES and record is not None:
            return not any(k in record for k in ("content", "message", "text"))
        return True
    if name in _WEAK_ROLE_FLAT and record is not None:
        return names_principal(record)
    return False


def is_ownership(key: str) -> bool:
    """A property that says whom an object belongs to: ``owner_id``, ``tenant_id``, ``user_id``."""
    return flat(key) in _OWNERSHIP_FLAT


def is_privileged_input(key: str) -> bool:
    """A property a caller must not set in a write: a role, a flag, a permission or an owner."""
    name = flat(key)
    return name in _FLAGS_FLAT or name in _ROLE_FLAT or name in _WEAK_ROLE_FLAT or is_ownership(key)


def names_principal(record: Mapping[str, Any]) -> bool:
    """True when a record names a user through an identity field (``user_id``, ``email`` …)."""
    return any(flat(k) in _PRINCIPAL_FLAT and has_value(v) for k, v in record.items())


def principal_values(record: Mapping[str, Any]) -> set[str]:
    """The values of a record's identity fields (``user_id``, ``username``, ``email`` …)."""
    return {
        str(v)
        for k, v in record.items()
        if flat(k) in _PRINCIPAL_FLAT and isinstance(v, str | int) and not isinstance(v, bool)
    }


def owner_values(record: Mapping[str, Any]) -> set[str]:
    """The values that say whom a record is or belongs to (``id``, ``user_id``, ``owner_id`` …).

    Tenant and organisation fields are left out: they name a group, not a user.
    """
    keys = (_PRINCIPAL_FLAT | _OWNERSHIP_FLAT | {"id"}) - _GROUP_FLAT
    return {
        str(v)
        for k, v in record.items()
        if flat(k) in keys and isinstance(v, str | int) and not isinstance(v, bool)
    }


def shown(value: Any, size: int = 24) -> str:
    """A short, safe rendering of a flag or role value for a detail sentence."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return (
            "[" + ", ".join(shown(v, 12) for v in value[:3]) + (", …]" if len(value) > 3 else "]")
        )
    text = str(value)
    return repr(text if len(text) <= size else text[: size - 1] + "…")
