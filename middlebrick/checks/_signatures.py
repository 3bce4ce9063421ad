"""Scan responses with the signature packs of ``knowledge/signatures``: compiled once, capped.

A signature names the finding it marks and the part of a response it reads (``body``, each
``header`` as ``Name: value``, or the ``url`` of each redirect hop). Its regexes may name two
groups: ``key``, the JSON field the hit sits in, and ``value``, the text a validator judges.
A signature may also have a validator in ``_validators`` (Luhn, context, entropy, the scan's own
host …) that turns a regex match into a hit or drops it; contract tests run every example of a
signature through this same pipeline.

Costs are bounded per scanned text: at most ``MAX_CANDIDATES`` regex matches are examined and
``MAX_HITS`` kept for each signature, and a body longer than ``SCAN_HEAD + SCAN_TAIL``
characters is read at its head and its tail only, so a 1 MB body of look-alikes stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Literal

from middlebrick.checks._net import origin
from middlebrick.config import ScanRequest
from middlebrick.http.exchange import Exchange
from middlebrick.knowledge import signatures

Part = Literal["body", "header", "url"]

MAX_HITS = 10
"""Hits kept per signature per scanned text."""

MAX_CANDIDATES = 400
"""Regex matches examined per signature per scanned text (validators may reject many)."""

SCAN_HEAD = 448 * 1024
"""Characters read from the start of a long body."""

SCAN_TAIL = 64 * 1024
"""Characters read from the end of a long body (debug pages often end with the trace)."""

_BINARY_TYPES = ("image/", "audio/", "video/", "font/")
_BINARY_EXACT = {
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/x-protobuf",
    "application/wasm",
}

# The JSON field whose value ends right before a hit: `"name": "…` or `"name": 12…`.
_KEY_BEFORE = re.compile(r'"([^"\\\n]{1,80})"\s*:\s*"?[^"\n]{0,120}\Z')
# The field that opens an object right before a position: `"name": {`.
_KEY_OPENING = re.compile(r'"([^"\\\n]{1,80})"\s*:\s*\{\s*\Z')
# DynamoDB AttributeValue type descriptors: `{"S": "…"}` is a value, not a field.
_ATTRIBUTE_TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL", "L", "M"})


@dataclass(frozen=True)
class ScanEnv:
    """What validators may know about the scan: its own hosts, its context, its own secrets."""

    target_host: str = "api.example.test"
    target_port: int | None = 443
    own_hosts: frozenset[str] = frozenset()
    context: str = "general"
    own_secrets: frozenset[str] = frozenset()

    @classmethod
    def of(cls, scan: ScanRequest, base_url: str | None = None) -> ScanEnv:
        """The environment of one scan request (and the surface's base URL, when it differs)."""
        _, host, port = origin(scan.target)
        hosts = {host, *(h.lower() for h in scan.extra_hosts)}
        if base_url:
            hosts.add(origin(base_url)[1])
        secrets = {value for _, value in scan.headers if value}
        for credential in scan.identities.values():
            secrets.update(credential.secrets)
        # A bearer header's token alone is what a body would echo.
        secrets.update(v.split(" ", 1)[1] for v in list(secrets) if " " in v)
        return cls(host, port, frozenset(hosts - {""}), scan.context.value, frozenset(secrets))


@dataclass(frozen=True)
class CompiledSignature:
    """A signature ready to run: its id, finding, part and compiled regexes."""

    id: str
    finding: str
    part: Part
    patterns: tuple[re.Pattern[str], ...]


@dataclass
class Candidate:
    """One regex match under judgement, with the text around it."""

    match: re.Match[str]
    text: str
    part: Part
    status: int | None = None
    header: str | None = None

    @property
    def value(self) -> str:
        """The ``value`` group when the regex names one, else the whole match."""
        if "value" in self.match.re.groupindex and self.match.group("value") is not None:
            return self.match.group("value")
        return self.match.group(0)

    @cached_property
    def key(self) -> str | None:
        """The JSON field (or header name) the match sits in, when it can be told."""
        if "key" in self.match.re.groupindex and self.match.group("key"):
            return self.match.group("key")
        if self.part == "header":
            return self.header
        if self.part != "body":
            return None
        start = self.match.start()
        found = _KEY_BEFORE.search(self.text, max(0, start - 240), start)
        if found is None:
            return None
        if found.group(1) in _ATTRIBUTE_TYPES:  # `"ssn": {"S": "…"}`: the field is "ssn"
            outer = _KEY_OPENING.search(self.text, max(0, found.start() - 120), found.start())
            if outer is not None:
                return outer.group(1)
        return found.group(1)

    def before(self, size: int = 60) -> str:
        """Up to ``size`` characters before the match, lower-case."""
        start = self.match.start()
        return self.text[max(0, start - size) : start].lower()

    def after(self, size: int = 60) -> str:
        """Up to ``size`` characters after the match, lower-case."""
        end = self.match.end()
        return self.text[end : end + size].lower()


@dataclass(frozen=True)
class Hit:
    """A validated match: which signature, where, and the text that shows it."""

    signature: str
    finding: str
    part: Part
    match: str  # the whole matched text, verbatim in the scanned part
    value: str  # the judged text (the ``value`` group, else the match)
    key: str | None = None  # JSON field or header name
    where: str = field(default="", compare=False)  # header name or URL for header/url hits


@cache
def _compiled() -> tuple[CompiledSignature, ...]:
    return tuple(
        CompiledSignature(sig.id, sig.finding, sig.part, sig.compiled())
        for sig in signatures().values()
    )


def signatures_for(findings: Collection[str]) -> tuple[CompiledSignature, ...]:
    """The compiled signatures that mark any of ``findings``."""
    wanted = set(findings)
    return tuple(sig for sig in _compiled() if sig.finding in wanted)


def signature(signature_id: str) -> CompiledSignature:
    """One compiled signature by id."""
    for sig in _compiled():
        if sig.id == signature_id:
            return sig
    raise KeyError(signature_id)


def scan_text(
    text: str,
    part: Part,
    sigs: Collection[CompiledSignature],
    env: ScanEnv,
    *,
    status: int | None = None,
    header: str | None = None,
) -> list[Hit]:
    """Every validated hit of the ``part`` signatures of ``sigs`` in ``text``."""
    from middlebrick.checks._validators import VALIDATORS

    hits: list[Hit] = []
    for sig in sigs:
        if sig.part != part:
            continue
        validator = VALIDATORS.get(sig.id)
        kept = 0
        for candidate in _candidates(sig, text, part, status, header):
            if validator is not None and not validator(candidate, env):
                continue
            hits.append(
                Hit(
                    sig.id,
                    sig.finding,
                    part,
                    candidate.match.group(0),
                    candidate.value,
                    candidate.key,
                    header or "",
                )
            )
            kept += 1
            if kept >= MAX_HITS:
                break
    return hits


def _candidates(
    sig: CompiledSignature, text: str, part: Part, status: int | None, header: str | None
) -> Iterator[Candidate]:
    seen = 0
    for pattern in sig.patterns:
        for match in pattern.finditer(text):
            yield Candidate(match, text, part, status, header)
            seen += 1
            if seen >= MAX_CANDIDATES:
                return


def body_segments(exchange: Exchange) -> list[str]:
    """The parts of the response body to scan: all of it, or its head and tail when long.

    Empty when there is no body or it is binary media.
    """
    resp = exchange.response
    if resp is None or not resp.body:
        return []
    media = resp.content_type
    if media.startswith(_BINARY_TYPES) or media in _BINARY_EXACT:
        return []
    text = resp.text
    if len(text) <= SCAN_HEAD + SCAN_TAIL:
        return [text]
    return [text[:SCAN_HEAD], text[-SCAN_TAIL:]]


def scan_exchange(
    exchange: Exchange, sigs: Collection[CompiledSignature], env: ScanEnv
) -> list[Hit]:
    """Hits in one response: its body, each header, and each URL the server redirected to."""
    resp = exchange.response
    if resp is None:
        return []
    parts = {sig.part for sig in sigs}
    hits: list[Hit] = []
    if "body" in parts:
        for segment in body_segments(exchange):
            hits += scan_text(segment, "body", sigs, env, status=resp.status)
    if "header" in parts:
        for name, value in resp.headers:
            hits += scan_text(
                f"{name}: {value}", "header", sigs, env, status=resp.status, header=name
            )
    if "url" in parts and resp.redirects:
        for url in dict.fromkeys((*resp.redirects, resp.url)):
            hits += scan_text(url, "url", sigs, env, status=resp.status, header=url)
    return hits


def example_hits(signature_id: str, text: str, env: ScanEnv | None = None) -> list[Hit]:
    """Run one signature (regexes and validator) over an example text, as contract tests do."""
    sig = signature(signature_id)
    return scan_text(text, sig.part, [sig], env or ScanEnv(), header=_example_header(sig, text))


def _example_header(sig: CompiledSignature, text: str) -> str | None:
    if sig.part != "header":
        return None
    return text.split(":", 1)[0].strip() or None
