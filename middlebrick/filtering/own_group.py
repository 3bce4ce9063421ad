"""Rule: a record of the caller's own organization, read by that caller (issue 21, class 3).

A member's own ``me`` answer names the organization, team or workspace it belongs to
(Label Studio's ``active_organization``, ``team_id``, ``workspace``); the record of that group,
read by the member, holds what the API shows its members (an invite token, the group's
settings). Which of those fields members may see is the API's contract, which a black-box scan
cannot read: a property that is sensitive by its name and the shape of its value alone is kept
at ``info`` there, with the reason. A value with a known secret format (``data_exposure``'s
signatures: a key with a known prefix, a private key) is not this rule's: it stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from middlebrick.filtering.facts import ScanFacts, objects, record_of, text
from middlebrick.filtering.own_data import finding_field
from middlebrick.filtering.rules import Verdict, evidence_rule
from middlebrick.findings import Finding, Severity
from middlebrick.http.wording import words

GROUP_WORDS = frozenset(
    {"organization", "organisation", "org", "team", "workspace", "tenant", "group", "company"}
)
"""The words of a group of users in the multi-tenant conventions of REST APIs: GitHub's and
Label Studio's organizations, Slack's and Notion's workspaces and teams, Django multi-tenant
packages' tenants, Keycloak's and GitLab's groups."""

_BY_NAME = (
    "property_authorization.sensitive-property",
    "property_authorization.undeclared-property",
)


@evidence_rule(applies_to=_BY_NAME)
def callers_own_group(finding: Finding, facts: ScanFacts) -> Verdict | None:
    """The reported field is in the caller's own group's record, read by the caller: ``info``."""
    caller = facts.callers[0] if facts.callers else None
    if caller is None or caller.me is None or finding.severity is Severity.info:
        return None
    me = facts.authenticated.get(caller.me)
    answer = facts.authenticated.get(finding.operation)
    field = finding_field(finding)
    if me is None or answer is None or not answer.ok or field is None:
        return None
    collection = _collection(finding.operation)
    if collection is None:
        return None
    holders = [record for record in objects(answer.json) if field in record]
    own = record_of(me.json)
    reference = _reference(own, collection) if isinstance(own, Mapping) else None
    if reference is None or not holders:
        return None
    name, value = reference
    if not all(text(record.get("id")) == value for record in holders):
        return None
    return Verdict.demote(
        f"the record is the caller's own {collection} (`{name}` = {value} in its own "
        f"`{caller.me}` answer): which fields its members may read is the API's contract, "
        f"and `{field}` is sensitive by its name and shape alone",
        severity=Severity.info,
    )


def _collection(operation: str) -> str | None:
    """The group word of an operation on one group (``GET /api/organizations/{id}``)."""
    path = operation.partition(" ")[2].rstrip("/")
    if not path.endswith("}"):
        return None
    segments = [s for s in path.split("/") if s and "{" not in s]
    if not segments:
        return None
    found = set(words(segments[-1])) & _PLURALS.keys()
    return _PLURALS[next(iter(found))] if found else None


_PLURALS = {form: word for word in GROUP_WORDS for form in (word, word + "s")}


def _reference(record: Mapping[str, Any], collection: str) -> tuple[str, str] | None:
    """The field of the caller's own record that names one group of ``collection``'s kind."""
    for key, raw in record.items():
        value = text(raw)
        if not isinstance(key, str) or value is None:
            continue
        named = {_PLURALS.get(w) for w in words(key)}
        if collection in named:
            return key, value
    return None
