"""Who the scan acts as: each identity verified before the checks run, re-checked at the end.

After the baseline (made as the primary identity), ``establish`` finds an operation that answers
the primary but rejects anonymous requests, sends it as every other identity, and learns what
names each identity (JWT subject claims, the objects it owns, its ``/me``-style record). A
credential answered 401 there is a ``CredentialsRejected`` error, never a silent anonymous scan.
``recheck`` repeats the verifying request at the end, so a token that expired mid-scan is
reported.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from middlebrick.auth import is_credential_header
from middlebrick.baseline import Baseline
from middlebrick.config import Credential, ScanRequest
from middlebrick.errors import CredentialsRejected
from middlebrick.http.exchange import ANONYMOUS, DEFAULT_IDENTITY, Exchange, Sender
from middlebrick.tokens import bearer_token, decode_jwt

__all__ = [
    "Identities",
    "Identity",
    "establish",
    "me_exchange",
    "own_ids",
    "owned_by_resource",
    "owned_id",
    "primary_name",
    "recheck",
]

_DENIED = frozenset({401, 403})
_CANDIDATES = 4  # baseline operations tried as anonymous to find a verifying one
_ME_PATH = ("/me", "/whoami", "/profile", "/account", "/user", "/users/me", "/api/me")
_SELF_FIELDS = ("id", "user_id", "userId", "username", "user_name", "email", "sub", "uid")
_OWNED = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*):(.+)$")


@dataclass(frozen=True)
class Identity:
    """One identity as the checks see it: its name for ``Request.as_identity`` and who it is."""

    name: str
    verified: bool | None  # None: no operation tells authenticated from anonymous
    self_ids: frozenset[str] = frozenset()  # values naming this identity (sub, user id, email…)
    owns: tuple[str, ...] = ()  # object ids the user said it owns
    expires_at: float | None = None  # its token's exp, when it has one


@dataclass(frozen=True)
class Identities:
    """The primary identity (the baseline's), the others, and the request that verified them."""

    primary: Identity | None = None  # None: the scan is anonymous
    others: tuple[Identity, ...] = ()  # other users, for cross-identity tests
    verifier: Exchange | None = None  # primary's 2xx on an operation anonymous is denied
    notes: tuple[str, ...] = field(default=())

    @property
    def authenticated(self) -> bool:
        """True when the scan was given credentials."""
        return self.primary is not None

    def owner_of(self, value: str) -> Identity | None:
        """The identity that ``value`` names (one of its self ids or owned objects)."""
        for identity in (self.primary, *self.others):
            if identity is not None and (value in identity.self_ids or value in identity.owns):
                return identity
        return None


def owned_id(entry: str) -> tuple[str | None, str]:
    """An ``--owns`` entry as (resource, id): ``books:12`` names book 12, ``item-17`` an id
    of any resource. The resource is a word (letters, digits, ``_``, ``-``)."""
    match = _OWNED.match(entry)
    if match is None:
        return None, entry
    return match.group(1).lower(), match.group(2)


def own_ids(scan: ScanRequest) -> set[str]:
    """What names the primary identity before any request: its token's subject, what it owns."""
    name = primary_name(scan)
    if name is None:
        return set()
    credential = _credential(scan, name)
    token = bearer_token(credential.headers)
    jwt = decode_jwt(token) if token else None
    owned = {owned_id(entry)[1] for entry in credential.owns}
    return (jwt.identity_values() if jwt else set()) | owned


def owned_by_resource(scan: ScanRequest) -> dict[str, list[str]]:
    """The primary identity's ``--owns`` ids given with a resource (``books:12``), by resource."""
    name = primary_name(scan)
    found: dict[str, list[str]] = {}
    if name is None:
        return found
    for entry in _credential(scan, name).owns:
        resource, value = owned_id(entry)
        if resource is not None:
            found.setdefault(resource, []).append(value)
    return found


async def establish(client: Sender, scan: ScanRequest, baseline: Baseline) -> Identities:
    """Verify every identity of ``scan`` against ``baseline``; raise when one is rejected."""
    acting = primary_name(scan)
    if acting is None:
        return Identities()
    answered = [(op, ex) for op, ex in baseline.items() if ex.response is not None]
    if answered and all(ex.response and ex.response.status == 401 for _, ex in answered):
        op = answered[0][0]
        raise CredentialsRejected(
            f"the target rejects the credentials of {_who(acting)}: {op.key} and every "
            "other operation answered 401; refresh the token or check --auth"
        )
    notes: list[str] = []
    verifier = await _find_verifier(client, baseline)
    me = me_exchange(baseline)
    primary = _identity(acting, _credential(scan, acting), verifier is not None, me)
    others: list[Identity] = []
    for name, credential in scan.identities.items():
        if name == acting or _same_credentials(credential, scan, acting):
            continue
        verified: bool | None = None
        if verifier is not None:
            answer = await client.send(verifier.request.as_identity(name))
            status = answer.response.status if answer.response else None
            if status == 401:
                raise CredentialsRejected(
                    f"the target rejects the credentials of identity {name!r}: "
                    f"{verifier.operation} answered 401 for it and 2xx for {_who(acting)}; "
                    "refresh its token or check --identity"
                )
            verified = answer.answered
            if not verified:
                notes.append(
                    f"identity {name!r} could not be verified: {verifier.operation} answered "
                    f"{status if status is not None else answer.error} for it"
                )
        their_me = await client.send(me.request.as_identity(name)) if me is not None else None
        others.append(_identity(name, credential, verified, their_me))
    if verifier is None:
        notes.append(
            "the credentials could not be verified: no operation tried rejects anonymous requests"
        )
    notes += _expiry_notes((primary, *others), scan.limits.time_budget)
    return Identities(primary, tuple(others), verifier, tuple(notes))


async def recheck(client: Sender, identities: Identities) -> list[str]:
    """Sentences for identities whose credentials stopped working during the scan."""
    verifier = identities.verifier
    if verifier is None:
        return []
    notes = []
    for identity in (identities.primary, *identities.others):
        if identity is None or identity.verified is not True:
            continue
        request = verifier.request.with_header("Cache-Control", "no-cache")
        name = None if identity is identities.primary else identity.name
        answer = await client.send(request if name is None else request.as_identity(name))
        if answer.response is not None and _refused(answer):
            notes.append(
                f"the credentials of {_who(identity.name)} stopped working during the scan "
                f"({verifier.operation} answered {answer.response.status} at the end); findings "
                "after that point may be missing: use a token that lives longer than --timeout"
            )
    return notes


def primary_name(scan: ScanRequest) -> str | None:
    """The identity the scan acts as by default; ``None`` when it was given no credentials."""
    if any(is_credential_header(name) for name, _ in scan.headers):
        return scan.primary_identity or DEFAULT_IDENTITY
    return scan.primary_identity


def _credential(scan: ScanRequest, name: str) -> Credential:
    given = tuple(pair for pair in scan.headers if is_credential_header(pair[0]))
    named = scan.identities.get(name)
    if given:
        return Credential(headers=given, owns=named.owns if named else ())
    return named or Credential()


def _same_credentials(credential: Credential, scan: ScanRequest, primary: str) -> bool:
    mine = _credential(scan, primary)
    return (credential.headers, credential.query) == (mine.headers, mine.query)


async def _find_verifier(client: Sender, baseline: Baseline) -> Exchange | None:
    """The primary's 2xx exchange of an operation that denies anonymous requests."""
    candidates = sorted(
        baseline.successful(),
        key=lambda pair: (not pair[0].requires_auth, len(pair[0].params("path")), pair[0].path),
    )
    for _, exchange in candidates[:_CANDIDATES]:
        anonymous = await client.send(exchange.request.without_credentials())
        if _refused(anonymous):
            return exchange
    return None


def _refused(answer: Exchange) -> bool:
    """401/403, or a 2xx whose body is an error envelope (``{"success": false, …}``)."""
    resp = answer.response
    return resp is not None and (resp.status in _DENIED or resp.refused_in_body)


def me_exchange(baseline: Baseline) -> Exchange | None:
    """The baseline's answer that is the caller's own record (``/me``, ``/whoami`` …), if any."""
    for op, exchange in baseline.successful():
        path = op.path.rstrip("/").lower()
        body = exchange.response.json if exchange.response is not None else None
        if not op.params("path") and path.endswith(_ME_PATH) and isinstance(body, dict):
            return exchange
    return None


def _identity(
    name: str, credential: Credential, verified: bool | None, me: Exchange | None
) -> Identity:
    ids: set[str] = set()
    token = bearer_token(credential.headers)
    jwt = decode_jwt(token) if token else None
    if jwt is not None:
        ids |= jwt.identity_values()
    if me is not None and me.ok and me.response is not None:
        ids |= _self_fields(me.response.json)
    return Identity(
        name=name,
        verified=verified,
        self_ids=frozenset(ids),
        owns=tuple(owned_id(entry)[1] for entry in credential.owns),
        expires_at=jwt.expires_at if jwt else None,
    )


def _self_fields(body: Any) -> set[str]:
    """The identity fields of a ``/me`` answer, opened when it is an envelope
    (``{"user": {"id": 1, …}}``, ``{"data": {…}}``)."""
    if isinstance(body, Mapping) and len(body) == 1:
        inner = next(iter(body.values()))
        if isinstance(inner, Mapping):
            body = inner
    if not isinstance(body, Mapping):
        return set()
    return {
        str(body[key])
        for key in _SELF_FIELDS
        if isinstance(body.get(key), str | int) and not isinstance(body.get(key), bool)
    }


def _expiry_notes(identities: tuple[Identity, ...], budget: float) -> list[str]:
    notes = []
    deadline = time.time() + budget
    for identity in identities:
        if identity.expires_at is not None and identity.expires_at < deadline:
            when = datetime.fromtimestamp(identity.expires_at, UTC).strftime("%H:%M:%S UTC")
            notes.append(
                f"the token of {_who(identity.name)} expires at {when}, before the scan's time "
                "budget ends; a scan that runs that long loses its credentials"
            )
    return notes


def _who(name: str) -> str:
    return "the scan" if name in (DEFAULT_IDENTITY, ANONYMOUS) else f"identity {name!r}"
