"""Undoing the journal's writes: delete what a check created, write back what it changed.

Each function sends through the client's unjournaled path, reads the object back and returns a
``Restoration``: restored, unchanged, deleted, or not restored, the last with what to set back by
hand. ``Entry`` is what the journal (``http.journal``) keeps of one object it must undo.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from middlebrick.http.exchange import ANONYMOUS, Exchange, Headers, Request
from middlebrick.http.json_records import record_of

Send = Callable[[Request], Awaitable[Exchange]]
State = Literal["restored", "unchanged", "deleted", "not_restored"]

_GONE = frozenset({404, 410})


@dataclass(frozen=True)
class Restoration:
    """What became of one object a check wrote: ``state`` and a sentence saying so."""

    owner: str  # the check that wrote it
    url: str
    state: State
    detail: str
    exchanges: tuple[tuple[str, Exchange], ...] = ()


@dataclass
class Entry:
    """One journaled object: what was written to it, its prior state, and how to undo it."""

    owner: str
    url: str  # the object's URL
    identity: str | None  # who reads it back (and restores it)
    kind: Literal["changed", "created", "lost"]
    writes: list[str] = field(default_factory=list)  # "PATCH /items/1 answered 200"
    method: str = "PATCH"  # how a change is undone: PATCH the fields back, or PUT the object
    prior: dict[str, Any] = field(default_factory=dict)
    fields: set[str] = field(default_factory=set)
    media: str = "application/json"
    touched: bool = False  # a write answered something else than a client error
    account: bool = False  # a disposable account the scan registered: its sub-URLs are its own
    headers: Headers = field(default_factory=Headers)  # the account's own credentials
    key: str = ""  # the disposable account's name (``sign``, ``undo_account``)
    own: str | None = None  # it deletes itself at ``url``; this URL reads its own record
    homes: list[str] = field(default_factory=list)  # its URLs (``/users/{its name}``)


async def delete(entry: Entry, send: Send) -> Restoration:
    """Delete what the scan created (a disposable account too) and read it back."""
    if entry.own is not None:
        return await _delete_own(entry, entry.own, send)
    removal = await send(Request("DELETE", entry.url, entry.headers, identity=entry.identity))
    if entry.account and not removal.ok:  # an account its own user may not delete
        removal = await send(Request("DELETE", entry.url))
    check = await send(fresh(entry.url, None if entry.account else entry.identity))
    exchanges = (("delete what the scan created", removal), ("read after delete", check))
    status = check.response.status if check.response is not None else None
    gone = status in _GONE or (removal.ok and status in (401, 403, 405))
    made = entry.writes[0]
    if gone:
        return Restoration(entry.owner, entry.url, "deleted", f"{made}; deleted", exchanges)
    return Restoration(
        entry.owner,
        entry.url,
        "not_restored",
        f"{made}; deleting it answered {_status(removal)} and it still answers "
        f"{status or check.error}: delete {shown_path(entry.url)} by hand",
        exchanges,
    )


async def _delete_own(entry: Entry, own: str, send: Send) -> Restoration:
    """A disposable account deletes itself, with its own token only (never the scan's
    identities: ``DELETE /me`` as them would delete their own accounts); gone once the
    deletion answered 2xx and its token no longer reads its own record."""
    made = entry.writes[0]
    if not entry.headers.items:
        return Restoration(
            entry.owner,
            entry.url,
            "not_restored",
            f"{made}; the account never logged in, so it could not delete itself: delete "
            f"the account {entry.key} by hand",
        )
    removal = await send(Request("DELETE", entry.url, entry.headers, identity=ANONYMOUS))
    check = await send(Request("GET", own, entry.headers, identity=ANONYMOUS))
    exchanges = (("the account deletes itself", removal), ("its own record after", check))
    status = check.response.status if check.response is not None else None
    answer = removal.response
    removed = answer is not None and answer.ok and not answer.refused_in_body
    if removed and status in _GONE | {401, 403}:
        return Restoration(entry.owner, entry.url, "deleted", f"{made}; deleted", exchanges)
    return Restoration(
        entry.owner,
        entry.url,
        "not_restored",
        f"{made}; its own `DELETE {shown_path(entry.url)}` answered {_status(removal)} and its "
        f"token then read `{shown_path(own)}` with {status or check.error}: delete the account "
        f"{entry.key} by hand",
        exchanges,
    )


async def restore(entry: Entry, send: Send) -> Restoration:
    """Write back the prior values of what the scan changed, and read the object again."""
    writes = summary(entry) or "nothing was sent"
    if not entry.touched:
        return Restoration(entry.owner, entry.url, "unchanged", f"{writes}; nothing changed")
    before = await send(fresh(entry.url, entry.identity))
    now = record_of(before)
    if now is not None and not _differs(entry, now):
        return Restoration(
            entry.owner,
            entry.url,
            "unchanged",
            f"{writes}; read back unchanged",
            (("read", before),),
        )
    if entry.method == "PUT":
        body = dict(entry.prior)
    else:
        body = {key: entry.prior[key] for key in sorted(entry.fields) if key in entry.prior}
    exchanges: list[tuple[str, Exchange]] = [("read before restore", before)]
    if body:
        headers = Headers.of({"Content-Type": entry.media})
        undo = Request(entry.method, entry.url, headers, json.dumps(body).encode(), entry.identity)
        exchanges.append(("restore", await send(undo)))
    after = await send(fresh(entry.url, entry.identity, 1))
    exchanges.append(("read after restore", after))
    record = record_of(after)
    if record is not None and not _differs(entry, record):
        values = ", ".join(f"{k}={_shown(entry.prior.get(k))}" for k in sorted(entry.fields))
        return Restoration(
            entry.owner,
            entry.url,
            "restored",
            f"{writes}; written back and read again ({values})",
            tuple(exchanges),
        )
    wanted = ", ".join(
        f"{k}={_shown(entry.prior[k])}" if k in entry.prior else f"{k} removed"
        for k in sorted(entry.fields)
    )
    return Restoration(
        entry.owner,
        entry.url,
        "not_restored",
        f"{writes}; restoring it could not be confirmed: set {wanted} by hand on "
        f"{shown_path(entry.url)}",
        tuple(exchanges),
    )


def summary(entry: Entry) -> str:
    """The entry's writes in a few words: the first, and how many followed."""
    if len(entry.writes) <= 2:
        return "; ".join(entry.writes)
    return f"{entry.writes[0]} (and {len(entry.writes) - 1} more writes)"


def _differs(entry: Entry, record: Mapping[str, Any]) -> bool:
    missing = object()
    return any(record.get(key, missing) != entry.prior.get(key, missing) for key in entry.fields)


def fresh(url: str, identity: str | None, step: int = 0) -> Request:
    """A GET of ``url`` as ``identity`` that no cache may answer (``step`` varies the spelling)."""
    spelling = ("no-cache", "no-cache, max-age=0")[step % 2]
    return Request("GET", url, Headers.of({"Cache-Control": spelling}), identity=identity)


def shown_path(url: str) -> str:
    """The path and query of ``url``: how messages name an object."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _status(exchange: Exchange) -> str:
    return str(exchange.response.status) if exchange.response is not None else str(exchange.error)


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:40] + "…"
