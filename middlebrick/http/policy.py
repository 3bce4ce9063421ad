"""The safety policy: which operations and URLs a scan may request, and with which methods.

Operations are judged by their names (``knowledge/safety.yaml``): their path's literal
segments, their operationId, the first words of their summary and description and the acts
their first sentence coordinates ("Obtains or creates …"; for a GET, the verbs of a write
too), read by ``http.wording`` (where ``names_read``, ``logs_in`` and the other recognisers
below live).

- **State-changing** (reset, drop, logout, revoke …): never requested, in either mode and by
  any method (a GET included), so never a baseline, probe or burst target.
- **Irreversible** (publish, send, invite, pay, rotate keys …, or a write to invitations,
  payments, outbox …): never written; a GET so named is never requested either.
- **Protected** (settings, organisations, memberships, user accounts, the caller's profile and
  credentials): read, never written.
- **Unrecognised writes** (active mode): a method other than GET, HEAD, OPTIONS and TRACE is
  sent only (a) to an object the scan created itself (``owns``); (b) as a ``POST`` that is a
  removable creation (a documented ``DELETE`` removes its objects; the journal deletes them),
  or a ``PUT`` to such a collection itself (``PUT /menu`` beside ``DELETE /menu/{id}``, one
  object in the body: creation by PUT, as FastAPI apps write it);
  (c) as a ``POST`` that names a read (``/products/search``: ``names_read``); (d) as a ``POST``
  that logs in (its last path segment names authentication, ``logs_in``; the login checks send
  made-up credentials, so it creates nothing), a password login to a token resource
  (``POST /token`` with ``username`` and ``password``: ``password_login``); (e) as a prompt to
  an AI endpoint the LLM checks found (``converses``); (f) as a registration
  (``http.accounts.registers``) beside a documented self-service ``DELETE`` of the caller's
  own account (``self_deletion``: ``DELETE /users/me``), which each disposable user deletes
  itself with (a ``DELETE /users/{id}`` alone is not enough: it is usually an
  administrator's); (g) as a disposable user's logout (``ends_session``): only without the
  scan's credentials. Everything else (a registration
  without one, an unknown ``POST``, a ``PUT`` to an object the scan did not create, any
  ``DELETE`` of one) is refused and listed as not tested. A ``POST`` that checks a one-time
  code (``verifies_code``: ``/auth/otp/verify``; a wrong code creates nothing) is sent like a
  login; a registration is also sent ``incomplete`` (its password left out, so it cannot
  create an account: ``names_registration``), by the user-enumeration check.

``--include`` names operations the scan may call whatever their names (and, in safe mode, send
the probes of their own method); ``--exclude`` names operations it never requests; exclusion
wins. ``Policy.learn`` judges the surface once: what it drops or refuses becomes the report's
list of operations not tested. ``Policy.refusal`` then judges every request, also those to
URLs no operation describes (links found by crawling, probes), by the words of its path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from middlebrick.http.accounts import registers, self_deletion
from middlebrick.http.patterns import OperationPattern
from middlebrick.http.wording import (
    KIND_WORDS,
    Kind,
    action,
    creates,
    deletable,
    find_action,
    logs_in,
    names_read,
    names_registration,
    password_login,
    removable_creation,
    resource,
    segments,
    verifies_code,
)
from middlebrick.spec.model import Operation, Surface

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods that never change state (RFC 9110 §9.2.1); every other method is a write."""

Mode = Literal["safe", "active"]

_TEMPLATE_PART = re.compile(r"\{[^{}/]*\}")


@dataclass(frozen=True)
class Skipped:
    """An operation the scan did not test, and why (one sentence)."""

    operation: str  # "GET /admin/reset"
    kind: Kind
    reason: str


