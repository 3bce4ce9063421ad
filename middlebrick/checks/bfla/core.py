"""BFLA / privilege: administrative paths ordinary callers reach, and role fields in answers.

``admin_paths`` requests the privileged-function paths of ``knowledge/admin_paths.yaml``
relative to the API's base and judges each answer against a control; ``role_fields`` reads the
baseline. The active ``privileged_methods`` check lives in ``bfla.methods``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from middlebrick.checks._compare import is_empty_json, looks_like_denial, same_shape
from middlebrick.checks._exposure import sources
from middlebrick.checks._privilege import Standing, as_whom, ordinary, standing
from middlebrick.checks._properties import (
    flat,
    has_value,
    is_flag,
    is_role,
    names_principal,
    plain,
    principal_values,
    properties,
    shown,
)
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Response
from middlebrick.knowledge import admin_paths as admin_path_list
from middlebrick.spec.model import Operation

_ADMIN = "bfla.admin-path-exposed"
_DEBUG = "bfla.debug-path-exposed"  # a route of kind debug in admin_paths.yaml
_ROLE = "bfla.role-field-leaked"

_MAX_PATHS = 40  # the wordlist's own cap (knowledge.models.AdminPaths)
_MAX_CONFIRM = 4  # answers with content re-sent anonymously and as an ordinary user
_SHARED_BODY = 3  # this many paths with one body: a catch-all, not functions
_MIN_TEXT = 64  # bytes a non-JSON answer needs to count as content
_MIN_JSON = 32  # bytes a JSON answer needs: `{"status": "ok"}` is not a function
_RIGHTS = {"permission", "permissions", "perms", "privileges", "authorities", "acl", "accesslevel"}
_ROLE_NAME = re.compile(r"^[A-Za-z][\w .:/-]{0,63}$")
_TITLE = re.compile(r"<(?:title|h1)[^>]*>([^<]{1,200})<", re.I)


@dataclass(frozen=True)
class _Answer:
    """One privileged path and what the scan's default identity got there."""

    path: str  # relative to the base, leading slash: "/admin/users"
    key: str  # the operation key it is reported on
    operation: Operation | None
    exchange: Exchange


