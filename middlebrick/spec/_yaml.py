"""Read JSON or YAML API descriptions safely: YAML 1.2-ish scalars, no bombs, no stack overflow.

PyYAML's C loader is fast but trusts its input: a deeply nested document overflows the C stack
(a segfault, not an exception), a "billion laughs" document expands to billions of nodes in any
consumer that walks it, and merge keys (``<<: [*a, *a, …]``) copy the merged mappings while the
document is built, so 538 bytes once cost 1.9 GB and 91 s. All three are refused with a
``SpecError`` before anything is built: nesting from the event stream, expansion from the
composed node graph (where an alias is still one shared node), against the documented limits
below.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from middlebrick.errors import SpecError

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

MAX_DEPTH = 1000
"""Deepest nesting of mappings and sequences accepted (JSON's own limit is about the same)."""

MIN_EXPANSION_LIMIT = 1_000_000
EXPANSION_FACTOR = 10
"""A document whose aliases and merge keys expand it to more than ``EXPANSION_FACTOR`` times its
own distinct nodes, and to more than ``MIN_EXPANSION_LIMIT`` nodes, is a bomb."""

_ANCHOR = re.compile(r"&[^\s\[\]{},]")  # no anchor, no alias: nothing expands (an over-estimate)
_FLOW_CHARS = re.compile(r"[\[\]{}]")
_LONG_BLOCK_RUN = re.compile(rf"^[ \t?:-]{{{MAX_DEPTH // 4},}}", re.MULTILINE)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class _SpecLoader(_BaseLoader):
    """Safe loader that keeps API descriptions JSON-shaped.

    ``=`` (YAML 1.1's value type) and timestamps stay strings, and mapping keys are always
    strings: an unquoted ``596:`` or ``true:`` key is read as its text.
    """

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):  # pragma: no cover - PyYAML only passes mappings
            raise yaml.constructor.ConstructorError(
                None, None, "expected a mapping", node.start_mark
            )
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                key = key_node.value
            else:
                key = str(self.construct_object(key_node, deep=True))  # type: ignore[no-untyped-call]
            mapping[key] = self.construct_object(value_node, deep=deep)  # type: ignore[no-untyped-call]
        return mapping


def _construct_text(loader: _SpecLoader, node: Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


def _construct_untagged(loader: _SpecLoader, node: Node) -> Any:
    """Any unknown tag (``!Ref``, ``!!python/...``): build the plain value, run nothing."""
    if isinstance(node, MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_SpecLoader.add_constructor("tag:yaml.org,2002:value", _construct_text)
_SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_text)
_SpecLoader.add_constructor("tag:yaml.org,2002:binary", _construct_text)
_SpecLoader.add_constructor(None, _construct_untagged)  # type: ignore[arg-type]


def decode(data: bytes | str) -> str:
    """The text of a document: BOM-aware, UTF-8 by default, invalid bytes replaced."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace").removeprefix("\ufeff")
    return data.decode("utf-8", errors="replace")


def parse_document(data: bytes | str, source: str) -> Any:
    """Parse JSON or YAML (by content) into plain Python values; ``SpecError`` when neither."""
    text = decode(data)
    head = text.lstrip()[:1]
    if not head:
        raise SpecError(f"{source} is empty")
    if head in "{[":
        try:
            return json.loads(text)
        except RecursionError as exc:
            raise SpecError(f"{source} is nested more than {MAX_DEPTH} levels deep") from exc
        except ValueError:
            pass  # YAML flow style, or broken JSON: the YAML parser says which
    return _load_yaml(text, source)


def _load_yaml(text: str, source: str) -> Any:
    _check_nesting(text, source)
    loader = _SpecLoader(text)
    try:
        if not loader.check_node():
            return None
        node = loader.get_node()  # composing is linear: an alias is the node it names
        if node is not None and _ANCHOR.search(text) is not None:
            _check_expansion(node, source)  # before merge keys copy anything
        return loader.construct_document(node)  # type: ignore[no-untyped-call]
    except yaml.YAMLError as exc:
        raise SpecError(f"{source} is neither JSON nor YAML: {_describe(exc)}") from exc
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise SpecError(f"{source} is neither JSON nor YAML: {exc}") from exc
    finally:
        loader.dispose()


def _describe(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


def _check_nesting(text: str, source: str) -> None:
    """Refuse documents nested deeper than ``MAX_DEPTH`` (the C parser would overflow its stack).

    Cheap bounds first (flow brackets, leading block indicators); the exact event-level count
    runs only when they cannot rule deep nesting out.
    """
    if _LONG_BLOCK_RUN.search(text) is None and _flow_depth_at_most(text, MAX_DEPTH // 2):
        return
    loader = _SpecLoader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise SpecError(f"{source} is nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
            elif isinstance(event, yaml.DocumentEndEvent):
                return  # only the first document is read
    except yaml.YAMLError as exc:
        raise SpecError(f"{source} is neither JSON nor YAML: {_describe(exc)}") from exc
    finally:
        loader.dispose()


def _flow_depth_at_most(text: str, limit: int) -> bool:
    """True when brackets (quotes ignored, so an over-estimate) never nest deeper than ``limit``."""
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = 0
    for match in _FLOW_CHARS.finditer(text):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return False
        elif depth > 0:
            depth -= 1
    return True


def _check_expansion(root: Node, source: str) -> None:
    """Refuse a YAML bomb: aliases that expand the document far beyond its own size.

    Sizes are counted once per distinct node, an alias counting its target's whole expansion,
    which is also what a merge key copies; so the walk is linear and nothing is built.
    """
    sizes: dict[int, int] = {}  # collection node -> its expanded size (a scalar's is 1)
    open_nodes: set[int] = set()
    distinct = aliases = 0
    stack: list[tuple[Node, list[Node] | None]] = [(root, None)]  # children: when done
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done is not None:
            total = 1
            for child in done:
                total += sizes.get(id(child), 1)
            sizes[key] = total
            open_nodes.discard(key)
            continue
        if key in sizes or key in open_nodes:
            aliases += 1
            continue
        open_nodes.add(key)
        children = _children(node)
        nested = [child for child in children if not isinstance(child, ScalarNode)]
        distinct += 1 + len(children) - len(nested)
        stack.append((node, children))
        stack.extend((child, None) for child in nested)
    limit = max(MIN_EXPANSION_LIMIT, EXPANSION_FACTOR * distinct)
    if sizes.get(id(root), 1) > limit:
        raise SpecError(
            f"{source} is a YAML bomb: its {aliases} aliases expand it to more than {limit} nodes"
        )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []
