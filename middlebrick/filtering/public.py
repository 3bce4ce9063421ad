"""Rule: a resource public by design is a spec/runtime mismatch, not an auth flaw (class 1).

Frameworks write a security requirement on operations that are public on purpose (optional
authentication, custom permission classes, a global ``security``). When the anonymous answer
equals the authenticated one, names nothing of the caller and holds nothing private by nature
(no secret, credential or personal datum found in it), the declared-but-not-enforced finding is
reported as what it is, a spec/runtime mismatch (``inventory.declared-auth-not-required``) at
``info``: the spec says credentials are needed, the API (rightly or not) serves it to anyone,
and nothing private is served. ``authentication.sensitive-data-without-auth`` is not re-typed:
the check raises it only on secrets or personal data, which are private by nature.
"""

from __future__ import annotations

from typing import Any

from middlebrick.filtering.facts import ScanFacts, scalars, text
from middlebrick.filtering.own_data import OWNER_FIELDS
from middlebrick.filtering.rules import Verdict, evidence_rule
from middlebrick.findings import Finding, Severity

__all__ = ["PRIVATE_BY_NATURE"]

_DECLARED = "authentication.declared-not-enforced"
_SCHEME = "authentication.scheme-not-enforced"
_MISMATCH = "inventory.declared-auth-not-required"

PRIVATE_BY_NATURE = frozenset(
    {
        "data_exposure.ssn",
        "data_exposure.card-number",
        "data_exposure.secret-token",
        "data_exposure.private-key",
        "data_exposure.jwt-in-body",
        "data_exposure.email-address",
        "data_exposure.phone-number",
        "property_authorization.sensitive-property",
        "authentication.sensitive-data-without-auth",
    }
)
"""Findings whose content is private whoever reads it: secrets, credentials, personal data
(those the ``own_data`` rule did not find to be the caller's own)."""

_MIN_NAME = 3  # a caller value shorter than this (or a bare number) names nobody by itself


@evidence_rule(applies_to=(_DECLARED,), retypes_to=(_MISMATCH,))
def public_by_design(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """The anonymous answer equals the authenticated one and holds nothing tied to the caller
    nor private by nature: a spec/runtime mismatch at ``info``; else kept, saying what makes it
    private."""
    authenticated = facts.authenticated.get(finding.operation)
    anonymous = facts.anonymous.get(finding.operation)
    if authenticated is None or anonymous is None or not anonymous.ok:
        return None
    if not anonymous.same_content(authenticated):
        return None
    private = sorted(
        {
            f.type_id
            for f in facts.findings
            if f.operation == finding.operation
            and f.type_id in PRIVATE_BY_NATURE
            and f.severity is not Severity.info
        }
    )
    if private:
        return Verdict.keep(f"what anyone gets is private by nature ({', '.join(private)})")
    values = facts.callers[0].values if facts.callers else frozenset()
    tied = _tied_field(authenticated.json, values)
    if tied is not None:
        return Verdict.keep(f"what anyone gets names the scan's identity (`{tied}`)")
    return Verdict.retype(
        "spec/runtime mismatch: the anonymous answer equals the authenticated one and holds "
        "nothing tied to the caller nor private by nature, as a public resource does",
        _MISMATCH,
        severity=Severity.info,
    )


@evidence_rule(applies_to=(_SCHEME,))
def public_scheme(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """A scheme 'not enforced' only on public resources: ``info`` with them."""
    declared = [f for f in facts.findings if f.type_id in (_DECLARED, _MISMATCH)]
    if not declared or any(f.severity is not Severity.info for f in declared):
        return None  # an operation that answered without it serves something private
    public = declared
    return Verdict.demote(
        f"every operation that answered without it ({len(public)}) serves a public resource",
        severity=Severity.info,
    )


def _tied_field(body: Any, values: frozenset[str]) -> str | None:
    """The field of ``body`` whose value names the caller, if one does."""
    if not values or body is None:
        return None
    for key, value in scalars(body):
        named = text(value)
        if named is None or named not in values:
            continue
        if key in OWNER_FIELDS or (len(named) >= _MIN_NAME and not named.isdigit()):
            return key or "(value)"
    return None
