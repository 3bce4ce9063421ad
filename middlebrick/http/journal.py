"""The write journal: every write of a scan with the prior state, its undo, and the proof.

Every request that may change state (any method but GET, HEAD, OPTIONS and TRACE) passes
through ``Journal.send``, on behalf of the check named by ``RUNNING``:

1. Before a ``PUT`` or ``PATCH`` it reads the object (a fresh GET of the same URL, as the
   writer, else as the scan's own identity). A write whose object cannot be read, whose body is
   not a JSON object, a no-op write (``Request.unchanged``) whose fields do not all hold the
   values that read shows, or that would change a privilege, credential or profile field of one of
   the scanning identities' own records, is refused and never sent.
2. It sends the write and keeps what it needs to undo it: the prior values of the fields it
   wrote, or, for a ``POST`` that created an object (201, ``Location``, or an id under a
   documented ``DELETE``), the object's URL, which the policy then lets the scan delete; a
   ``PUT`` to such a collection itself (``PUT /menu``: creation by PUT) is journaled the same
   way, never read first. A 2xx
   ``POST`` that may have created something the journal cannot find (any but a read, a login
   or an AI prompt: ``Policy.creates_nothing``) is listed as not restored, never silent; a 2xx
   whose body is an error envelope (``Response.says_failed``: ``{"status": "fail"}``)
   created nothing.
3. A disposable account the scan registered (``expect``) is deleted with its own token: by the
   documented ``DELETE`` of one account, else as the scan's identity; or, when it deletes
   itself (``own``: ``DELETE /users/me``), only with its own token, and gone once its token no
   longer reads its own record. ``undo_account`` deletes one at once (the canary user that
   proves the deletion works before any other is registered).

Whoever keeps the created objects' ids (the scan's value pool) is told when one is gone
(``watch``): deleted by the undo or by the check itself, or given up, so nothing uses it after.

``undo(owner)`` runs after every writing check (a check may call it sooner): newest first, it
deletes what the check created and writes back the prior values of what it changed (``PATCH``
with those fields, or ``PUT`` of the whole prior object), reads every object back, and returns
a ``Restoration`` for each: restored, unchanged, deleted, or not restored — the last with what
to set back by hand (the undoing itself lives in ``http.undo``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.json_records import (
    created_id,
    flat,
    json_keys,
    json_object,
    record_of,
    scalar,
)
from middlebrick.http.policy import READ_METHODS, Policy
from middlebrick.http.undo import (
    Entry,
    Restoration,
    Send,
    delete,
    fresh,
    restore,
    shown_path,
    summary,
)
from middlebrick.knowledge import safety_words
from middlebrick.spec.model import Operation


@dataclass(frozen=True)
class Running:
    """The check a request is sent for (the engine sets ``RUNNING`` around each check)."""

    name: str
    writes: bool = False  # declared as a writing check: its writes are journaled as its own


RUNNING: ContextVar[Running | None] = ContextVar("middlebrick_running_check", default=None)
"""The check running in the current task; ``None`` outside the checks (discovery, baseline)."""


_ID_KEYS = frozenset({"id", "uid", "sub", "userid", "username", "login", "email"})  # flattened


@dataclass(frozen=True)
class _Expected:
    """A disposable account the next 2xx ``POST`` to a registration creates."""

    url: str | Callable[[Exchange], str | None]  # its DELETE URL (or what gives it)
    key: str  # its name
    own: str | None  # self-service deletion: the URL that reads its own record


class Journal:
    """The writes of one scan and their undoing; ``send`` is the client's unjournaled path."""

    def __init__(self, send: Send, policy: Policy | None = None) -> None:
        self._send = send
        self._policy = policy
        self._entries: list[Entry] = []
        self._self_ids: set[str] = set()
        self._collections: list[tuple[re.Pattern[str], str]] = []  # POST path -> DELETE param
        self._expected: dict[str, _Expected] = {}
        self.results: list[Restoration] = []
        # the canary: whether a first disposable user was deleted (None: not tried yet), why not
        self.accounts_undoable: bool | None = None
        self.accounts_reason = ""
        self.accounts_lock = asyncio.Lock()
        self._watchers: list[Callable[[str], None]] = []
        known = safety_words().identity_fields
        self._identity_fields = {flat(name) for name in known}

    def watch(self, gone: Callable[[str], None]) -> None:
        """Call ``gone(url)`` whenever an object the scan created leaves the journal: deleted
        (by the undo or by a check), or given up; its id must not be used any more."""
        if gone not in self._watchers:
            self._watchers.append(gone)

    def _gone(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            if entry.kind == "created":
                for gone in self._watchers:
                    gone(entry.url)

    def protect(self, self_ids: Iterable[str]) -> None:
        """Values naming the scanning identities: their own records' identity fields are kept."""
        self._self_ids.update(str(value) for value in self_ids if str(value))

    def learn(self, operations: Iterable[Operation]) -> None:
        """Note which collections document a ``DELETE`` of their objects (``/x/{id}``)."""
        for op in operations:
            if op.method != "DELETE" or not op.path.endswith("}"):
                continue
            collection, _, last = op.path.rpartition("/")
            if last.startswith("{") and collection:
                self._collections.append((_template(collection), last[1:-1]))

    def expect(
        self,
        request_url: str,
        account_url: str | Callable[[Exchange], str | None],
        *,
        key: str = "",
        own: str | None = None,
    ) -> None:
        """The next 2xx ``POST`` to ``request_url`` registers the disposable account ``key``
        whose documented ``DELETE`` is ``account_url`` (or what it gives for the POST's answer,
        such as a URL with the new id): the journal deletes it after the check. ``own``: the
        ``DELETE`` is the account's self-service deletion (``DELETE /users/me``), sent only
        with its own token; ``own`` is the URL that reads its own record, to prove it gone."""
        self._expected[request_url] = _Expected(account_url, key, own)

    def sign(self, key: str, headers: Headers) -> None:
        """The credentials of the disposable account ``key`` (its login's token), which the
        journal deletes it with (else, unless it deletes itself, as the scan's own identity)."""
        for entry in self._entries:
            if entry.account and (entry.key or entry.url) == key:
                entry.headers = headers

    def home(self, key: str, url: str) -> None:
        """``url`` (``/users/{its name}``) and the URLs under it are the disposable account
        ``key``'s own: written without reading them first, gone with it."""
        for entry in self._entries:
            if entry.account and entry.key == key:
                entry.homes.append(url.rstrip("/"))

    async def undo_account(self, key: str) -> Restoration | None:
        """Delete the disposable account ``key`` now and verify it (``None``: none such)."""
        entry = next((e for e in self._entries if e.account and e.key == key), None)
        if entry is None:
            return None
        result = await delete(entry, self._send)
        self._entries.remove(entry)
        self._gone([entry])
        self.results.append(result)
        return result

    @property
    def created(self) -> tuple[str, ...]:
        """The URLs of every object the scan created, in the order it created them."""
        return tuple(e.url for e in self._entries if e.kind == "created")

    @property
    def not_restored(self) -> list[Restoration]:
        """Every object the scan could not restore, in the order they were found."""
        return [r for r in self.results if r.state == "not_restored"]

    async def send(self, request: Request, owner: str, send: Send) -> Exchange:
        """Send one write for ``owner`` with ``send``, journaled; a refused write is not sent."""
        method = request.method
        entry: Entry | None = None
        url = request.url.split("#", 1)[0]
        creates = (  # PUT /menu beside DELETE /menu/{id}, one object in the body: a creation
            method == "PUT"
            and self._collection_param(url) is not None
            and json_object(request.body) is not None
        )
        if method in ("PUT", "PATCH") and not creates and not self._is_created(_object_url(url)):
            prepared = await self._prepare(request, owner)
            if isinstance(prepared, str):
                return Exchange(request, None, f"not sent: {prepared}")
            entry = prepared
        exchange = await send(request)
        status = exchange.response.status if exchange.response is not None else None
        said = f"{method} {shown_path(request.url)} answered {status or exchange.error}"
        if entry is not None:
            entry.writes.append(said)
            entry.touched |= status is None or not 400 <= status < 500
        elif (method == "POST" or creates) and exchange.ok:
            assert exchange.response is not None
            if exchange.response.says_failed:  # {"status": "fail", …}: created nothing
                self._expected.pop(request.url, None)
            else:
                self._created(request, exchange, owner, said)
        elif method == "POST":
            self._expected.pop(request.url, None)
        elif method == "DELETE" and exchange.ok:
            self._deleted(request, owner, said)
        return exchange

    async def undo(self, owner: str | None = None) -> list[Restoration]:
        """Undo what ``owner`` (every check when ``None``) wrote, newest first; verify each."""
        done: list[Restoration] = []
        for entry in reversed([e for e in self._entries if owner is None or e.owner == owner]):
            if entry.kind == "created":
                result = await delete(entry, self._send)
            elif entry.kind == "changed":
                result = await restore(entry, self._send)
            else:
                result = Restoration(entry.owner, entry.url, "not_restored", summary(entry))
            self._entries.remove(entry)
            self._gone([entry])
            self.results.append(result)
            done.append(result)
        return done

    def abandon(self, owner: str | None, reason: str) -> None:
        """Give up undoing what ``owner`` wrote: each object is listed as not restored."""
        for entry in [e for e in self._entries if owner is None or e.owner == owner]:
            said = f"{summary(entry)}; {reason}: check {shown_path(entry.url)} by hand"
            self.results.append(Restoration(entry.owner, entry.url, "not_restored", said))
            self._entries.remove(entry)
            self._gone([entry])

    async def _prepare(self, request: Request, owner: str) -> Entry | str:
        """The journal entry of a PUT/PATCH (its prior state read), or why it is refused."""
        body = json_object(request.body)
        if body is None:
            return "the scan writes only JSON objects, whose fields it can restore"
        url = request.url.split("#", 1)[0]
        existing = next(
            (e for e in self._entries if e.kind == "changed" and e.url == url and e.owner == owner),
            None,
        )
        if existing is None:
            read = await self._read(url, request.identity)
            if read is None:
                return (
                    f"the current state of {shown_path(url)} could not be read (GET), so the write "
                    "could not be undone"
                )
            identity, prior = read
            existing = Entry(owner, url, identity, "changed", prior=prior)
            existing.method = request.method
            existing.media = request.headers.get("content-type") or "application/json"
            self._entries.append(existing)
        if request.unchanged:  # a no-op write: every field it sends holds that value already
            missing = object()
            differ = sorted(k for k, v in body.items() if existing.prior.get(k, missing) != v)
            if differ:
                if not existing.writes:
                    self._entries.remove(existing)
                return (
                    f"a no-op write re-sends only the values {shown_path(url)} holds, and "
                    f"{', '.join(differ)} differ from them"
                )
        if self._is_theirs(existing.prior):
            kept = sorted(k for k in json_keys(body) if flat(k) in self._identity_fields)
            if kept:
                return (
                    f"{shown_path(url)} is a scanning identity's own record, whose "
                    f"{', '.join(kept)} the scan never writes"
                )
        if request.method == "PUT":
            existing.method = "PUT"
        existing.fields.update(body)
        return existing

    async def _read(
        self, url: str, identity: str | None
    ) -> tuple[str | None, dict[str, Any]] | None:
        """The object at ``url`` as ``identity``, else as the scan's own identity."""
        for who in dict.fromkeys((identity, None)):
            record = record_of(await self._send(fresh(url, who)))
            if record is not None:
                return who, record
        return None

    def _is_theirs(self, record: Mapping[str, Any]) -> bool:
        """True when an identity field of ``record`` names one of the scanning identities."""
        named = {str(v) for k, v in record.items() if flat(k) in _ID_KEYS and scalar(v)}
        return bool(named & self._self_ids)

    def _is_created(self, url: str) -> bool:
        return any(
            e.kind == "created"
            and (
                e.url == url
                or (e.account and url.startswith(e.url.rstrip("/") + "/"))
                or any(url.rstrip("/") == h or url.startswith(h + "/") for h in e.homes)
            )
            for e in self._entries
        )

    def _created(self, request: Request, exchange: Exchange, owner: str, said: str) -> None:
        """Record the object a 2xx POST (or PUT to a collection) created, when it created one."""
        assert exchange.response is not None
        expected = self._expected.pop(request.url, None)
        if expected is not None:
            target = expected.url
            account = target(exchange) if callable(target) else target
            if account is not None:
                entry = Entry(owner, account, request.identity, "created", [said], account=True)
                entry.key, entry.own = expected.key, expected.own
                self._entries.append(entry)
                if self._policy is not None and expected.own is None:
                    self._policy.created(account, below=True)
                return
        location = exchange.response.headers.get("location")
        url: str | None = None
        if location:
            url = urljoin(request.url, location).split("?", 1)[0].split("#", 1)[0]
        param = self._collection_param(request.url)
        if url is None and param is not None:
            found = created_id(record_of(exchange), param)
            if found is not None:
                url = request.url.split("?", 1)[0].rstrip("/") + "/" + found
        if url is None:
            harmless = self._policy is not None and self._policy.creates_nothing(request.url)
            if exchange.response.status == 201 or param is not None or not harmless:
                lost = Entry(owner, request.url, request.identity, "lost")
                lost.writes.append(
                    f"{said}: it created an object the scan could not find to delete; remove it "
                    "by hand"
                )
                self._entries.append(lost)
            return
        entry = Entry(owner, url, request.identity, "created")
        entry.writes.append(said)
        self._entries.append(entry)
        if self._policy is not None:
            self._policy.created(url)

    def _deleted(self, request: Request, owner: str, said: str) -> None:
        url = request.url.split("?", 1)[0]
        created = [e for e in self._entries if e.kind == "created" and e.url == url]
        if created:
            self._entries = [e for e in self._entries if e not in created]
            self._gone(created)
            return
        lost = Entry(owner, url, request.identity, "lost")
        lost.writes.append(f"{said}; what it removed cannot be restored")
        self._entries.append(lost)

    def _collection_param(self, url: str) -> str | None:
        path = urlsplit(url).path.rstrip("/")
        for regex, param in self._collections:
            if regex.search(path):
                return param
        return None


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^{}/]*\}", path)
    return re.compile("[^/]+".join(re.escape(part) for part in parts) + "$")


def _object_url(url: str) -> str:
    """``url`` without its query string and fragment: the object a write names."""
    return url.split("#", 1)[0].split("?", 1)[0]


def is_write(method: str) -> bool:
    """True for a method that may change state (anything but GET, HEAD, OPTIONS and TRACE)."""
    return method.upper() not in READ_METHODS
