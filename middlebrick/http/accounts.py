"""Registration operations, and the documented ``DELETE`` that removes what they create.

A scan may register a disposable user of its own (active mode) only when it can remove it
afterwards: ``registers`` recognises a registration (``POST /auth/register``,
``POST /users/v1/register``, ``POST /users`` with a password field), and ``account_deletion``
finds the ``DELETE`` of one account (``DELETE /users/v1/{username}``), usually an
administrator's; ``self_deletion`` finds the self-service deletion of the caller's own account
(``DELETE /users/me``), the only one that makes a registration undoable without ``--include``:
the disposable user deletes itself with its own token. The words come from
``knowledge/safety.yaml`` (``registration``, ``account_collections``, ``own_account``), which
says where they come from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from middlebrick.knowledge import safety_words
from middlebrick.spec.model import Operation

__all__ = ["account_deletion", "account_path", "password_field", "registers", "self_deletion"]

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_VERSION = re.compile(r"(?i)^v[0-9]+(?:\.[0-9]+)*$")
_SECRETS = ("password", "passwd", "pass", "passphrase")


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.lower() for word in _WORD.findall(text))


def _literal(path: str) -> list[str]:
    """The path's literal segments, version segments (``v1``) left out."""
    return [s for s in path.split("/") if s and "{" not in s and not _VERSION.match(s)]


def _has(vocabulary: Iterable[str], words: tuple[str, ...]) -> bool:
    for entry in vocabulary:
        tail = tuple(entry.split())
        if any(words[i : i + len(tail)] == tail for i in range(len(words))):
            return True
    return False


def password_field(operation: Operation) -> str | None:
    """The password property of ``operation``'s JSON request body schema, if it has one."""
    body = operation.request_body
    if body is None or "json" not in body.content_type:
        return None
    properties: Any = body.schema.get("properties") if isinstance(body.schema, dict) else None
    if not isinstance(properties, dict):
        return None
    return next((k for k in properties if "".join(_words(k)) in _SECRETS), None)


def registers(operation: Operation) -> bool:
    """True for a ``POST`` that registers an account: its path, operationId or summary names a
    registration (``register``, ``signup`` …), or it posts to an account collection
    (``/users``), and its JSON body has a password field."""
    if operation.method != "POST" or "{" in operation.path:
        return False
    if password_field(operation) is None:
        return False
    known = safety_words()
    literal = _literal(operation.path)
    words = tuple(w for segment in literal for w in _words(segment))
    named = _words(operation.operation_id or "") + _words(" ".join(operation.summary.split()[:3]))
    if _has(known.registration, words) or _has(known.registration, named):
        return True
    return bool(literal) and _words(literal[-1])[-1:] in [(w,) for w in known.account_collections]


def account_deletion(operation: Operation, everything: Iterable[Operation]) -> Operation | None:
    """The documented ``DELETE`` of one account (``/users/{id}``) that removes what the
    registration ``operation`` creates: under the registration's folder first, else any."""
    if not registers(operation):
        return None
    known = set(safety_words().account_collections)
    found: list[Operation] = []
    for other in everything:
        if other.method != "DELETE" or not other.path.rstrip("/").endswith("}"):
            continue
        head, _, last = other.path.rstrip("/").rpartition("/")
        if "{" in head or not last.startswith("{"):
            continue
        literal = _literal(head)
        if literal and set(_words(literal[-1])) & known:
            found.append(other)
    if not found:
        return None
    prefix = operation.path.rstrip("/").rpartition("/")[0]
    return next((op for op in found if op.path.startswith(prefix + "/")), found[0])


def self_deletion(operation: Operation, everything: Iterable[Operation]) -> Operation | None:
    """The documented self-service ``DELETE`` of the caller's own account (``DELETE /me``,
    ``/users/me``, ``/account``, ``/auth/user``: no path parameter, its last literal segment
    an ``own_account`` word) beside the registration ``operation``: under the registration's
    folder first, else any. A ``DELETE /users/{id}`` is never one (usually admin-only)."""
    if not registers(operation):
        return None
    own = {(word,) for word in safety_words().own_account}
    found = [
        other
        for other in everything
        if other.method == "DELETE"
        and "{" not in other.path
        and bool(_literal(other.path))
        and _words(_literal(other.path)[-1]) in own
    ]
    if not found:
        return None
    prefix = operation.path.rstrip("/").rpartition("/")[0]
    return next((op for op in found if op.path.startswith(prefix + "/")), found[0])


def account_path(path: str) -> tuple[str, str] | None:
    """The folder and parameter of a path that names one account of an account collection
    (``/users/v1/{username}/password`` -> ``("/users/v1/", "username")``), else ``None``."""
    head, _, rest = path.partition("{")
    literal = _literal(head)
    if not rest or not head.endswith("/") or not literal:
        return None
    if not set(_words(literal[-1])) & set(safety_words().account_collections):
        return None
    return head, rest.split("}", 1)[0]
