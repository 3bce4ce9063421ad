"""Rule: the caller's own data, returned to the caller, is not an exposure (issue 21, class 3).

A user's own e-mail, phone, role or admin flag in its own user record (its ``me`` answer, or a
record whose identity field names it), its own e-mail wherever it appears, and the token it was
given, are what the API exists to return to it; so is an e-mail or phone number in a record the
caller owns by a value a per-caller listing proves its own (``listed_owners``: its order's
delivery phone, ``user_id`` 5 where ``GET /orders`` lists the caller only orders of user 5 and
the other identity only others). When every record of the answer that holds the
reported field is the caller's own, and an anonymous request does not get the same answer, the
finding is kept at ``info``. A sensitive property the check rated above medium (a password hash
or a secret) is still a flaw when only its owner reads it back, but a lesser one: only whoever
already holds the owner's credential gets it, and gains the offline cracking of the password
behind it (OWASP ASVS 5.0 V6 / API3:2023: never return password hashes). It is kept at
``medium``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from middlebrick.filtering.facts import Caller, ScanFacts, objects, record_of, text
from middlebrick.filtering.rules import Verdict, evidence_rule
from middlebrick.findings import Finding, Severity

__all__ = ["IDENTITY_FIELDS", "OWNER_FIELDS", "listed_owners"]

IDENTITY_FIELDS = frozenset({"username", "user_name", "login", "email", "sub", "uid"})
"""Fields whose value says which user a record *is*: the identity fields of a ``me`` answer that
``identities`` reads (Django's ``User.username``/``email``, OpenID Connect's ``sub``, GitHub's
``login``). A record's own ``id`` counts in the caller's ``me`` answer, and elsewhere only when
it is a name, not a number (Kinto's account ``{"id": "alice"}``): project 2 is not the project
of user 2."""

OWNER_FIELDS = IDENTITY_FIELDS | frozenset(
    {"user_id", "userId", "owner", "owner_id", "ownerId", "created_by", "createdBy", "author"}
    | {"author_id"}
)
"""Fields whose value says who a record is or belongs to: the identity fields, and the owner
columns of REST frameworks' conventions (Django REST framework tutorial's ``owner``,
``created_by``/``author`` foreign keys)."""

_OWNED_BY = OWNER_FIELDS - IDENTITY_FIELDS
"""Fields that say whom a record belongs to, not who it is (``user_id`` of an order)."""

_BY_RECORD = frozenset(
    {
        "data_exposure.email-address",
        "data_exposure.phone-number",
        "bfla.role-field-leaked",
        "property_authorization.sensitive-property",
    }
)
"""Facts about a person: the caller's own when the value is the caller's (its own e-mail) or the
record holding them is the caller's own user record."""

_BY_CREDENTIAL = frozenset(
    {
        "data_exposure.secret-token",
        "data_exposure.jwt-in-body",
        "property_authorization.undeclared-property",
    }
)
"""Secrets and tokens: the caller's own only when the value is the credential it was given (a
secret inside a record it owns is still a secret the API should not hand out)."""

_SENSITIVE = "property_authorization.sensitive-property"
_MIN_NAME = 3
_CONTACT = frozenset({"data_exposure.email-address", "data_exposure.phone-number"})


