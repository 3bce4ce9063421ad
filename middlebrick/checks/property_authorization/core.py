"""Property authorization: sensitive and undeclared properties, client-chosen projections.

``sensitive_properties`` and ``undeclared_properties`` read the baseline; ``client_projection``
re-sends baseline requests with an attribute name in a projection or sort parameter. The
write-side checks (mass assignment) live in ``property_authorization.writes``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from functools import partial

from middlebrick.checks._exposure import Source, sources
from middlebrick.checks._privilege import as_whom
from middlebrick.checks._probe import current_value, with_parameter
from middlebrick.checks._properties import (
    Sensitivity,
    has_value,
    plain,
    properties,
    sensitivity,
)
from middlebrick.checks._schemas import response_schema, undeclared
from middlebrick.checks._signatures import Hit, ScanEnv, scan_exchange, signatures_for
from middlebrick.checks._validators import shannon_entropy
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Response
from middlebrick.spec.model import Operation, Parameter

_SENSITIVE = "property_authorization.sensitive-property"
_UNDECLARED = "property_authorization.undeclared-property"
_PROJECTION = "property_authorization.client-chosen-projection"

_VALUE_FINDINGS = {
    _SENSITIVE,  # password hashes (signatures/property_authorization.yaml)
    "data_exposure.card-number",
    "data_exposure.ssn",
    "data_exposure.secret-token",
    "data_exposure.private-key",
}
_VALUE_KINDS = {
    _SENSITIVE: "a password hash",
    "data_exposure.card-number": "a card number",
    "data_exposure.ssn": "an SSN",
    "data_exposure.secret-token": "a secret key",
    "data_exposure.private-key": "a private key",
}
_KIND_WORDS: dict[Sensitivity, str] = {
    "credential": "credential",
    "secret": "secret",
    "personal": "personal data",
    "internal": "internal",
    "authorization": "authorization flag",
}
_SHOWN = 8  # properties named in a detail sentence
_SECRET_LENGTH = 16  # characters of the shortest value taken for a secret key
_SECRET_ENTROPY = 3.0  # bits per character of a random key
_LOGIN_OPERATION = re.compile(r"log-?in|sign-?in|sign_in|token|oauth|auth|session|refresh", re.I)

_LIST_PARAMETER = re.compile(
    r"(?i)^(?:fields?|projection|project|attributes?|attrs|select|columns?|include|only|"
    r"fields\[[a-z_]+\])$"
)
_SORT_PARAMETER = re.compile(r"(?i)^(?:sort_?key|sort_?by|sort|order_?by|orderby|order)$")
_PROBED_NAMES = ("password_hash", "password")
_LIST_VALUE = "password_hash,password,ssn,api_key,secret,internal_notes"
_PROBES_PER_OPERATION = 3


@dataclass
class _Leak:
    """What one answer reveals: sensitive properties by path, how each was recognised."""

    kinds: dict[str, list[str]] = field(default_factory=dict)  # path -> reasons
    holders: set[int] = field(default_factory=set)  # the records holding them
    both: bool = False  # some property is sensitive by name and by value
    grave: bool = False  # a credential, secret or personal datum (not only flags/notes)

    def add(self, path: str, reason: str, *, grave: bool, record: object = None) -> None:
        reasons = self.kinds.setdefault(path, [])
        if reason not in reasons:
            reasons.append(reason)
        self.grave = self.grave or grave
        if record is not None:
            self.holders.add(id(record))


@check(category="property_authorization", emits={_SENSITIVE})
async def sensitive_properties(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Sensitive properties in answers, recognised by their name and by their value.

    Reads every 2xx JSON answer of the baseline (DynamoDB's wire format unwrapped); sends no
    requests. By name: password and password hashes, secrets, API / access / private keys and
    tokens (pagination, CSRF and count fields aside), SSNs, tax and national ids, card numbers
    and CVVs, bank accounts, internal notes (``internal_*``, ``admin_notes`` …), and the
    authorization flags ``is_admin`` / ``is_superuser`` / ``is_staff``. A name that describes
    rather than holds (``ssn_last4``, ``api_key_id``, ``password_changed_at``), an empty or
    masked value (``****``, ``[redacted]``), a token field of a login operation and the scan's
    own credentials echoed back do not count. By value, whatever the name: password hashes
    (bcrypt, argon2, PBKDF2, scrypt, SHA-crypt) and the card-number, SSN, secret-key and
    private-key signatures of the data-exposure packs.

    One finding per operation listing the properties. A name alone gives at most ``info``:
    severity is high only when a value proves it — a password hash, card number, SSN, key or
    private key recognised by its format, or, under a credential's or secret's name, a value
    with that shape (a word without spaces for a password; 16+ random characters, not a link,
    for a key). Personal data by name only, flags (``is_admin``) and internal notes are
    informational. Confirmed when a property is sensitive by name and by value
    (``password_hash`` holding a bcrypt hash).
    """
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    sigs = signatures_for(_VALUE_FINDINGS)
    async for source in ctx.each(sources(ctx)):
        resp = source.exchange.response
        if resp is None or not resp.ok or not resp.is_json or _is_api_description(resp):
            continue
        leak = _leak(source, resp, scan_exchange(source.exchange, sigs, env), env)
        if not leak.kinds:
            continue
        listed = ", ".join(
            f"`{path}` ({', '.join(reasons)})"
            for path, reasons in list(leak.kinds.items())[:_SHOWN]
        )
        more = len(leak.kinds) - _SHOWN
        first = next(iter(leak.kinds)).rsplit(".", 1)[-1].removesuffix("[]")
        yield ctx.finding(
            _SENSITIVE,
            source.operation or source.key,
            detail=f"the {resp.status} answer to `{source.key}` ({as_whom(ctx)}) carries {listed}"
            + (f" and {more} more" if more > 0 else "")
            + f" in {max(1, len(leak.holders))} record(s)",
            evidence=[("baseline", source.exchange)],
            confidence=Confidence.confirmed if leak.both else Confidence.firm,
            severity=None if leak.grave else Severity.info,
            match=f'"{first}"',
        )