@check(category="bfla", emits={_ADMIN, _DEBUG}, max_requests=_MAX_PATHS + 1 + 2 * _MAX_CONFIRM)
async def admin_paths(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Administrative, internal, debug and management paths that ordinary callers reach.

    Requests each path of ``knowledge/admin_paths.yaml`` (``/admin``, ``/admin/users``,
    ``/internal``, ``/debug/vars``, ``/actuator/env`` …) relative to the API's base, once, as
    the scan's default identity; a path the surface already lists (documented, or found live by
    discovery), and any listed GET operation under such a folder, is judged from its baseline
    instead. One more request goes to a path that cannot exist, the control.

    Only answers with real content count: 2xx at the URL asked for (not redirected to a login
    page), not a denial or login page, not empty JSON, not the API root's body, not a body that
    three paths share, not what the control got (same body or same JSON shape: a catch-all),
    and for HTML only a page whose title or first heading names an administrative page (single-
    page-app shells and docs are not functions).

    Then who may see it (at most four answers, two requests each): the same request without
    credentials, and, when the scan's identity is not known to be an ordinary user, as the first
    identity whose token or own record says it is one (``role=user``, ``is_admin=false``).
    Reported when the anonymous request gets the same kind of content (confirmed), or when an
    ordinary user does (firm). When no identity's rights are known (one identity, or none
    whose token or record says it is an ordinary user), privilege cannot be told from
    behaviour: ``info``. An identity the scan knows to be an administrator reaching an admin
    path is not a finding.

    A debugging or diagnostics route (``kind: debug`` in the wordlist: ``/debug``,
    ``/debug/pprof``, a profiler, ``phpinfo.php`` …, or a listed operation under its folder) is
    reported as ``bfla.debug-path-exposed``, with the same severities.
    """
    wordlist = ["/" + path for path in admin_path_list().paths[:_MAX_PATHS]]
    listed = {op.path: op for op in ctx.surface.operations if op.method == "GET"}
    root = ctx.baseline.root
    answers: list[_Answer] = []
    for op in _privileged_listed(ctx, wordlist):
        exchange = ctx.baseline.get(op.key)
        if exchange is not None:
            answers.append(_Answer(op.path, op.key, op, exchange))
    unlisted = [path for path in wordlist if path not in listed]
    sent = await asyncio.gather(*(ctx.send(ctx.get(path)) for path in unlisted))
    answers += [
        _Answer(path, f"GET {path}", None, exchange)
        for path, exchange in zip(unlisted, sent, strict=True)
    ]
    shared = Counter(a.exchange.response.body for a in answers if a.exchange.response is not None)
    hopeful = [
        a
        for a in answers
        if _has_content(a, root)
        and a.exchange.response is not None
        and shared[a.exchange.response.body] < _SHARED_BODY
    ]
    if not hopeful:
        return
    control = await ctx.send(ctx.get(_control_path(ctx.base_url)))
    hopeful = [a for a in hopeful if not _like_control(a.exchange, control)]
    actor = _actor(ctx)
    for answer in hopeful[:_MAX_CONFIRM]:
        finding = await _judge_access(ctx, answer, control, actor)
        if finding is not None:
            yield finding


@check(category="bfla", emits={_ROLE})
async def role_fields(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Authorization attributes in answers: role, is_admin, permissions, scopes, groups.

    Reads every 2xx JSON answer of the baseline (DynamoDB's wire format unwrapped); sends no
    requests. Counts ``role`` / ``roles`` / ``*_role``, ``permissions``, ``privileges``,
    ``authorities``, ``access_level``, ``acl``, and the flags ``is_admin``, ``is_superuser``,
    ``is_staff`` (``admin`` only when it is a boolean), whatever their value, null aside;
    ``groups``, ``scopes`` and ``entitlements`` only in a record that names a user (``user_id``,
    ``email`` …). A chat message's ``role`` (``assistant``, ``user`` beside ``content``) is not
    one, and served API descriptions are skipped.

    A role field is a right *of a principal*: ``permission``/``permissions``, ``privileges``,
    ``authorities``, ``acl`` and ``access_level`` count only in a record that names a user (a
    catalogue of the permission each UI action requires, or the caller's rights on a resource
    type, are not), and a boolean counts only for the flags (a health answer's
    ``"permission": true`` says its permission backend is up). A value must look like a role:
    a short name (``admin``, ``ROLE_USER``) or a list of names, never free text such as a
    filter's description; a list of objects counts only in a record that names a user (a
    filter catalogue's ``roles`` lists filter objects).

    One finding per operation, listing the fields and a few values. ``info`` when every record
    holding them is the caller's own (its own role is no leak); low when the answer shows one
    record's attributes, medium when it shows those of several records (a directory of who is
    an administrator).
    """
    primary = ctx.identities.primary
    mine = set(primary.self_ids) if primary is not None else set()
    async for source in ctx.each(sources(ctx)):
        resp = source.exchange.response
        if resp is None or not resp.ok or not resp.is_json or _is_api_description(resp):
            continue
        found: dict[str, list[str]] = {}
        holders: dict[int, Mapping[str, Any]] = {}
        for prop in properties(plain(resp.json)):
            if not has_value(prop.value) or isinstance(prop.value, dict):
                continue
            if _principal_role(prop.key, prop.value, prop.record):
                found.setdefault(prop.path, []).append(shown(prop.value))
                holders[id(prop.record)] = prop.record
        if not found:
            continue
        own = bool(mine) and all(principal_values(r) & mine for r in holders.values())
        fields = ", ".join(
            f"`{path}` ({', '.join(dict.fromkeys(values[:3]))})"
            for path, values in list(found.items())[:6]
        )
        several = len(holders) > 1
        severity = Severity.medium if several else None
        whose = ""
        if own:
            severity = Severity.info
            whose = ": the caller's own record, whose rights it may know"
        yield ctx.finding(
            _ROLE,
            source.operation or source.key,
            detail=f"the {resp.status} answer to `{source.key}` ({as_whom(ctx)}) carries "
            f"{fields} in {len(holders)} record(s){whose}",
            evidence=[("baseline", source.exchange)],
            severity=severity,
            match=_first_key(found),
        )


