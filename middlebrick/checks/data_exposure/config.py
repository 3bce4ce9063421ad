"""Data exposure in served files: secrets in configuration files and front-end scripts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from middlebrick.checks._exposure import Group, Source, mask
from middlebrick.checks._net import origin
from middlebrick.checks._signatures import Hit, ScanEnv, scan_exchange, signatures_for
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.errors import ScopeViolation
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request

_CONFIG = "data_exposure.config-file-secret"
_SECRETS = ("data_exposure.secret-token", "data_exposure.private-key", _CONFIG)

CONFIG_FILES = (
    "config.json",
    "env.js",
    "app-config.js",
    "settings.json",
    "config.js",
    "env.json",
    ".env",
)
"""Where front-end configuration (and a stray ``.env``) is served, tried at the root and base."""

MAX_CONFIG_REQUESTS = 12
"""The check's whole cost: controls, configuration files and linked scripts together."""

MAX_SCRIPTS = 4
"""Scripts linked from the root's HTML that are fetched."""

CONTROL_FILE = "middlebrick-absent-4d1c7a.json"
"""A file no server has: a directory's answer to it is its catch-all answer."""

_BY_NAME = frozenset({"generic-secret-field", "secret-assignment"})  # decided by the key alone
_SECRET_WORDS = re.compile(r"secret|private|passw|signing|credential", re.I)
_BROWSER_KEY = re.compile(r"AIza[0-9A-Za-z_-]{35}")  # Google keys: public, referrer-restricted
_SCRIPT_SRC = re.compile(r"<script\b[^>]{0,300}?\bsrc\s*=\s*[\"']([^\"'>\s]{1,500})[\"']", re.I)


@dataclass(frozen=True)
class _Fetch:
    """One file to fetch, and the directory whose control answer it is compared with."""

    url: str
    directory: str | None  # None for a linked script: the page named it, no catch-all doubt


