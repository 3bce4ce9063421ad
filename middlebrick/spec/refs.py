"""Resolve every ``$ref`` of an API description into one object graph, cycle-safe and bounded.

Each ``{"$ref": X}`` is replaced, in place, by the object X points to, so a recursive schema
becomes a cyclic structure (shared identity, never a copy). A ``$ref`` with siblings (allowed by
OpenAPI 3.1) becomes a new mapping: the target's keys with the siblings merged over them.

Where references may lead:

* inside the document (``#/components/schemas/Pet``, JSON pointer escapes, percent-encoding);
* to files next to it (``other.yaml#/x``, ``../common/x.yaml``): regular ``.json``, ``.yaml`` or
  ``.yml`` files that parse as a mapping or a list, inside ``allowed_root`` once symlinks are
  resolved. Absolute paths, ``file:`` URLs, escapes out of the folder, devices, FIFOs and every
  other file (code samples, ``.env``, credentials) are refused: a hostile description could
  otherwise put a local file's text into the requests sent to the target;
* to http(s) URLs only through the ``fetch`` callable the caller supplies (the engine passes one
  that stays in scope); without it remote references stay unresolved. What is fetched must
  parse as JSON or YAML too.

The files pulled in may hold ``MAX_REFERENCED_BYTES`` in all (each counts at least
``MIN_FILE_BYTES``); past that, the references left are unresolved and a warning says how many.
A reference that cannot be resolved becomes an empty schema ``{}`` and a plain sentence in the
warnings (one per cause, with a count and examples), never an exception. The walk keeps a
visited set by identity, so cycles and YAML aliases cost linear time.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

Parse = Callable[[bytes, str], Any]
"""Parses one file's bytes (JSON or YAML) given its name; raises on failure."""

Fetch = Callable[[str], bytes]
"""Returns the body of an http(s) URL; raises when it may not or cannot (``LookupError`` with
the reason as a plain clause: "it answered HTTP 404")."""

Location = Path | str | None
"""Where a document lives: a file path, a URL, or unknown."""

MAX_REFERENCED_BYTES = 64 * 1024 * 1024
"""Bytes the files and URLs a description references may hold in all (a real description with
about 600 example files holds a few MiB; the largest real descriptions are about 15 MB)."""

MIN_FILE_BYTES = 4096
"""What each referenced file counts against ``MAX_REFERENCED_BYTES`` at least, so a flood of
tiny files is bounded too (16,384 of them)."""

_STRUCTURED = frozenset({".yaml", ".yml", ".json"})
_MAX_CHAIN = 64
_MAX_CAUSES = 50
_EXAMPLES = 3
_OVER_BUDGET = "the files it references pass the limit of {limit} in all"


class _Unresolvable(Exception):
    """Why one reference cannot be resolved (a plain reason, no punctuation at the end)."""


@dataclass(frozen=True, eq=False)
class _Doc:
    key: str  # absolute path or URL without fragment
    root: Any
    location: Location


def resolve_refs(
    document: Any,
    *,
    location: Location,
    parse: Parse,
    fetch: Fetch | None = None,
    allowed_root: Path | None = None,
    max_bytes: int = MAX_REFERENCED_BYTES,
) -> tuple[Any, tuple[str, ...]]:
    """Replace every ``$ref`` in ``document`` (in place) and return it with the warnings.

    ``location`` is the document's own file path or URL (relative references resolve against
    it); ``allowed_root`` is the folder local files must stay in (``None``: no local files);
    ``max_bytes`` bounds the total size of the files pulled in.
    """
    resolver = _Resolver(parse=parse, fetch=fetch, allowed_root=allowed_root, max_bytes=max_bytes)
    return resolver.run(document, location), resolver.warnings()


def is_ref(value: Any) -> bool:
    """True for a mapping that is a reference (``{"$ref": "<string>", ...}``)."""
    return isinstance(value, dict) and isinstance(value.get("$ref"), str)