def _principal_role(key: str, value: Any, record: Mapping[str, Any]) -> bool:
    """A role, flag or permission of a principal, not a word of content (see ``role_fields``)."""
    if not is_role(key, value, record):
        return False
    if is_flag(key, value):
        return True
    if isinstance(value, bool) or not _role_shaped(value):
        return False
    objects = isinstance(value, list) and any(isinstance(v, dict) for v in value)
    return (flat(key) not in _RIGHTS and not objects) or names_principal(record)


def _role_shaped(value: Any) -> bool:
    """A role's value: a short name (``admin``, ``ROLE_USER``, ``org:editor``), or a list of
    them or of role objects; a filter's description or free text is not one."""
    if isinstance(value, str):
        return bool(_ROLE_NAME.match(value))
    if isinstance(value, list):
        return all(
            isinstance(v, dict) or (isinstance(v, str) and _ROLE_NAME.match(v)) for v in value
        )
    return isinstance(value, int)


def _privileged_listed(ctx: CheckContext, wordlist: list[str]) -> list[Operation]:
    """Listed GET operations on a wordlist path or under a privileged folder (``/admin/…``)."""
    folders = {p.strip("/") for p in wordlist if p.count("/") == 1}
    return [
        op
        for op in ctx.surface.operations
        if op.method == "GET"
        and (op.path in wordlist or folders & set(op.path.lower().strip("/").split("/")))
    ]


def is_debug_path(path: str) -> bool:
    """True when ``path`` is a debug route of the wordlist (``/debug/pprof``), or a listed
    operation whose first privileged folder is one (``/api/debug/env``; ``/admin/console`` is
    under ``admin``)."""
    known = admin_path_list()
    debug = set(known.debug_paths)
    relative = path.strip("/").lower()
    if relative in known.paths:
        return relative in debug
    folders = {p for p in known.paths if "/" not in p}
    folder = next((s for s in relative.split("/") if s in folders), None)
    return folder in debug


def _control_path(base_url: str) -> str:
    """A path no API serves, the same for every scan of one base URL."""
    return "mb-absent-" + hashlib.sha256(f"bfla {base_url}".encode()).hexdigest()[:12]


def _has_content(answer: _Answer, root: Exchange | None) -> bool:
    """A 2xx at the path asked for, with a body of substance that is not the root's."""
    resp = answer.exchange.response
    if resp is None or not resp.ok or not resp.body.strip() or looks_like_denial(resp):
        return False
    asked = urlsplit(answer.exchange.request.url).path.rstrip("/")
    if urlsplit(resp.url or answer.exchange.request.url).path.rstrip("/") != asked:
        return False
    if root is not None and root.response is not None and root.response.body == resp.body:
        return False
    if resp.is_json:
        return len(resp.body) >= _MIN_JSON and not is_empty_json(resp.json)
    if "html" in resp.content_type or resp.body.lstrip()[:1] == b"<":
        title = _TITLE.search(resp.text[:65536])
        words = admin_path_list().page_words
        return title is not None and any(w in title.group(1).lower() for w in words)
    return len(resp.body) >= _MIN_TEXT


def _like_control(exchange: Exchange, control: Exchange) -> bool:
    """True when the control got the same answer: a catch-all route, not a function."""
    ours, theirs = exchange.response, control.response
    if ours is None or theirs is None or not theirs.ok:
        return False
    if ours.body == theirs.body:
        return True
    if ours.is_json and theirs.is_json:
        return same_shape(ours.json, theirs.json, threshold=0.8)
    return ours.content_type == theirs.content_type


def _actor(ctx: CheckContext) -> Standing | None:
    """Who the default requests acted as (None: no credentials)."""
    primary = ctx.identities.primary
    return standing(ctx, primary) if primary is not None else None


