"""Operations the target serves but its surface does not list: a bounded probe of likely paths.

::

    probed = await probe_undocumented(client, surface)  # at most 40 requests
    operations = (*surface.operations, *probed.operations)

Candidates, in this order until the cap is spent: the words of
``knowledge/discovery_paths.yaml`` at the API's base (``/export``, ``/admin`` …); other
versions of versioned documented GET paths (``/v1/users/{id}`` beside ``/v2/users/{id}``); the
same words beside documented paths (``/users/export`` next to ``/users/me``). A path that is
documented, or that a documented template would serve (``/users/export`` when ``/users/{id}``
exists), is never tried.

Only answers with real content count: 2xx at the URL asked for (not redirected elsewhere), a
body that is not HTML (single-page-app shells, docs and login pages), not empty JSON, not the
API root's body, not a body three candidates share, and unlike what a control answers: the
candidate with its probed segment replaced by one that cannot exist. A catch-all that answers
200 to anything gives itself away there.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from middlebrick.errors import ScanInterrupted, ScopeViolation
from middlebrick.http.exchange import Exchange, Request, Response, Sender
from middlebrick.knowledge import discovery_paths
from middlebrick.spec.model import Operation, Parameter, Surface
from middlebrick.spec.routes import Routes, is_template
from middlebrick.spec.values import serialize, value_for_parameter

__all__ = [
    "DEFAULT_MAX_REQUESTS",
    "Probed",
    "control_path",
    "control_token",
    "has_content",
    "is_html",
    "probe_undocumented",
    "send_all",
    "unlike",
]

DEFAULT_MAX_REQUESTS = 40
"""The most requests one probe sends: the root, the candidates and their controls."""

_CONTROL_RESERVE = 4  # requests kept back for controls of the candidates that answered
_MAX_PARENTS = 2  # documented folders that get the words besides the API's base
_SHARED_BODY = 3  # this many candidates with one body: a catch-all, not operations
_MIN_TEXT = 64  # bytes a non-JSON answer needs to count as content
_PROBE_WORD = "x"  # any static segment: a folder whose children are all templates serves it
_VERSION = re.compile(r"^[vV](\d{1,2})$")
_PARAM = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True)
class Probed:
    """What a probe found: GET operations the surface lacked, and what it cost."""

    operations: tuple[Operation, ...] = ()
    tried: int = 0  # candidate paths requested
    requests: int = 0  # requests sent, root and controls included
    stopped: str | None = None  # why the probe stopped early, when it did

    def note(self) -> str:
        """One plain sentence for the report."""
        if self.operations:
            keys = ", ".join(op.key for op in self.operations)
            found = f"{len(self.operations)} answered with content and joined it: {keys}"
        else:
            found = "none answered with content"
        stopped = f" (stopped early: {self.stopped})" if self.stopped else ""
        return (
            f"probed {self.tried} likely paths for operations missing from the surface; "
            f"{found}{stopped}"
        )


@dataclass(frozen=True)
class _Candidate:
    template: str  # the path template the operation gets, e.g. /v1/users/{user_id}
    path: str  # the concrete path requested
    control: str  # the concrete path that cannot exist, for comparison
    parameters: tuple[Parameter, ...] = ()


def control_path(template: str, path: str, documented: Collection[str] | Routes, token: str) -> str:
    """``path`` with its probed segment replaced by ``token`` (a segment that cannot exist).

    The probed segment is where ``template`` leaves the tree of documented paths: its first
    static segment that no documented path sharing the segments before it has at that place
    (``export`` of ``/users/export`` beside ``/users/me``; ``v1`` of ``/v1/users/{id}`` beside
    ``/v2/users/{id}``). ``template`` and ``path`` are relative to the API's base and have the
    same segments.
    """
    routes = documented if isinstance(documented, Routes) else Routes(documented)
    wanted, parts = template.split("/"), path.split("/")
    for index, segment in enumerate(wanted[: len(parts)]):
        if not segment or is_template(segment):
            continue
        if not routes.has_child(wanted[:index], segment):
            return "/".join([*parts[:index], token, *parts[index + 1 :]])
    return "/".join([*parts[:-1], token])


def control_token(base_url: str) -> str:
    """A path segment no API serves, the same for every scan of one base URL."""
    return "mb-absent-" + hashlib.sha256(base_url.encode()).hexdigest()[:12]


async def probe_undocumented(
    client: Sender, surface: Surface, *, max_requests: int = DEFAULT_MAX_REQUESTS
) -> Probed:
    """GET operations that answer with real content but are missing from ``surface``.

    Sends at most ``max_requests`` GETs through ``client`` with the default identity. A spent
    budget stops the probe with what it found; a path outside the scope is skipped.
    """
    if max_requests < 2:
        return Probed()
    token = control_token(surface.base_url)
    words = discovery_paths().words
    limit = max(0, max_requests - 1 - _CONTROL_RESERVE)
    candidates = _candidates(surface.operations, words, token, limit)
    base = surface.base_url.rstrip("/")
    answers, stopped = await send_all(client, [base + "/", *(base + c.path for c in candidates)])
    sent = len(answers)
    root, answers = (answers[0] if answers else None), answers[1:]
    bodies = Counter(_body(ex) for ex in answers)
    hopeful = [
        (candidate, exchange)
        for candidate, exchange in zip(candidates, answers, strict=True)
        if exchange is not None
        and has_content(exchange, base + candidate.path, root)
        and bodies[_body(exchange)] < _SHARED_BODY
    ]
    controls: dict[str, Exchange | None] = {}
    if hopeful and stopped is None:
        wanted = list(dict.fromkeys(c.control for c, _ in hopeful))[: max_requests - sent]
        results, stopped = await send_all(client, [base + path for path in wanted])
        sent += len(results)
        controls = dict(zip(wanted, results, strict=True))
    found = [
        _operation(candidate)
        for candidate, exchange in hopeful
        if candidate.control in controls and unlike(exchange, controls[candidate.control])
    ]
    return Probed(tuple(found), tried=len(answers), requests=sent, stopped=stopped)


def _candidates(
    operations: Sequence[Operation], words: Sequence[str], token: str, limit: int
) -> list[_Candidate]:
    """The first ``limit`` candidates in probing order, without repeats or documented paths.

    Linear in the operations: each candidate costs the depth of its path in the index of
    documented templates, and generation stops at ``limit``.
    """
    routes = Routes(op.path for op in operations)
    seen: set[str] = set()
    found: list[_Candidate] = []

    def add(template: str, path: str, parameters: tuple[Parameter, ...] = ()) -> bool:
        if template not in seen and not routes.serves(template):
            seen.add(template)
            control = control_path(template, path, routes, token)
            found.append(_Candidate(template, path, control, parameters))
        return len(found) >= limit

    if limit <= 0:
        return found
    for word in words:
        if add(f"/{word}", f"/{word}"):
            return found
    for op in operations:
        if op.method == "GET":
            for template, path in _version_swaps(op):
                if add(template, path, op.params("path")):
                    return found
    for parent in _parents(operations, routes):
        for word in words:
            if add(f"{parent}/{word}", f"{parent}/{word}"):
                return found
    return found


def _version_swaps(op: Operation) -> list[tuple[str, str]]:
    """``op``'s path with its version segment set to the nearest other versions."""
    segments = op.path.split("/")
    for index, segment in enumerate(segments):
        match = _VERSION.match(segment)
        if match is None:
            continue
        number = int(match.group(1))
        others = [n for n in (number - 1, number - 2, number + 1) if n >= 1]
        swaps = []
        for other in others:
            template = "/".join([*segments[:index], f"v{other}", *segments[index + 1 :]])
            swaps.append((template, _fill(template, op)))
        return swaps
    return []


