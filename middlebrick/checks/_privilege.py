"""What rights an identity has, as far as the scan can tell: administrator, user, or unknown.

Two sources, in order: the claims of the identity's own bearer token (``role``, ``roles``,
``groups``, ``scope``, ``permissions``, ``is_admin`` …; decoded, never trusted for anything
else) and the identity's own record in the baseline (a record whose ``user_id`` / ``email`` …
names it and that carries ``role`` or ``is_admin``). An identity is an *admin* when a value
grants administration, a *user* when a decisive field (a role, a flag) denies it, and
*unknown* otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from middlebrick.checks._properties import (
    flat,
    is_flag,
    is_role,
    plain,
    principal_values,
    records,
    shown,
)
from middlebrick.checks.context import CheckContext
from middlebrick.identities import Identity
from middlebrick.tokens import bearer_token, decode_jwt

Level = Literal["admin", "user", "unknown"]

ADMIN_VALUE = re.compile(  # a role, group or scope value that grants administration
    r"(?i)(?<![a-z])(?:admin|administrator|root|superuser|super[_-]?admin|sysadmin|staff|"
    r"owner)s?(?![a-z])"
)
_CLAIMS = (
    "role", "roles", "user_role", "groups", "cognito:groups", "scope", "scp", "permissions",
    "authorities", "is_admin", "isAdmin", "admin", "is_superuser", "is_staff",
)  # fmt: skip
_ESCALATED = 2  # privileged fields written at once
_SINGLE_ROLE = {"role", "userrole", "accountrole", "memberrole", "orgrole", "tenantrole"}
_DECISIVE = {"role", "roles", "userrole", "realmaccessroles", "authorities", "usertype"}


@dataclass(frozen=True)
class Standing:
    """An identity's rights and the sentence that says how the scan knows."""

    identity: Identity
    level: Level
    reason: str

    @property
    def who(self) -> str:
        """The identity's name with its standing, for a detail sentence."""
        return f"{self.identity.name} ({self.reason})" if self.reason else self.identity.name


def standing(ctx: CheckContext, identity: Identity) -> Standing:
    """What ``identity`` may do, from its token's claims, else its own baseline record."""
    claims = rights_claims(ctx, identity)
    if claims:
        level = _judge(claims)
        if level != "unknown":
            said = ", ".join(f"{k}={shown(v)}" for k, v in claims.items())
            return Standing(identity, level, f"its token says {said}")
    is_primary = ctx.identities.primary is not None and identity is ctx.identities.primary
    if is_primary:
        for record in _own_records(ctx, identity):
            level = _judge(record)
            if level != "unknown":
                said = ", ".join(f"{k}={shown(v)}" for k, v in record.items())
                return Standing(identity, level, f"its own record says {said}")
    return Standing(identity, "unknown", "")


def as_whom(ctx: CheckContext) -> str:
    """Who the baseline was requested as, for a detail sentence: ``as alice``."""
    primary = ctx.identities.primary
    return f"as {primary.name}" if primary is not None else "without credentials"


def standings(ctx: CheckContext) -> list[Standing]:
    """The standing of every identity of the scan, the primary first."""
    found = [ctx.identities.primary, *ctx.identities.others]
    return [standing(ctx, identity) for identity in found if identity is not None]


def ordinary(ctx: CheckContext) -> Standing | None:
    """The first identity known to be an ordinary user, the primary preferred."""
    return next((s for s in standings(ctx) if s.level == "user"), None)


def rights_claims(ctx: CheckContext, identity: Identity) -> dict[str, Any]:
    """The rights-bearing claims of the identity's own bearer token (empty without one)."""
    headers: tuple[tuple[str, str], ...] = ()
    if ctx.identities.primary is not None and identity is ctx.identities.primary:
        headers = ctx.scan.headers
    if bearer_token(headers) is None:
        credential = ctx.scan.identities.get(identity.name)
        headers = credential.headers if credential is not None else ()
    token = bearer_token(headers)
    jwt = decode_jwt(token) if token else None
    if jwt is None:
        return {}
    found = {name: jwt.claims[name] for name in _CLAIMS if name in jwt.claims}
    realm = jwt.claims.get("realm_access")
    if isinstance(realm, Mapping) and "roles" in realm:
        found["realm_access.roles"] = realm["roles"]
    return found


def _judge(fields: Mapping[str, Any]) -> Level:
    """``admin`` when a field grants administration; ``user`` when a decisive one denies it.

    Roles and flags are decisive (``role=user``, ``is_admin=false``); scopes, groups and
    permissions without an administrative value say nothing about the rest of the account.
    """
    denied = False
    for key, value in fields.items():
        name = flat(key)
        if is_flag(key.rsplit(".", 1)[-1], value) or name in ("isadmin", "admin"):
            if value is True or str(value).lower() == "true":
                return "admin"
            denied = denied or value is False or str(value).lower() == "false"
            continue
        texts = list(_texts(value))
        if any(ADMIN_VALUE.search(text) for text in texts):
            return "admin"
        denied = denied or (bool(texts) and name in _DECISIVE)
    return "user" if denied else "unknown"


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return value.split()  # an OAuth scope is one space-separated string
    if isinstance(value, list):
        return [str(item) for item in value[:50] if isinstance(item, str | int)]
    return []


def _own_records(ctx: CheckContext, identity: Identity) -> list[dict[str, Any]]:
    """Role fields of baseline records that name ``identity`` through an identity field."""
    names = set(identity.self_ids)
    found: list[dict[str, Any]] = []
    for _, exchange in ctx.baseline.successful():
        resp = exchange.response
        if resp is None or not resp.is_json:
            continue
        for record in records(plain(resp.json)):
            if not names & principal_values(record):
                continue
            roles = {k: v for k, v in record.items() if is_role(k, v, record)}
            if roles:
                found.append(roles)
    return found


def escalation(record: Mapping[str, Any]) -> dict[str, Any]:
    """At most two privileged fields of ``record`` and the raised values to write to them: a
    false flag (``is_admin``) set to true, a role that is not an administrator's set to
    ``"admin"``. Owner and tenant fields are never among them."""
    wanted: dict[str, Any] = {}
    for key, value in record.items():
        if len(wanted) >= _ESCALATED:
            break
        if is_flag(key, value) and value is False:
            wanted[key] = True
        elif _raisable_role(key, value):
            wanted[key] = "admin"
    return wanted


def _raisable_role(key: str, value: Any) -> bool:
    """A single role field whose value is not already an administrator's."""
    is_role_name = flat(key) in _SINGLE_ROLE and isinstance(value, str) and bool(value)
    return is_role_name and not ADMIN_VALUE.search(value)