async def _judge_access(
    ctx: CheckContext, answer: _Answer, control: Exchange, actor: Standing | None
) -> Finding | None:
    """Send the path anonymously (and as an ordinary user if needed); the finding, if any."""
    seen = answer.exchange
    described = _describe(seen)
    control_said = _status_text(control)
    if actor is None:
        return _finding(
            ctx,
            answer,
            f"`GET {answer.path}` answered {described} to a request without credentials "
            f"(the scan had none); the control `/{_control_path(ctx.base_url)}` answered "
            f"{control_said}",
            [("anonymous", seen), ("control", control)],
            Confidence.firm,
        )
    anonymous = await ctx.send(seen.request.without_credentials())
    if _same_content(seen, anonymous):
        return _finding(
            ctx,
            answer,
            f"`GET {answer.path}` answered {described} to {actor.identity.name} and "
            f"{_describe(anonymous)} to the same request without credentials; the control "
            f"answered {control_said}",
            [(f"as {actor.identity.name}", seen), ("anonymous", anonymous), ("control", control)],
            Confidence.confirmed,
            Severity.critical,
        )
    if actor.level == "user":
        return _finding(
            ctx,
            answer,
            f"`GET {answer.path}` answered {described} to {actor.who}; without credentials "
            f"it answered {_status_text(anonymous)} and the control {control_said}",
            [(f"as {actor.identity.name}", seen), ("anonymous", anonymous), ("control", control)],
            Confidence.firm,
        )
    user = ordinary(ctx)
    if user is not None:
        probe = await ctx.send(seen.request.as_identity(user.identity.name))
        if not _same_content(seen, probe):
            return None
        return _finding(
            ctx,
            answer,
            f"`GET {answer.path}` answered {_describe(probe)} to {user.who}, like it did to "
            f"{actor.identity.name}; the control answered {control_said}",
            [(f"as {user.identity.name}", probe), (f"as {actor.identity.name}", seen)],
            Confidence.firm,
        )
    if actor.level == "admin":
        return None
    return _finding(
        ctx,
        answer,
        f"`GET {answer.path}` answered {described} to {actor.identity.name}, whose rights the "
        f"scan cannot tell (no role in its token or record, and no identity known to be an "
        f"ordinary user to compare with); without credentials it answered "
        f"{_status_text(anonymous)}. Privilege is behaviour: this could not be assessed, so "
        "it is no finding; scan with an ordinary user's identity to tell",
        [(f"as {actor.identity.name}", seen), ("anonymous", anonymous), ("control", control)],
        Confidence.tentative,
        Severity.info,
    )


def _finding(
    ctx: CheckContext,
    answer: _Answer,
    detail: str,
    evidence: list[tuple[str, Exchange]],
    confidence: Confidence,
    severity: Severity | None = None,
) -> Finding:
    return ctx.finding(
        _DEBUG if is_debug_path(answer.path) else _ADMIN,
        answer.operation or answer.key,
        detail=detail,
        evidence=evidence,
        confidence=confidence,
        severity=severity,
    )


def _same_content(seen: Exchange, other: Exchange) -> bool:
    """True when ``other`` is a 2xx with the content ``seen`` had (same body or JSON shape)."""
    ours, theirs = seen.response, other.response
    if ours is None or theirs is None or not theirs.ok or looks_like_denial(theirs):
        return False
    if ours.body == theirs.body:
        return True
    if ours.is_json and theirs.is_json:
        return same_shape(ours.json, theirs.json) and not is_empty_json(theirs.json)
    return False


def _describe(exchange: Exchange) -> str:
    resp = exchange.response
    if resp is None:
        return f"nothing ({exchange.error})"
    if resp.is_json and isinstance(resp.json, dict):
        keys = ", ".join(list(resp.json)[:5])
        return f"{resp.status} with a JSON object ({keys})"
    if resp.is_json:
        return f"{resp.status} with a JSON list of {len(resp.json)}"
    return f"{resp.status} with {len(resp.body)} bytes of {resp.content_type or 'content'}"


def _status_text(exchange: Exchange) -> str:
    return str(exchange.response.status) if exchange.response else f"nothing ({exchange.error})"


def _is_api_description(resp: Response) -> bool:
    doc = resp.json
    return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc) and "paths" in doc


def _first_key(found: dict[str, list[str]]) -> str:
    """The first role field's name as it appears in the body, for the evidence highlight."""
    return '"' + next(iter(found)).rsplit(".", 1)[-1] + '"'
