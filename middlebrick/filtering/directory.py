"""Rules: a member directory is not a leak, and a role word in content is not a privilege.

Issue 21, classes 2, 3 and 7. A listing of fellow members (names, e-mails, phones, roles) shown
to an authenticated member of the same organisation or team is a directory by design: the
finding is kept at ``info`` when the answer holds at least two user records, the caller's own
among them, the anonymous request is refused (or answered differently), and the records are
proven to belong to one group: every one carries the caller's own organisation / team / tenant
value, or the operation's path is scoped to one group (``/orgs/{org}/members``). What is
private by nature (a password hash, a secret, an SSN, a card number found on the same
operation) keeps every finding there as the check made it.

A role field whose records name no user (no identity field) and whose values name no
privilege (``Director`` in a film's credits) is a word of content: ``info``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from middlebrick.filtering.facts import ScanFacts, objects, text
from middlebrick.filtering.own_data import IDENTITY_FIELDS, OWNER_FIELDS
from middlebrick.filtering.rules import Verdict, evidence_rule
from middlebrick.findings import Finding, Severity

__all__ = ["GROUP_FIELDS", "GROUP_SEGMENTS", "PRIVILEGE_WORDS"]

_ROLE = "bfla.role-field-leaked"
_DIRECTORY_TYPES = (
    "data_exposure.email-address",
    "data_exposure.phone-number",
    _ROLE,
    "bola.foreign-records-in-list",
)

GROUP_FIELDS = frozenset(
    {"organization", "organisation", "org", "team", "tenant", "workspace", "company"}
    | {"organizationid", "organisationid", "orgid", "teamid", "tenantid", "workspaceid"}
    | {"companyid", "activeorganization"}
)
"""Field names (lower case, separators removed) that say which group a user record belongs to:
the tenant and organisation columns of multi-tenant conventions (Django's django-tenants and
django-organizations, GitHub and GitLab organisations and teams, Slack workspaces, Label
Studio's ``active_organization``)."""

GROUP_SEGMENTS = frozenset(
    {"orgs", "organizations", "organisations", "teams", "groups", "tenants", "workspaces"}
)
"""Path segments that, followed by a parameter, scope a collection to one group (GitHub's
``/orgs/{org}/members``, ``/teams/{team_id}/members``; GitLab's ``/groups/{id}/members``)."""

PRIVILEGE_WORDS = re.compile(
    r"admin|root|super|staff|moderator|owner|manage|^role_|:write|write:", re.IGNORECASE
)
"""Values that name a privilege: Django's superuser and staff, Spring Security's ``ROLE_``
prefix, Unix ``root``, Kubernetes' ``cluster-admin``, OAuth ``write`` scopes, forum moderators,
and the owner / manager roles of team products (GitHub organisation owner, Slack workspace
owner)."""

_PRIVATE = frozenset(
    {
        "data_exposure.ssn",
        "data_exposure.card-number",
        "data_exposure.secret-token",
        "data_exposure.private-key",
        "data_exposure.jwt-in-body",
        "property_authorization.sensitive-property",
    }
)
"""What no directory should show: national ids, cards, secrets, tokens, password hashes."""

_USER_FIELDS = frozenset(OWNER_FIELDS) | {"member_id", "memberId", "account_id", "accountId"}


@evidence_rule(applies_to=_DIRECTORY_TYPES)
def member_directory(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """Fellow members listed to a member of the same group: ``info``, saying what proved it."""
    caller = facts.callers[0] if facts.callers else None
    answer = facts.authenticated.get(finding.operation)
    if caller is None or answer is None or not answer.ok or finding.severity is Severity.info:
        return None
    anonymous = facts.anonymous.get(finding.operation)
    if anonymous is None or (anonymous.ok and anonymous.same_content(answer)):
        return None  # not known to be members-only: the public and auth rules decide
    people = [r for r in objects(answer.json) if _identity(r)]
    own = [r for r in people if _identity(r) & caller.values]
    if len(people) < 2 or not own:
        return None
    private = _private(finding, facts)
    if private:
        return Verdict.keep(f"a directory, but it shows what is private by nature ({private})")
    scope = _same_group(people, own[0]) or _group_path(finding.operation)
    if scope is None:
        return None
    return Verdict.demote(
        f"a directory of fellow members: {len(people)} user records, {caller.name}'s own among "
        f"them, {scope}, and an anonymous request does not get it",
        severity=Severity.info,
    )


@evidence_rule(applies_to=(_ROLE,))
def role_word_in_content(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """A role field in records that name no user, valued with no privilege word: ``info``."""
    answer = facts.authenticated.get(finding.operation)
    field = _field(finding)
    if answer is None or not answer.ok or field is None or finding.severity is Severity.info:
        return None
    holders = [r for r in objects(answer.json) if field in r]
    if not holders or any(_USER_FIELDS & r.keys() for r in holders):
        return None
    values = [text(v) for r in holders for v in _flat_values(r[field])]
    if not values or any(v is None or PRIVILEGE_WORDS.search(v) for v in values):
        return None
    shown = ", ".join(dict.fromkeys(v for v in values if v))
    return Verdict.demote(
        f"a word of content: the {len(holders)} record(s) holding `{field}` name no user, and "
        f"its values ({shown[:80]}) name no privilege",
        severity=Severity.info,
    )


def _identity(record: Mapping[str, Any]) -> frozenset[str]:
    """The values of a record's identity fields: it is a user record when it has one."""
    return frozenset(
        value for key in IDENTITY_FIELDS & record.keys() if (value := text(record[key]))
    )


def _private(finding: Finding, facts: ScanFacts) -> str:
    return ", ".join(
        sorted(
            {
                f.type_id
                for f in facts.findings
                if f.operation == finding.operation
                and f.type_id in _PRIVATE
                and f.severity is not Severity.info
            }
        )
    )


def _flat(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _group_of(record: Mapping[str, Any]) -> tuple[str, str] | None:
    for key, value in record.items():
        if _flat(str(key)) in GROUP_FIELDS:
            named = text(value)
            if named is None and isinstance(value, Mapping):
                named = text(value.get("id"))
            if named is not None:
                return str(key), named
    return None


def _same_group(people: list[Mapping[str, Any]], own: Mapping[str, Any]) -> str | None:
    """Every user record names the caller's own group, if they all do."""
    mine = _group_of(own)
    if mine is None:
        return None
    if all(_group_of(r) == mine for r in people):
        return f"every one in the caller's own group (`{mine[0]}` = {mine[1]})"
    return None


def _group_path(operation: str) -> str | None:
    """The operation's collection is scoped to one group by its path, if it is."""
    segments = operation.partition(" ")[2].strip("/").split("/")
    for segment, following in pairwise(segments):
        if segment.lower() in GROUP_SEGMENTS and following.startswith("{"):
            return f"listed under one group (`/{segment}/{following}`)"
    return None


def _field(finding: Finding) -> str | None:
    match = next((e.match for e in finding.evidence if e.match), finding.parameter)
    return match.strip('"').rsplit(".", 1)[-1].removesuffix("[]") if match else None


def _flat_values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]