@check(category="property_authorization", emits={_UNDECLARED})
async def undeclared_properties(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Answers that carry properties their declared response schema does not list.

    Needs a response schema (from the spec) for the baseline's status; sends no requests. Walks
    each 2xx JSON answer against its schema (``allOf`` / ``oneOf`` / ``anyOf`` read as the union
    of their parts; arrays through their item schema, the first 20 elements). A property counts
    when its object's schema lists properties and does not admit others:
    ``additionalProperties: false``, or absent (the documented contract). ``additionalProperties:
    true`` or a schema, and free-form objects without listed properties, admit anything. A
    property the schema marks ``writeOnly`` counts too when an answer carries it.

    One finding per operation listing the undeclared property paths (``items[].ssn``); the
    answer itself is the proof, so confidence is confirmed. OpenAPI lets answers carry more than
    they declare, and generated schemas lag behind their code, so an undeclared property is
    spec drift, ``info``, unless one of them is sensitive by name and value (what
    ``sensitive_properties`` reads: ``password_hash``, ``ssn``, ``is_admin`` …) or the schema
    marks it ``writeOnly``: then low. The scan's own credentials echoed back (a ``/token``
    operation returning the caller's own key) are not sensitive here.
    """
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        resp = exchange.response
        if resp is None or not resp.ok or not resp.is_json:
            continue
        schema = response_schema(operation, resp.status)
        if not schema:
            continue
        extras = undeclared(resp.json, schema)
        if not extras:
            continue
        sensitive = {
            prop.key
            for prop in properties(plain(resp.json))
            if sensitivity(prop.key, prop.value) and prop.value not in env.own_secrets
        }
        telling = [p for p in extras if p.endswith("(writeOnly)") or _leaf(p) in sensitive]
        shown_paths = telling or extras
        listed = ", ".join(f"`{path}`" for path in shown_paths[:_SHOWN])
        more = f" and {len(extras) - _SHOWN} more" if len(extras) > _SHOWN else ""
        if not telling:
            more += " (none sensitive by name: spec drift)"
        yield ctx.finding(
            _UNDECLARED,
            operation,
            detail=f"the {resp.status} answer to `{operation.key}` ({as_whom(ctx)}) carries "
            f"{listed}{more}, "
            f"which its declared {resp.status} response schema does not list",
            evidence=[("baseline", exchange)],
            confidence=Confidence.confirmed,
            severity=None if telling else Severity.info,
            match=f'"{_leaf(shown_paths[0])}"',
        )


def _leaf(path: str) -> str:
    """The property name at the end of an undeclared path (``items[].ssn`` -> ``ssn``)."""
    return path.split(" ", 1)[0].rsplit(".", 1)[-1].removesuffix("[]")


@check(category="property_authorization", emits={_PROJECTION}, per_operation=_PROBES_PER_OPERATION)
async def client_projection(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Projection and sort parameters that reach sensitive attributes the answer lacked.

    For each GET operation whose baseline answered 2xx JSON, re-sends the baseline request (same
    identity) with one parameter changed, at most three requests per operation:

    - a declared projection parameter (``fields``, ``projection``, ``attributes``, ``select``,
      ``columns``, ``include``, ``only``): ``password_hash``, then the list
      ``password_hash,password,ssn,api_key,secret,internal_notes``;
    - a declared sort parameter (``sort_key``, ``sort_by``, ``sort``, ``order_by``, ``order``):
      ``password_hash``, then ``password`` (a sort column copied into a DynamoDB projection or
      an ORM ``only()`` comes back in the answer);
    - when the operation declares neither: ``fields=password_hash`` once.

    Reported (confirmed) when the probe answers 2xx and its records carry a non-empty property
    of a name sent that the baseline's records did not have at all; an error, an echo of the
    value under another key, or an attribute the baseline already showed is not a finding. One
    finding per operation and parameter, with the baseline and the probe as evidence.
    """
    async for finding in ctx.each_at_once(
        ctx.baseline.successful(), partial(_probe_projection, ctx)
    ):
        yield finding


async def _probe_projection(
    ctx: CheckContext, item: tuple[Operation, Exchange]
) -> AsyncIterator[Finding]:
    """The first probe of one operation that reveals a sensitive attribute, as a finding."""
    operation, exchange = item
    resp = exchange.response
    if operation.method != "GET" or resp is None or not resp.is_json:
        return
    before = {p.key for p in properties(plain(resp.json))}
    budget = _PROBES_PER_OPERATION
    for parameter, values in _projection_probes(operation):
        for value in values:
            request = with_parameter(exchange.request, operation, parameter, value)
            if request is None or budget <= 0:
                break
            budget -= 1
            probe = await ctx.send(request)
            revealed, holders = _revealed(probe, before, value.split(","))
            if revealed:
                yield _projection_finding(
                    ctx, operation, parameter, value, (exchange, probe), revealed, holders
                )
                return


def _leak(source: Source, resp: Response, hits: list[Hit], env: ScanEnv) -> _Leak:
    """The sensitive properties of one answer, by name and by value."""
    leak = _Leak()
    login = _issues_tokens(source)
    by_key: dict[str, list[Hit]] = {}
    for hit in hits:
        if hit.key:
            by_key.setdefault(hit.key, []).append(hit)
    named: set[str] = set()
    for prop in properties(plain(resp.json)):
        kind = sensitivity(prop.key, prop.value)
        if kind is None or (kind == "secret" and (login or prop.value in env.own_secrets)):
            continue
        named.add(prop.key)
        grave = kind in ("credential", "secret") and _shaped(kind, prop.value)
        reason = _KIND_WORDS[kind] if grave else f"{_KIND_WORDS[kind]} by name only"
        leak.add(prop.path, reason, grave=grave, record=prop.record)
        for hit in by_key.get(prop.key, []):
            leak.add(prop.path, f"holds {_VALUE_KINDS[hit.finding]}", grave=True)
            leak.both = True
    for key, found in by_key.items():
        if key in named or found[0].value in env.own_secrets:
            continue
        leak.add(key, f"by value: {_VALUE_KINDS[found[0].finding]}", grave=True)
    return leak


def _shaped(kind: Sensitivity, value: object) -> bool:
    """Whether a value has the shape of the credential or secret its name announces.

    A link, a sentence or a short word is not a key (a field named ``token`` that holds an
    invite URL); a password is any word without spaces, a secret a long random string.
    """
    if not isinstance(value, str) or "://" in value or any(ch.isspace() for ch in value):
        return False
    if kind == "credential":
        return len(value) >= 4
    return len(value) >= _SECRET_LENGTH and shannon_entropy(value) >= _SECRET_ENTROPY


def _issues_tokens(source: Source) -> bool:
    """A login / token operation: its token fields are its job, not a leak."""
    operation = source.operation
    text = source.key
    if operation is not None:
        text += f" {operation.operation_id or ''} {operation.summary} {' '.join(operation.tags)}"
    return bool(_LOGIN_OPERATION.search(text))


def _is_api_description(resp: Response) -> bool:
    doc = resp.json
    return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc) and "paths" in doc


