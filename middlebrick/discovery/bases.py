"""Where a spec's operations answer: the base URL its paths hang from on the target.

::

    base, note = await resolve_base(client, target, spec, spec_url=found.url)

The ``servers`` URL of an API description says where its paths hang from, but served documents
often say it badly: empty, relative (``/api/v2``, ``./``, ``..``), templated without defaults,
or absent (OpenAPI's default is ``/``), and a document given as a file may name a production
host. So the places the paths may hang from are listed, the default first:

- what ``base_url_for`` infers (the servers path on the target's origin, or the target path);
- the document's own folder and its ``servers`` URL resolved against the document's URL;
- the target URL's path, and the origin itself.

A URL on another host never counts: only its path is kept, on the target's origin. When the
candidates differ, a few GET operations (those without path parameters first) are requested
below each, with a control path that cannot exist; a candidate scores one for every operation
that answers neither 404/405/410 nor like its control. The best score wins, the default on a
tie, and a note says which base was chosen and why. At most four candidates of four
operations and a control each: twenty requests.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from middlebrick.discovery.undocumented import control_token
from middlebrick.errors import ScanInterrupted, ScopeViolation
from middlebrick.http.exchange import Exchange, Request, Sender
from middlebrick.spec.model import ApiSpec, Operation
from middlebrick.spec.values import serialize, value_for_parameter

__all__ = ["base_url_for", "resolve_base"]

_MAX_CANDIDATES = 4
_MAX_OPERATIONS = 4
_ABSENT = frozenset({404, 405, 410})
_UNRESOLVED = re.compile(r"\{[^{}]*\}")
_CHANGES_STATE = re.compile(
    r"(?i)(?:^|[/_.-])(?:logout|log-out|signout|sign-out|reset|delete|remove|purge|drop|"
    r"revoke|destroy|clear|flush|shutdown|restart)(?:$|[/_.-])"
)


@dataclass(frozen=True)
class _Candidate:
    url: str  # base URL, no trailing slash
    why: str  # how it was derived, for the note


async def resolve_base(
    client: Sender, target: str, spec: ApiSpec, *, spec_url: str | None = None
) -> tuple[str, str | None]:
    """The base URL ``spec``'s operations answer below on ``target``, and a note when guessed.

    Without doubt (one candidate) no request is sent and the note is ``None``.
    """
    candidates = _candidates(target, spec, spec_url)
    if len(candidates) == 1:
        return candidates[0].url, None
    operations = _probe_operations(spec.operations)
    if not operations:
        return candidates[0].url, None
    scores: list[int] = []
    for candidate in candidates:
        try:
            scores.append(await _score(client, candidate.url, operations))
        except ScanInterrupted:
            return candidates[0].url, None
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    chosen = candidates[best]
    others = "; ".join(
        f"below {c.url} ({c.why}): {s} of {len(operations)}"
        for c, s in zip(candidates, scores, strict=True)
        if c is not chosen
    )
    server = spec.servers[0].strip() if spec.servers else None
    servers = f"`{server}`" if server else ("empty" if server is not None else "absent")
    return chosen.url, (
        f"the API description's servers URL is {servers}; its operations answer below "
        f"{chosen.url} ({chosen.why}): {scores[best]} of {len(operations)} GET operations tried "
        f"answered there, not 404 and unlike a path that cannot exist; {others}"
    )


def base_url_for(target: str, spec: ApiSpec, *, spec_url: str | None = None) -> str:
    """The base URL the spec's paths hang from on ``target`` (no trailing slash).

    A target with a path names the API's base itself, unless the spec's paths (after its first
    server's path) already start with that path. Otherwise the base is the target's origin plus
    the path of the spec's first server (a server on another host keeps only its path; relative
    servers resolve against the spec's URL when it was served, else against the target).
    """
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}"
    target_path = parts.path.rstrip("/")
    server_path = _server_path(spec, spec_url or target)
    if target_path and not _all_under(
        [server_path + op.path for op in spec.operations], target_path
    ):
        served_elsewhere = spec_url is not None and not spec_url.startswith(
            f"{origin}{target_path}/"
        )
        if not served_elsewhere and not _all_under(
            [op.path for op in spec.operations], target_path
        ):
            return origin + target_path
    return origin + server_path


def _candidates(target: str, spec: ApiSpec, spec_url: str | None) -> list[_Candidate]:
    """Where the paths may hang from, the default first, without repeats, at most four."""
    parts = urlsplit(target)
    origin = f"{parts.scheme}://{parts.netloc}"
    default = _Candidate(base_url_for(target, spec, spec_url=spec_url), "the default")
    server = spec.servers[0].strip() if spec.servers else ""
    absolute = bool(urlsplit(server).scheme) and not _UNRESOLVED.search(server)
    if absolute and urlsplit(server).netloc.lower() == parts.netloc.lower():
        return [default]  # a full URL on the target's own host says it plainly
    found = [default]
    if spec_url is not None:
        folder = urljoin(spec_url, ".")
        if server and not absolute:
            found.append(
                _Candidate(origin + _server_path(spec, spec_url), "servers URL from the document")
            )
        found.append(_Candidate(folder.rstrip("/"), "the folder of the document"))
    if parts.path.rstrip("/"):
        found.append(_Candidate(origin + parts.path.rstrip("/"), "the target URL"))
    found.append(_Candidate(origin, "the origin"))
    unique: dict[str, _Candidate] = {}
    for candidate in found:
        unique.setdefault(candidate.url.rstrip("/"), candidate)
    return [_Candidate(url, c.why) for url, c in unique.items() if url.startswith(origin)][
        :_MAX_CANDIDATES
    ]


def _server_path(spec: ApiSpec, against: str) -> str:
    """The path of the first server URL, resolved against ``against`` (no trailing slash).

    A URL with a host keeps only its path (the scan never leaves the target's origin); an empty
    URL is OpenAPI's default ``/`` (not the document itself); a template variable without a
    default cuts the path before it.
    """
    server = spec.servers[0].strip() if spec.servers else ""
    if "://" in server:
        rest = server.split("://", 1)[1]
        server = "/" + rest.split("/", 1)[1] if "/" in rest else ""
    cut = _UNRESOLVED.search(server)
    if cut is not None:
        server = server[: cut.start()]
    if not server:
        return ""
    return urlsplit(urljoin(against, server)).path.rstrip("/")


def _probe_operations(operations: tuple[Operation, ...]) -> list[Operation]:
    """GET operations that look like reads, those without path parameters first."""
    reads = [
        op
        for op in operations
        if op.method == "GET"
        and not any(_CHANGES_STATE.search(name) for name in (op.path, op.operation_id or ""))
    ]
    reads.sort(key=lambda op: (len(op.params("path")), op.path.count("/")))
    return reads[:_MAX_OPERATIONS]


async def _score(client: Sender, base: str, operations: list[Operation]) -> int:
    """How many operations answer below ``base`` unlike a path that cannot exist there."""
    urls = [base + "/" + control_token(base), *(base + _filled(op) for op in operations)]
    answers = await asyncio.gather(*(_get(client, url) for url in urls))
    control, rest = answers[0], answers[1:]
    return sum(1 for answer in rest if _answered(answer, control))


async def _get(client: Sender, url: str) -> Exchange | None:
    try:
        return await client.send(Request("GET", url))
    except ScopeViolation:
        return None


def _answered(exchange: Exchange | None, control: Exchange | None) -> bool:
    ours = exchange.response if exchange is not None else None
    if ours is None or ours.status in _ABSENT or ours.status >= 500:
        return False
    theirs = control.response if control is not None else None
    if theirs is None or theirs.status in _ABSENT:
        return True
    return ours.status != theirs.status or ours.body != theirs.body


def _filled(op: Operation) -> str:
    """``op``'s path with example values, and its required query parameters."""
    path = op.path
    for param in op.params("path"):
        value: Any = value_for_parameter(param)
        path = path.replace("{" + param.name + "}", quote(serialize(value) or "1", safe=""))
    path = _UNRESOLVED.sub("1", path)  # a template the document does not declare
    query = [(p.name, serialize(value_for_parameter(p))) for p in op.params("query") if p.required]
    return path + ("?" + urlencode(query) if query else "")


def _all_under(paths: list[str], prefix: str) -> bool:
    return bool(paths) and all(path == prefix or path.startswith(prefix + "/") for path in paths)