def _fill(template: str, op: Operation) -> str:
    """A concrete path: each ``{name}`` set to the operation's example value for it."""
    params = {p.name: p for p in op.params("path")}

    def value(match: re.Match[str]) -> str:
        param = params.get(match.group(1))
        raw: Any = value_for_parameter(param) if param is not None else "1"
        return quote(serialize(raw) or "1", safe="")

    return _PARAM.sub(value, template)


def _parents(operations: Sequence[Operation], routes: Routes) -> list[str]:
    """Documented static folders holding the most documented paths, whose words are not served."""
    counts: Counter[str] = Counter()
    for op in operations:
        parent = op.path.rstrip("/").rsplit("/", 1)[0]
        if parent and "{" not in parent:
            counts[parent] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    free = (p for p, _ in ranked if not routes.serves(f"{p}/{_PROBE_WORD}"))
    return list(itertools.islice(free, _MAX_PARENTS))


async def send_all(client: Sender, urls: Sequence[str]) -> tuple[list[Exchange | None], str | None]:
    """GET each URL at once; ``None`` for one outside the scope; stops at a spent budget."""
    results = await asyncio.gather(
        *(client.send(Request("GET", url)) for url in urls), return_exceptions=True
    )
    out: list[Exchange | None] = []
    stopped: str | None = None
    for result in results:
        if isinstance(result, ScopeViolation):
            out.append(None)
        elif isinstance(result, ScanInterrupted):
            stopped = stopped or str(result)
            out.append(None)
        elif isinstance(result, BaseException):
            raise result
        else:
            out.append(result)
    return out, stopped