@evidence_rule(applies_to=sorted(_BY_RECORD | _BY_CREDENTIAL))
def callers_own_data(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """Every record holding the reported field is the caller's own: ``info``."""
    caller = facts.callers[0] if facts.callers else None
    answer = facts.authenticated.get(finding.operation)
    if caller is None or answer is None or not answer.ok or finding.severity is Severity.info:
        return None
    grave = finding.type_id == _SENSITIVE and finding.severity.rank > Severity.medium.rank
    anonymous = facts.anonymous.get(finding.operation)
    if anonymous is not None and anonymous.ok and anonymous.same_content(answer):
        return None  # anyone gets it: not data returned to its owner
    field = finding_field(finding)
    body = answer.json
    if field is None or body is None:
        return None
    holders = [record for record in objects(body) if field in record]
    if not holders:
        return None
    if finding.type_id in _BY_CREDENTIAL:
        reasons = [_credential(record, field, caller) for record in holders]
    else:
        contact = finding.type_id in _CONTACT
        reasons = [
            _whose(record, field, body, finding.operation, caller, contact) for record in holders
        ]
    if not all(reasons):
        return None
    why = sorted({r for r in reasons if r})
    whose = f"every record holding `{field}` is {caller.name}'s ({'; '.join(why)})"
    if grave:
        return Verdict.demote(
            f"{whose}: a password hash or secret even its owner should not read back, but only "
            "whoever already holds the owner's credential gets it (offline cracking of the "
            "password behind it, its reuse elsewhere): medium",
            severity=Severity.medium,
        )
    return Verdict.demote(
        f"the caller's own data: {whose}, and an anonymous request does not get it",
        severity=Severity.info,
    )


def finding_field(finding: Finding) -> str | None:
    """The response field a finding reports: its parameter, else its evidence's match."""
    if finding.parameter:
        return finding.parameter.rsplit(".", 1)[-1].removesuffix("[]")
    match = next((e.match for e in finding.evidence if e.match), None)
    return match.strip('"') if match else None


def _credential(record: Mapping[str, Any], field: str, caller: Caller) -> str | None:
    if text(record.get(field)) in caller.secrets:
        return f"`{field}` is the credential it was given"
    return None


def _whose(
    record: Mapping[str, Any],
    field: str,
    body: Any,
    operation: str,
    caller: Caller,
    contact: bool,
) -> str | None:
    """Why ``record`` is the caller's own, or ``None`` when nothing says it is. ``contact``: the
    field holds an address, which is the caller's own when it equals the caller's."""
    if operation == caller.me and record is record_of(body):
        return f"the answer of its own `{operation}`"
    if contact and field != "id" and text(record.get(field)) in caller.values:
        return f"`{field}` is its own"
    for name in sorted(IDENTITY_FIELDS & record.keys()):
        if text(record.get(name)) in caller.values:
            return f"the record is its own user record (`{name}`)"
    for name in sorted(_OWNED_BY & record.keys()) if contact else ():
        value = text(record.get(name))
        if value is not None and (name, value) in caller.owned:
            return (
                f"the record is its own (`{name}` = {value}, the value a listing shows on its "
                "own records only)"
            )
    own_id = text(record.get("id"))
    if own_id in caller.values and _names_someone(own_id):
        return "the record's own `id` is its user name"
    return None


def _names_someone(value: str | None) -> bool:
    """A value that names one user by itself: not a bare number (project 2 is not the project
    of user 2), nor shorter than a name (``a``, ``me``)."""
    return value is not None and len(value) >= _MIN_NAME and not value.isdigit()


def listed_owners(mine: Any, theirs: Any) -> frozenset[tuple[str, str]]:
    """The owner fields and values that name the caller, as one listing answered to the caller
    (``mine``) and to another identity (``theirs``) proves them: each is shown records (none in
    common), and every owner field the records carry holds one value in each answer, not the
    same (``GET /orders``: "your orders", ``user_id`` 5 in every record of the caller's, 6 in
    the other's). A listing both see alike, a feed of several owners, or records without an
    owner field prove nothing (empty)."""
    ours, others = _owned_records(mine), _owned_records(theirs)
    if not ours or not others or _common(ours, others):
        return frozenset()
    keys = {key for record in (*ours, *others) for key in _OWNED_BY & record.keys()}
    proven: set[tuple[str, str]] = set()
    for key in sorted(keys):
        values = [{text(record.get(key)) for record in side} for side in (ours, others)]
        if any(len(v) != 1 or None in v for v in values) or values[0] == values[1]:
            return frozenset()
        proven.add((key, str(next(iter(values[0])))))
    return frozenset(proven)


def _owned_records(body: Any) -> list[Mapping[str, Any]]:
    listed = body
    if isinstance(body, Mapping) and len(body) == 1:
        listed = next(iter(body.values()))  # an envelope: {"orders": […]}
    if not isinstance(listed, list):
        return []
    return [item for item in listed if isinstance(item, Mapping) and _OWNED_BY & item.keys()]


def _common(ours: list[Mapping[str, Any]], others: list[Mapping[str, Any]]) -> bool:
    """True when one record is in both listings: the same record, or the same own ``id``."""
    ids = {text(r.get("id")) for r in ours} - {None}
    return any(r in ours for r in others) or bool(ids & {text(r.get("id")) for r in others})
