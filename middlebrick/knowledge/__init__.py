"""What the scanner knows, as data: categories, the finding-type catalogue, signature packs.

Every file is validated by a model in ``models`` when first loaded; a bad file fails at start-up
naming the file and the key.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from middlebrick.knowledge.llm_models import LlmProbePack
from middlebrick.knowledge.models import (
    AdminPaths,
    Category,
    DiscoveryPaths,
    FindingType,
    FrameworkRule,
    QuantityWords,
    RateLimitWords,
    RootCause,
    SafetyWords,
    ServerOwnedWords,
    Signature,
    SqlDialect,
)

__all__ = [
    "AdminPaths",
    "Category",
    "FindingType",
    "FrameworkRule",
    "RootCause",
    "Signature",
    "SqlDialect",
    "admin_paths",
    "catalogue",
    "categories",
    "discovery_paths",
    "framework_rules",
    "llm_probes",
    "quantity_words",
    "rate_limit_words",
    "read_yaml",
    "root_causes",
    "safety_words",
    "server_owned_words",
    "signatures",
    "sql_dialects",
]

M = TypeVar("M", bound=BaseModel)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built in: 7x faster


def read_yaml(relative: str) -> Any:
    """The parsed content of a knowledge file (``"findings/bola.yaml"``), safely loaded."""
    path = resources.files("middlebrick.knowledge").joinpath(relative)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)


def _load_list(relative: str, model: type[M]) -> list[M]:
    raw = read_yaml(relative)
    if not isinstance(raw, list):
        raise RuntimeError(f"knowledge/{relative}: expected a list of entries")
    items: list[M] = []
    for index, entry in enumerate(raw):
        try:
            items.append(model.model_validate(entry))
        except ValidationError as exc:
            name = entry.get("id", f"#{index}") if isinstance(entry, dict) else f"#{index}"
            raise RuntimeError(f"knowledge/{relative}: entry {name}: {exc}") from exc
    ids = [getattr(item, "id", None) for item in items]
    if model is FrameworkRule:
        return items
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise RuntimeError(f"knowledge/{relative}: duplicate ids {sorted(map(str, dupes))}")
    return items


def _load_one(relative: str, model: type[M]) -> M:
    """One knowledge file that is a single object, validated by ``model``."""
    try:
        return model.model_validate(read_yaml(relative))
    except ValidationError as exc:
        raise RuntimeError(f"knowledge/{relative}: {exc}") from exc


@cache
def categories() -> dict[str, Category]:
    """The 12 categories by id, in report order."""
    return {c.id: c for c in _load_list("categories.yaml", Category)}


@cache
def catalogue() -> dict[str, FindingType]:
    """Every finding type by id, from one file per category in ``findings/``.

    Ids are ``<category>.<kebab-slug>`` and permanent: never rename or reuse one. A contract test
    checks that every id is emitted by a registered check and vice versa.
    """
    folder = resources.files("middlebrick.knowledge").joinpath("findings")
    found: dict[str, FindingType] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        for item in _load_list(f"findings/{entry.name}", FindingType):
            if item.id in found:
                raise RuntimeError(f"knowledge/findings/{entry.name}: duplicate id {item.id}")
            if item.category != entry.name.removesuffix(".yaml"):
                raise RuntimeError(
                    f"knowledge/findings/{entry.name}: {item.id} belongs to {item.category}"
                )
            found[item.id] = item
    return found


@cache
def framework_rules() -> list[FrameworkRule]:
    """Rules that recognise the framework behind a target, in priority order."""
    return _load_list("frameworks.yaml", FrameworkRule)


@cache
def signatures() -> dict[str, Signature]:
    """Every signature by id, from all packs in ``signatures/``; each names a catalogue id."""
    folder = resources.files("middlebrick.knowledge").joinpath("signatures")
    found: dict[str, Signature] = {}
    known = catalogue()
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        for sig in _load_list(f"signatures/{entry.name}", Signature):
            if sig.id in found:
                raise RuntimeError(f"knowledge/signatures/{entry.name}: duplicate id {sig.id}")
            if sig.finding not in known:
                raise RuntimeError(
                    f"knowledge/signatures/{entry.name}: {sig.id} names unknown finding "
                    f"{sig.finding}"
                )
            found[sig.id] = sig
    return found


@cache
def discovery_paths() -> DiscoveryPaths:
    """The words probed for undocumented operations and the usual documentation pages."""
    return _load_one("discovery_paths.yaml", DiscoveryPaths)


@cache
def llm_probes() -> LlmProbePack:
    """AI endpoint detection and the prompt probes by tier (``llm_probes.yaml``), validated.

    Every probe's finding id must be in the catalogue.
    """
    pack = _load_one("llm_probes.yaml", LlmProbePack)
    unknown = sorted({p.finding for p in pack.probes} - set(catalogue()))
    if unknown:
        raise RuntimeError(f"knowledge/llm_probes.yaml: unknown finding ids {unknown}")
    return pack


@cache
def admin_paths() -> AdminPaths:
    """The privileged-function paths the bfla admin-path check requests, validated."""
    return _load_one("admin_paths.yaml", AdminPaths)


@cache
def root_causes() -> tuple[RootCause, ...]:
    """The finding types one flaw produces together (``root_causes.yaml``), in file order.

    Every type named must be in the catalogue.
    """
    causes = tuple(_load_list("root_causes.yaml", RootCause))
    known = catalogue()
    for cause in causes:
        unknown = [t for t in (cause.keep, *cause.fold, *cause.types) if t and t not in known]
        if unknown:
            raise RuntimeError(f"knowledge/root_causes.yaml: {cause.id} names unknown {unknown}")
    return causes


@cache
def safety_words() -> SafetyWords:
    """What makes an operation state-changing, irreversible or protected (``safety.yaml``)."""
    return _load_one("safety.yaml", SafetyWords)


@cache
def rate_limit_words() -> RateLimitWords:
    """Where a rate limit matters and where a burst measures nothing (``rate_limits.yaml``)."""
    return _load_one("rate_limits.yaml", RateLimitWords)


@cache
def quantity_words() -> QuantityWords:
    """Words of numeric fields kept at zero or above, and of signed ones (``quantities.yaml``)."""
    return _load_one("quantities.yaml", QuantityWords)


@cache
def server_owned_words() -> ServerOwnedWords:
    """Words of properties a server sets itself (``server_owned.yaml``)."""
    return _load_one("server_owned.yaml", ServerOwnedWords)


@cache
def sql_dialects() -> dict[str, SqlDialect]:
    """The SQL databases that ``signatures/sql.yaml`` can prove, by id, with their advice.

    Every SQL signature's id names one of them (``sql-<dialect>-…``).
    """
    dialects: dict[str, SqlDialect] = {d.id: d for d in _load_list("sql_dialects.yaml", SqlDialect)}
    for sig in signatures().values():
        if sig.id.startswith("sql-") and sig.id.split("-")[1] not in dialects:
            raise RuntimeError(f"knowledge/signatures/sql.yaml: {sig.id} names no known dialect")
    return dialects