def has_content(exchange: Exchange, url: str, root: Exchange | None) -> bool:
    """A 2xx at ``url`` itself with a non-HTML body of substance, unlike the API root's."""
    resp = exchange.response
    if resp is None or not resp.ok or not resp.body.strip():
        return False
    if urlsplit(resp.url or url).path.rstrip("/") != urlsplit(url).path.rstrip("/"):
        return False
    if is_html(resp) or (resp.is_json and not resp.json):
        return False
    if not resp.is_json and len(resp.body) < _MIN_TEXT:
        return False  # "OK", "pong": a health probe, not an operation worth the name
    return root is None or root.response is None or root.response.body != resp.body


def unlike(exchange: Exchange, control: Exchange | None) -> bool:
    """True when the control was refused, or answered 2xx with other content or shape."""
    if control is None:
        return False  # no control, no verdict
    theirs, ours = control.response, exchange.response
    if theirs is None:
        return False  # the control got no answer at all: no verdict either
    if not theirs.ok:
        return True
    if ours is None or theirs.body == ours.body:
        return False
    if ours.is_json and theirs.is_json:
        return _keys(ours.json) != _keys(theirs.json)
    return ours.content_type != theirs.content_type


def _keys(value: Any) -> tuple[str, frozenset[str]]:
    """A JSON value's type and its keys (a list's: its first element's)."""
    if isinstance(value, list):
        first = value[0] if value else None
        return "list", frozenset(first) if isinstance(first, dict) else frozenset()
    return type(value).__name__, frozenset(value) if isinstance(value, dict) else frozenset()


def _body(exchange: Exchange | None) -> bytes | None:
    """The body of a 2xx answer, else ``None``."""
    if exchange is None or exchange.response is None or not exchange.ok:
        return None
    return exchange.response.body


def is_html(response: Response) -> bool:
    head = response.body.lstrip()[:15].lower()
    return "html" in response.content_type or head.startswith((b"<!doctype", b"<html"))


def _operation(candidate: _Candidate) -> Operation:
    names = set(_PARAM.findall(candidate.template))
    return Operation(
        method="GET",
        path=candidate.template,
        parameters=tuple(p for p in candidate.parameters if p.name in names),
        source="probed",
    )