@check(category="data_exposure", emits={_CONFIG}, max_requests=MAX_CONFIG_REQUESTS)
async def config_files(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Secrets in served configuration files and front-end scripts.

    Sends at most 12 GETs, in this order until the budget is spent: a control request for a
    file no server has (``/middlebrick-absent-4d1c7a.json``) and ``/config.json``,
    ``/env.js``, ``/app-config.js``, ``/settings.json``, ``/config.js``, ``/env.json`` and
    ``/.env`` at the target's root; up to four same-origin scripts the root's HTML links
    (``<script src>``); then a control and the same files under the API's base path when it
    is not the root. Files the baseline already read are not fetched again.

    A 2xx answer that is not HTML (a single-page app's fallback) is scanned for the secret
    signatures of the ``secrets`` check — AWS, Stripe, GitHub, Slack and Google keys, PEM
    private keys, high-entropy values of fields named like secrets — and for secrets assigned
    in ``.env`` and JavaScript (``SECRET_KEY=…``, ``clientSecret: "…"``). A catch-all server is
    told apart by its control answer: a file whose body equals the control's is not read, and
    a value that the control's answer or the root's page also holds is not reported.

    One finding per file and field (or signature). A key-format match (``sk_live_``,
    ``AKIA…``, a private key …) or a field named for a secret is critical and firm; a random
    value under a field named only like an API key (``apiKey``) is high and tentative, as
    front-end API keys are often public identifiers; Google API keys are browser keys meant
    to be public when restricted by referrer: low and tentative.
    """
    env = ScanEnv.of(ctx.scan, ctx.base_url)
    sigs = signatures_for(_SECRETS)
    known = {exchange.request.url for exchange in ctx.baseline.responses()}
    root = ctx.baseline.root
    root_text = root.response.text if root is not None and root.response is not None else ""
    controls: dict[str, Exchange | None] = {}
    for fetch in _plan(ctx):
        if fetch.url in known:
            continue
        control = None
        if fetch.directory is not None:
            if fetch.directory not in controls:
                if not _affordable(ctx, 2):
                    return
                controls[fetch.directory] = await _get(ctx, fetch.directory + CONTROL_FILE)
            control = controls[fetch.directory]
        if not _affordable(ctx, 1):
            return
        probe = await _get(ctx, fetch.url)
        if probe is None or not _is_served_file(probe, control):
            continue
        background = root_text + (_text(control) if control is not None else "")
        for finding in _findings(ctx, probe, control, scan_exchange(probe, sigs, env), background):
            yield finding


def _plan(ctx: CheckContext) -> list[_Fetch]:
    """What to fetch, in order: root files, linked scripts, files under the base path."""
    scheme, _, _ = origin(ctx.scan.target)
    netloc = urlsplit(ctx.scan.target).netloc
    root_dir = f"{scheme}://{netloc}/"
    plan = [_Fetch(root_dir + name, root_dir) for name in CONFIG_FILES]
    plan += [_Fetch(url, None) for url in _linked_scripts(ctx)[:MAX_SCRIPTS]]
    base_dir = ctx.base_url.rstrip("/") + "/"
    if base_dir != root_dir:
        plan += [_Fetch(base_dir + name, base_dir) for name in CONFIG_FILES]
    return plan


def _linked_scripts(ctx: CheckContext) -> list[str]:
    """Same-origin ``<script src>`` URLs of the root's HTML page."""
    root = ctx.baseline.root
    resp = root.response if root is not None else None
    if resp is None or "html" not in resp.content_type:
        return []
    own = origin(resp.url)
    found = []
    for src in _SCRIPT_SRC.findall(resp.text[: 512 * 1024]):
        url = urljoin(resp.url, src)
        if origin(url) == own and url not in found:
            found.append(url)
    return found


def _affordable(ctx: CheckContext, requests: int) -> bool:
    cap = ctx.request_cap
    return cap is None or ctx.sent + requests <= cap


async def _get(ctx: CheckContext, url: str) -> Exchange | None:
    try:
        return await ctx.send(Request("GET", url), follow_redirects=False)
    except ScopeViolation:
        return None


def _is_served_file(probe: Exchange, control: Exchange | None) -> bool:
    """A 2xx non-HTML answer that is not the directory's catch-all answer."""
    resp = probe.response
    if resp is None or not resp.ok or not resp.body or "html" in resp.content_type:
        return False
    if resp.text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        return False
    return control is None or control.response is None or control.response.body != resp.body


def _text(exchange: Exchange | None) -> str:
    return exchange.response.text if exchange is not None and exchange.response else ""


def _findings(
    ctx: CheckContext,
    probe: Exchange,
    control: Exchange | None,
    hits: list[Hit],
    background: str,
) -> list[Finding]:
    path = urlsplit(probe.request.url).path or "/"
    source = Source(f"GET {path}", None, probe)
    kept = [hit for hit in hits if hit.value not in background]
    # A value both a key format and an assignment recognise is one secret, under its field.
    fields = {hit.value: hit.key for hit in kept if hit.key}
    groups: dict[str, Group] = {}
    for hit in kept:
        parameter = fields.get(hit.value) or hit.signature
        groups.setdefault(parameter, Group(source, hit)).hits.append(hit)
    found = []
    for parameter, group in groups.items():
        severity, confidence, why = _weight(group)
        resp = probe.response
        kind = resp.content_type if resp is not None and resp.content_type else "no type"
        masked = ", ".join(mask(group.first.finding, value) for value in group.values())
        place = f"`{parameter}` of " if parameter in fields.values() else ""
        said = ""
        if control is not None and control.response is not None:
            said = f"; the control request for {CONTROL_FILE} answered {control.response.status}"
        found.append(
            ctx.finding(
                _CONFIG,
                source.key,
                parameter=parameter,
                detail=f"{masked} ({', '.join(group.signature_ids)}) in {place}the "
                f"{source.status} ({kind}) answer to `{source.key}`{said}{why}",
                evidence=[("probe", probe), *([("control", control)] if control else [])],
                severity=severity,
                confidence=confidence,
                match=group.body_match,
            )
        )
    return found


def _weight(group: Group) -> tuple[Severity | None, Confidence, str]:
    """Severity, confidence and a note: how sure a served value is a secret."""
    if all(_BROWSER_KEY.fullmatch(value) for value in group.values()):
        note = "; a Google API key is a browser key, public when restricted by HTTP referrer"
        return Severity.low, Confidence.tentative, note
    by_name_only = set(group.signature_ids) <= _BY_NAME
    if by_name_only and not _SECRET_WORDS.search(group.first.key or ""):
        note = "; front-end API keys are often public identifiers: check what this one unlocks"
        return Severity.high, Confidence.tentative, note
    return None, Confidence.firm, ""
