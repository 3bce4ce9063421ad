"""The Filter's scan facts, gathered by the engine from the baseline, identities and client.

Also the one step of the Filter that needs the network: findings that rest on a server error
seen after the scan's own writes are sent again, fresh, once every write has been undone
(``reconfirm``); the answers become ``ScanFacts.reconfirmed`` / ``contradicted``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import replace

from middlebrick.auth import is_credential_header
from middlebrick.baseline import Baseline
from middlebrick.config import ScanRequest
from middlebrick.errors import ScanInterrupted
from middlebrick.filtering import Answer, Caller, ScanFacts
from middlebrick.filtering.facts import record_of, text
from middlebrick.filtering.own_data import IDENTITY_FIELDS, listed_owners
from middlebrick.filtering.scan_caused import after_writes, server_error_read
from middlebrick.findings import Finding
from middlebrick.http.client import HttpClient
from middlebrick.http.exchange import ANONYMOUS, Exchange, Response
from middlebrick.identities import Identities, me_exchange

__all__ = ["RECONFIRMED_AT_MOST", "gather_facts", "reconfirm"]

_SECRET_MIN = 8  # a shorter credential value would match ordinary values by chance

RECONFIRMED_AT_MOST = 20
"""Findings sent again after the scan's writes; past this many they are dropped unconfirmed."""


def gather_facts(
    client: HttpClient,
    baseline: Baseline,
    identities: Identities,
    raised: Iterable[tuple[float, Finding]],
) -> ScanFacts:
    """What the scan saw, for the Filter's rules (see ``ScanFacts``)."""
    times: dict[str, float] = {}
    for at, finding in raised:
        times[finding.fingerprint] = max(at, times.get(finding.fingerprint, at))
    facts = ScanFacts(writes=tuple(client.writes), created=client.journal.created, raised=times)
    if identities.primary is None:  # an anonymous scan: no caller, no authenticated answers
        return facts
    authenticated: dict[str, Answer] = {}
    anonymous: dict[str, Answer] = {}
    for operation, exchange in baseline.items():
        if exchange.response is None or exchange.request.identity == ANONYMOUS:
            continue
        authenticated[operation.key] = _answer(exchange.response)
        replayed = client.cached(exchange.request.without_credentials())
        if replayed is not None and replayed.response is not None:
            anonymous[operation.key] = _answer(replayed.response)
    me = me_exchange(baseline)
    mine = _identity_values(me)
    owned = _listed_owners(client, baseline, identities)
    callers = tuple(
        Caller(
            identity.name,
            identity.self_ids
            | (mine if identity is identities.primary else frozenset())
            | _basic_user(client.scan, identity.name, primary=identity is identities.primary),
            me.operation if me is not None else None,
            _secrets(client.scan, identity.name, primary=identity is identities.primary),
            owned if identity is identities.primary else frozenset(),
        )
        for identity in (identities.primary, *identities.others)
        if identity is not None
    )
    return replace(facts, authenticated=authenticated, anonymous=anonymous, callers=callers)


async def reconfirm(client: HttpClient, facts: ScanFacts, findings: list[Finding]) -> ScanFacts:
    """Send again, fresh, the server-error reads of findings raised after the scan's writes."""
    reconfirmed: set[str] = set()
    contradicted: set[str] = set(facts.contradicted)
    doubtful = [f for f in findings if server_error_read(f) and after_writes(f, facts)]
    seen: set[str] = set()
    for finding in doubtful:
        if finding.fingerprint in seen or len(seen) >= RECONFIRMED_AT_MOST:
            continue
        seen.add(finding.fingerprint)
        evidence = server_error_read(finding)
        request = client.request_of(evidence) if evidence is not None else None
        if request is None:
            continue
        try:
            again = await client.send(request.sent_fresh())
        except ScanInterrupted:
            break
        if again.response is None:
            continue
        if again.response.status >= 500:
            reconfirmed.add(finding.fingerprint)
        else:
            contradicted.add(finding.fingerprint)
    return replace(facts, reconfirmed=frozenset(reconfirmed), contradicted=frozenset(contradicted))


def _listed_owners(
    client: HttpClient, baseline: Baseline, identities: Identities
) -> frozenset[tuple[str, str]]:
    """The owner values that name the primary identity, by the listings (GETs without a path
    parameter) that the scan also sent as another identity (the BOLA checks do: kept in the
    scan's cache) and that show each caller its own records (``own_data.listed_owners``)."""
    owned: set[tuple[str, str]] = set()
    for operation, exchange in baseline.items():
        if operation.method != "GET" or operation.params("path") or not exchange.ok:
            continue
        if exchange.request.identity == ANONYMOUS or exchange.response is None:
            continue
        for other in identities.others:
            theirs = client.cached(exchange.request.as_identity(other.name))
            if theirs is not None and theirs.ok and theirs.response is not None:
                owned |= listed_owners(exchange.response.json, theirs.response.json)
    return frozenset(owned)


def _identity_values(me: Exchange | None) -> frozenset[str]:
    """The identity fields of the caller's own ``me`` record (a lone wrapper opened)."""
    body = me.response.json if me is not None and me.response is not None else None
    record = record_of(body)
    if not isinstance(record, Mapping):
        return frozenset()
    values = (text(record.get(name)) for name in IDENTITY_FIELDS)
    return frozenset(v for v in values if v)


def _secrets(scan: ScanRequest, name: str, *, primary: bool) -> frozenset[str]:
    """The credential values an identity was given: header values (and the token after a
    scheme), cookie values, query values."""
    given = scan.identities.get(name)
    pairs = [*(given.headers if given else ()), *(given.query if given else ())]
    if primary:
        pairs += [(n, v) for n, v in scan.headers if is_credential_header(n)]
    values: set[str] = set()
    for _, value in pairs:
        values.add(value.strip())
        values.add(value.partition(" ")[2].strip())
        for cookie in value.split(";"):
            values.add(cookie.partition("=")[2].strip())
    return frozenset(v for v in values if len(v) >= _SECRET_MIN)


def _basic_user(scan: ScanRequest, name: str, *, primary: bool) -> frozenset[str]:
    """The user-id of an identity's HTTP Basic credential (RFC 7617), which names it."""
    given = scan.identities.get(name)
    pairs = [*(given.headers if given else ())]
    if primary:
        pairs += list(scan.headers)
    users: set[str] = set()
    for header, value in pairs:
        scheme, _, encoded = value.strip().partition(" ")
        if header.lower() != "authorization" or scheme.lower() != "basic":
            continue
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            continue
        user = decoded.partition(":")[0]
        if user:
            users.add(user)
    return frozenset(users)


def _answer(response: Response) -> Answer:
    return Answer(response.status, response.body)