class _Resolver:
    def __init__(
        self, *, parse: Parse, fetch: Fetch | None, allowed_root: Path | None, max_bytes: int
    ) -> None:
        self._parse = parse
        self._fetch = fetch
        self._root = allowed_root.resolve() if allowed_root is not None else None
        self._budget = max_bytes
        self._docs: dict[str, _Doc] = {}
        self._failed: dict[str, str] = {}  # file or URL -> why it could not be had
        # id(ref mapping) -> (the ref mapping, kept alive so ids stay unique; target; its doc)
        self._done: dict[int, tuple[Any, Any, _Doc]] = {}
        self._resolving: set[int] = set()
        # merged mappings: their sibling keys resolve against the referring document
        self._siblings: dict[int, tuple[_Doc, frozenset[str]]] = {}
        self._limit = max_bytes
        self._unresolved: dict[str, dict[str, None]] = {}  # cause -> the references it left

    def warnings(self) -> tuple[str, ...]:
        """One sentence per cause: the reference itself, or a count and a few examples."""
        found: list[str] = []
        causes = sorted(self._unresolved.items(), key=lambda item: not _is_budget(item[0]))
        for cause, refs in causes[:_MAX_CAUSES]:
            if len(refs) == 1:
                found.append(f"could not resolve $ref '{next(iter(refs))}': {cause}")
                continue
            shown = ", ".join(f"'{ref}'" for ref in list(refs)[:_EXAMPLES])
            more = f" and {len(refs) - _EXAMPLES} more" if len(refs) > _EXAMPLES else ""
            found.append(f"could not resolve {len(refs)} $refs ({cause}): {shown}{more}")
        if len(causes) > _MAX_CAUSES:
            left = sum(len(refs) for _, refs in causes[_MAX_CAUSES:])
            found.append(f"{left} more $refs could not be resolved")
        return tuple(found)

    def run(self, document: Any, location: Location) -> Any:
        doc = _Doc(_key(location) if location is not None else "#root", document, location)
        self._docs[doc.key] = doc
        if is_ref(document):
            document, doc = self._deref(document, doc, 0)
        self._walk(document, doc)
        return document

    def _walk(self, start: Any, doc: _Doc) -> None:
        seen: set[int] = set()
        stack: list[tuple[Any, _Doc]] = [(start, doc)]
        while stack:
            node, ctx = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, dict):
                sibling = self._siblings.get(id(node))
                entries: list[tuple[Any, Any]] = list(node.items())
            elif isinstance(node, list):
                sibling = None
                entries = list(enumerate(node))
            else:
                continue
            children: list[tuple[Any, _Doc]] = []
            for key, value in entries:
                here = sibling[0] if sibling is not None and key in sibling[1] else ctx
                if is_ref(value):
                    value, here = self._deref(value, here, 0)
                    node[key] = value
                if isinstance(value, dict | list) and id(value) not in seen:
                    children.append((value, here))
            stack.extend(reversed(children))  # visited in document order

    def _deref(self, ref: dict[str, Any], ctx: _Doc, depth: int) -> tuple[Any, _Doc]:
        """The object a reference mapping stands for, and the document it belongs to."""
        known = self._done.get(id(ref))
        if known is not None:
            return known[1], known[2]
        if id(ref) in self._resolving:
            raise _Unresolvable("it refers back to itself")
        if depth > _MAX_CHAIN:
            raise _Unresolvable(f"it starts a chain of more than {_MAX_CHAIN} references")
        self._resolving.add(id(ref))
        target: Any
        try:
            target, tdoc = self._lookup(ref["$ref"], ctx, depth)
            if is_ref(target):
                target, tdoc = self._deref(target, tdoc, depth + 1)
        except _Unresolvable as exc:
            self._unresolved.setdefault(str(exc), {})[ref["$ref"]] = None
            target, tdoc = {}, ctx
        finally:
            self._resolving.discard(id(ref))
        siblings = frozenset(key for key in ref if key != "$ref")
        if siblings and isinstance(target, dict):
            target = {**target, **{key: ref[key] for key in siblings}}
            self._siblings[id(target)] = (ctx, siblings)
        self._done[id(ref)] = (ref, target, tdoc)
        return target, tdoc

    def _lookup(self, ref: str, ctx: _Doc, depth: int) -> tuple[Any, _Doc]:
        address, _, fragment = ref.partition("#")
        doc = self._document(address, ctx) if address else ctx
        return self._pointer(doc, fragment, depth)

    def _pointer(self, doc: _Doc, fragment: str, depth: int) -> tuple[Any, _Doc]:
        pointer = unquote(fragment)
        if not pointer:
            return doc.root, doc
        if not pointer.startswith("/"):
            raise _Unresolvable("only JSON pointers (#/...) are supported")
        node, ndoc = doc.root, doc
        for raw in pointer[1:].split("/"):
            token = raw.replace("~1", "/").replace("~0", "~")
            if is_ref(node):
                node, ndoc = self._deref(node, ndoc, depth + 1)
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise _Unresolvable(f"'{token}' is not in {_name(ndoc)}")
        return node, ndoc

    def _document(self, address: str, ctx: _Doc) -> _Doc:
        scheme = urlsplit(address).scheme.lower()
        base = ctx.location
        if scheme in ("http", "https") or (isinstance(base, str) and scheme != "file"):
            url = urljoin(base, address) if isinstance(base, str) else address
            return self._remote(url.partition("#")[0])
        if scheme == "file":
            raise _Unresolvable("a file: URL; only files beside the document are read")
        if scheme and len(scheme) > 1:
            raise _Unresolvable(f"'{scheme}:' references are not supported")
        elif isinstance(base, Path):
            relative = unquote(address)
            if Path(relative).is_absolute() or relative.startswith("~"):
                raise _Unresolvable("an absolute path; only files beside the document are read")
            path = base.parent / relative
        else:
            raise _Unresolvable("the location of the document is unknown")
        return self._local(path)

    def _local(self, path: Path) -> _Doc:
        resolved = path.resolve()  # symlinks followed: where it really is must be inside
        if self._root is None or not resolved.is_relative_to(self._root):
            raise _Unresolvable("outside the document's folder (--spec-root widens it)")
        if resolved.suffix.lower() not in _STRUCTURED:
            raise _Unresolvable("not a .json, .yaml or .yml file")

        def load() -> _Doc:
            try:
                info = resolved.stat()
                if not stat.S_ISREG(info.st_mode):
                    raise _Unresolvable("not a regular file")
                data = self._take(info.st_size, lambda: _read_at_most(resolved, self._budget))
            except FileNotFoundError as exc:
                raise _Unresolvable("no such file") from exc
            except OSError as exc:
                raise _Unresolvable(f"the file cannot be read ({exc.strerror or exc})") from exc
            return self._add(str(resolved), resolved, data)

        return self._once(str(resolved), load)

    def _remote(self, url: str) -> _Doc:
        fetch = self._fetch
        if fetch is None:
            raise _Unresolvable("remote references are not followed")

        def load() -> _Doc:
            try:
                data = self._take(None, lambda: fetch(url))
            except _Unresolvable:
                raise
            except LookupError as exc:  # the fetch's own reason, a sentence already
                raise _Unresolvable(str(exc)) from exc
            except Exception as exc:
                raise _Unresolvable(f"it could not be fetched: {exc}") from exc
            return self._add(url, url, data)

        return self._once(url, load)

    def _once(self, key: str, load: Callable[[], _Doc]) -> _Doc:
        """Each file or URL is read at most once, whether that worked or not."""
        if key in self._docs:
            return self._docs[key]
        if key in self._failed:
            raise _Unresolvable(self._failed[key])
        try:
            return load()
        except _Unresolvable as exc:
            self._failed[key] = str(exc)
            raise

    def _take(self, size: int | None, read: Callable[[], bytes]) -> bytes:
        """Read a file within what the byte budget has left (each counts ``MIN_FILE_BYTES``)."""
        over = _OVER_BUDGET.format(limit=_size(self._limit))
        if self._budget < MIN_FILE_BYTES or (size is not None and size > self._budget):
            raise _Unresolvable(over)
        data = read()
        if len(data) > self._budget:
            raise _Unresolvable(over)
        self._budget -= max(len(data), MIN_FILE_BYTES)
        return data

    def _add(self, key: str, location: Path | str, data: bytes) -> _Doc:
        """A referenced document: JSON or YAML that holds a mapping or a list, nothing else."""
        try:
            root = self._parse(data, key)
        except Exception as exc:
            raise _Unresolvable(f"it cannot be loaded ({exc})") from exc
        if not isinstance(root, dict | list):
            raise _Unresolvable("it is not a JSON or YAML mapping or list")
        doc = _Doc(key, root, location)
        self._docs[key] = doc
        return doc


def _read_at_most(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a file (one that grows while read cannot pass the cap)."""
    with path.open("rb") as handle:
        return handle.read(limit + 1)


def _size(count: int) -> str:
    mib = 1024 * 1024
    return f"{count / mib:g} MiB" if count >= mib else f"{count:,} bytes"


def _is_budget(cause: str) -> bool:
    return cause.startswith(_OVER_BUDGET.partition("{")[0])


def _key(location: Path | str) -> str:
    if isinstance(location, Path):
        return str(location.resolve())
    return location.partition("#")[0]


def _name(doc: _Doc) -> str:
    if isinstance(doc.location, Path):
        return doc.location.name
    return "the document" if doc.location is None else doc.key