@dataclass
class Policy:
    """The safety policy of one scan; ``refusal`` is asked about every request."""

    mode: Mode = "safe"
    include: tuple[OperationPattern, ...] = ()
    exclude: tuple[OperationPattern, ...] = ()
    base_path: str = ""
    _refused: list[tuple[str | None, re.Pattern[str], str, Kind]] = field(default_factory=list)
    _templates: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    _created: set[str] = field(default_factory=set)
    _accounts: set[str] = field(default_factory=set)
    _session_ends: set[str] = field(default_factory=set)
    _conversing: set[str] = field(default_factory=set)
    _removable: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    _registrations: list[re.Pattern[str]] = field(default_factory=list)
    _logins: list[re.Pattern[str]] = field(default_factory=list)

    @classmethod
    def of(cls, mode: Mode, include: Iterable[str], exclude: Iterable[str], target: str) -> Policy:
        """The policy of a scan from its mode, ``--include`` and ``--exclude`` texts and target."""
        return cls(
            mode,
            tuple(OperationPattern.parse(text, flag="--include") for text in include),
            tuple(OperationPattern.parse(text, flag="--exclude") for text in exclude),
            urlsplit(target).path.rstrip("/"),
        )

    def learn(self, surface: Surface) -> tuple[tuple[Operation, ...], list[Skipped]]:
        """Judge every operation of ``surface``: the ones the checks may use, and the skipped.

        Operations that must not even be read (excluded, or named as a state change) are left
        out; refused writes stay (passive checks read their schemas) but are never sent.
        """
        self.base_path = urlsplit(surface.base_url).path.rstrip("/")
        self._templates = [(_template_regex(op.path), op.path) for op in surface.operations]
        self._removable = [
            (op.method, _template_regex(op.path))
            for op in surface.operations
            if removable_creation(op, surface.operations)
        ]
        self._registrations = [
            _template_regex(op.path)
            for op in surface.operations
            if self_deletion(op, surface.operations) is not None
        ]
        self._logins = [_template_regex(op.path) for op in surface.operations if password_login(op)]
        kept: list[Operation] = []
        skipped: list[Skipped] = []
        for op in surface.operations:
            verdict = self._judge(op, surface.operations)
            if verdict is None:
                kept.append(op)
                continue
            kind, reason = verdict
            skipped.append(Skipped(op.key, kind, reason))
            if kind != "unrecognised":  # ``refusal`` judges those, AI endpoints found included
                regex = _template_regex(op.path)
                self._refused.append((op.method, regex, f"{op.key}: {reason}", kind))
            if kind != "excluded" and op.method not in READ_METHODS:
                kept.append(op)  # its schema stays readable; the request is refused
        return tuple(kept), skipped

    def includes(self, method: str, url: str) -> bool:
        """True when ``--include`` names this request (and no ``--exclude`` does); never for a
        path whose segments hide a dot segment or a slash, which a server may resolve away."""
        paths = self._paths(url)
        if not _plain(paths[-1]):
            return False
        return _named(self.include, method, paths) and not _named(self.exclude, method, paths)

    def created(self, url: str, *, below: bool = False) -> None:
        """Let the scan write and delete ``url``: an object it created itself; ``below``, also
        the URLs under it (a disposable account's ``/password``, ``/email``)."""
        self._created.add(_object_key(url))
        if below:
            self._accounts.add(_object_key(url))

    def owns(self, url: str) -> bool:
        """True when ``url`` is an object the scan created itself (its own to delete)."""
        key = _object_key(url)
        return key in self._created or any(key.startswith(a + "/") for a in self._accounts)

    def ends_session(self, url: str) -> None:
        """Let an active scan send ``url`` (a logout) without the scan's credentials: it ends
        only the session of the disposable user whose token the request carries."""
        self._session_ends.add(self._paths(url)[0])

    def converses(self, url: str) -> None:
        """Let an active scan send prompts (``POST``) to ``url``: an AI endpoint candidate."""
        self._conversing.add(self._paths(url)[0])

    def still_refuses(self, skipped: Skipped) -> bool:
        """False for an operation ``learn`` refused as unrecognised that the scan later found to
        be an AI endpoint (and sent prompts to): the report lists the rest as not tested."""
        path = skipped.operation.partition(" ")[2]
        return skipped.kind != "unrecognised" or path not in self._conversing

    def refusal(
        self, method: str, url: str, *, anonymous: bool = False, incomplete: bool = False
    ) -> str | None:
        """Why the policy refuses ``method url`` (a sentence), or ``None`` when it may be sent.

        ``anonymous``: the request carries none of the scan's identities' credentials.
        ``incomplete``: the request is a ``POST`` to a registration whose body leaves out the
        password on purpose, so it cannot create an account (``names_registration``); an active
        scan may send it (the user-enumeration check compares the answers)."""
        paths = self._paths(url)
        shown = f"{method} {paths[0]}"
        excluded = next((p for p in self.exclude if any(p.matches(method, x) for x in paths)), None)
        if excluded is not None:
            return f"{shown}: excluded by --exclude {excluded.text!r}"
        if anonymous and self.mode == "active" and paths[0] in self._session_ends:
            return None  # a disposable user's logout (``ends_session``)
        if _plain(paths[-1]) and _named(self.include, method, paths):
            return None
        mine = self.owns(url)
        registering = incomplete and method == "POST" and names_registration(paths[0])
        for refused_method, regex, reason, kind in self._refused:
            if registering and kind == "undeletable":
                continue  # without its password, the registration creates nothing to delete
            if refused_method in (None, method) and regex.fullmatch(paths[0]) and not mine:
                return reason
        named = find_action(paths[0])
        if named is not None:
            return f"{shown}: its path names {KIND_WORDS[named[0]]} (`{named[1]}`)"
        if method in READ_METHODS or mine:
            return None
        if method == "DELETE":
            return f"{shown}: the scan deletes only objects it created itself"
        if method == "POST" and self._password_login(paths[0]):
            return None
        template = next((t for regex, t in self._templates if regex.fullmatch(paths[0])), None)
        written = resource(template or paths[0])
        if written is not None:
            return f"{shown}: {written[1]}"
        if registering:
            return None
        if method == "POST" and any(r.fullmatch(paths[0]) for r in self._registrations):
            if self.mode == "active" and anonymous:
                return None  # a disposable user of the scan's own (``checks._disposable``)
            return f"{shown}: {_REGISTERS}"
        if self.mode == "active" and not self._recognised(method, url, paths[0]):
            return f"{shown}: {_UNRECOGNISED}"
        return None

    def _recognised(self, method: str, url: str, path: str) -> bool:
        """True for a write the allow-list lets an active scan send (the module's (b) to (e))."""
        if method == "PUT":
            return any(m == "PUT" and regex.fullmatch(path) for m, regex in self._removable)
        if method != "POST":
            return False
        removable = any(m == "POST" and regex.fullmatch(path) for m, regex in self._removable)
        return removable or self.creates_nothing(url)

    def creates_nothing(self, url: str) -> bool:
        """True for a ``POST`` to ``url`` that names a read, logs in, prompts an AI endpoint or
        ends a disposable user's session: its 2xx answer leaves no object behind to delete."""
        path = self._paths(url)[0]
        return (
            names_read(path)
            or logs_in(path)
            or path in self._conversing
            or verifies_code(path)
            or path in self._session_ends
            or self._password_login(path)
        )

    def _password_login(self, path: str) -> bool:
        return any(regex.fullmatch(path) for regex in self._logins)

    def _judge(self, op: Operation, everything: Iterable[Operation]) -> tuple[Kind, str] | None:
        method = op.method
        if _named(self.exclude, method, (op.path,)):
            text = next(p.text for p in self.exclude if p.matches(method, op.path))
            return "excluded", f"excluded by --exclude {text!r}"
        if _named(self.include, method, (op.path,)):
            return None
        named = action(op)
        if named is not None and (method in READ_METHODS or self.mode == "active"):
            return named
        if method in READ_METHODS or self.mode != "active":
            return None
        if method == "DELETE":
            return "state-changing", (
                "DELETE removes what it names; the scan deletes only objects it created itself"
            )
        if method == "POST" and registers(op):
            if self_deletion(op, everything) is not None:
                return None  # disposable users of the scan's own, who delete themselves
            return "undeletable", _UNDELETABLE_USERS
        if password_login(op):
            return None  # a login (``/token``): the login checks send made-up credentials only
        written = resource(op.path)
        if written is not None:
            return written
        if method == "POST" and creates(op, everything) and not deletable(op, everything):
            return "undeletable", (
                "it creates objects and the API documents no DELETE that would remove them"
            )
        if method == "POST" and (
            removable_creation(op, everything)
            or names_read(op.path)
            or logs_in(op.path)
            or verifies_code(op.path)
        ):
            return None
        if method == "PUT" and removable_creation(op, everything):
            return None
        if method == "POST" or "{" not in op.path:
            return "unrecognised", _UNRECOGNISED
        return None  # a PUT/PATCH/DELETE of one object: sent only to objects the scan created

    def _paths(self, url: str) -> tuple[str, ...]:
        """The URL's path relative to the API's base (first), and as it is."""
        raw = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
        raw = raw.rstrip("/") or "/"
        base = self.base_path
        if base and (raw == base or raw.startswith(base + "/")):
            return (raw[len(base) :] or "/", raw)
        return (raw,)


_UNRECOGNISED = (
    "the scan writes only to objects it created, removable creations, reads, logins and AI "
    "endpoints, and this write is none of them"
)

_UNDELETABLE_USERS = (
    "it registers an account and the API documents no self-service DELETE of the caller's own "
    "account (`DELETE /users/me`) a disposable user could remove itself with; a DELETE of an "
    "account by its id is usually an administrator's (name the registration with --include to "
    "let an active scan register disposable users anyway)"
)

_REGISTERS = (
    "it registers an account: an active scan registers only disposable users of its own, "
    "without its identities' credentials"
)


def _named(patterns: Iterable[OperationPattern], method: str, paths: Iterable[str]) -> bool:
    paths = tuple(paths)
    return any(p.matches(method, path) for p in patterns for path in paths)


def _plain(path: str) -> bool:
    """False when a decoded segment is a dot segment or holds a slash or a backslash."""
    return not any(
        segment in (".", "..") or "/" in segment or "\\" in segment for segment in segments(path)
    )


def _template_regex(template: str) -> re.Pattern[str]:
    parts = _TEMPLATE_PART.split(template.rstrip("/") or "/")
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


def _object_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