def _projection_probes(operation: Operation) -> list[tuple[Parameter, tuple[str, ...]]]:
    """The parameters to probe, each with the values to try, in order."""
    probes: list[tuple[Parameter, tuple[str, ...]]] = []
    for parameter in operation.params("query"):
        if _LIST_PARAMETER.match(parameter.name):
            probes.append((parameter, (_PROBED_NAMES[0], _LIST_VALUE)))
        elif _SORT_PARAMETER.match(parameter.name):
            probes.append((parameter, _PROBED_NAMES))
    if not probes:
        probes.append((Parameter("fields", "query"), (_PROBED_NAMES[0],)))
    return probes


def _revealed(probe: Exchange, before: Collection[str], names: list[str]) -> tuple[list[str], int]:
    """Names sent that the probe's 2xx JSON records carry (non-empty) and the baseline lacked.

    With the number of records that carry one.
    """
    resp = probe.response
    if resp is None or not resp.ok or not resp.is_json:
        return [], 0
    wanted = {name for name in names if name not in before}
    found: set[str] = set()
    holders: set[int] = set()
    for prop in properties(plain(resp.json)):
        if prop.key in wanted and has_value(prop.value):
            found.add(prop.key)
            holders.add(id(prop.record))
    return [name for name in names if name in found], len(holders)


def _projection_finding(
    ctx: CheckContext,
    operation: Operation,
    parameter: Parameter,
    value: str,
    exchanges: tuple[Exchange, Exchange],
    revealed: list[str],
    holders: int,
) -> Finding:
    baseline, probe = exchanges
    resp = probe.response
    names = ", ".join(f"`{name}`" for name in revealed)
    before = current_value(baseline.request, operation, parameter)
    sent_before = f" ({parameter.name}={before})" if before is not None else ""
    return ctx.finding(
        _PROJECTION,
        operation,
        detail=f"{parameter.name}={value} made `{operation.key}` answer "
        f"{resp.status if resp else '?'} with {names} in {holders} record(s) ({as_whom(ctx)}); "
        f"the baseline request{sent_before} answered with no such property",
        evidence=[("probe", probe), ("baseline", baseline)],
        parameter=parameter.name,
        confidence=Confidence.confirmed,
        match=f'"{revealed[0]}"',
    )
