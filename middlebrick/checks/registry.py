"""The one registry of checks, filled by the ``@check`` decorator at import time."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from middlebrick.findings import Finding

if TYPE_CHECKING:
    from middlebrick.checks.context import CheckContext

CheckFunc = Callable[["CheckContext"], AsyncIterator[Finding]]
CheckMode = Literal["safe", "active"]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its function and what it declares about itself."""

    name: str
    category: str
    emits: frozenset[str]
    mode: CheckMode
    max_requests: int  # fixed part of the most requests one run may send (besides the baseline)
    per_operation: int  # plus this many for each operation of the surface
    func: CheckFunc
    doc: str
    writes: bool = False  # may send writes (active mode, or to --include'd operations)


REGISTRY: dict[str, CheckSpec] = {}


def check(
    *,
    category: str,
    emits: set[str],
    mode: CheckMode = "safe",
    max_requests: int = 0,
    per_operation: int = 0,
    writes: bool | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Register an async-generator check that yields ``Finding``s of the ids in ``emits``.

    Its declared cost is ``max_requests + per_operation * len(operations)``; the context stops
    a check that tries to send more. ``writes`` (default: an active check writes) declares that
    it may send methods other than GET, HEAD, OPTIONS and TRACE: in active mode (or when
    ``--include`` names operations) such checks run one at a time after the others, and what
    each wrote is undone before the next starts.
    """

    def register(func: CheckFunc) -> CheckFunc:
        name = f"{category}.{func.__name__}"
        if name in REGISTRY:
            raise RuntimeError(f"check {name!r} is registered twice")
        if not inspect.isasyncgenfunction(func):
            raise TypeError(f"check {name!r} must be an async generator function")
        doc = inspect.getdoc(func)
        if not doc:
            raise TypeError(f"check {name!r} needs a docstring: it is the check's documentation")
        stray = {e for e in emits if not e.startswith(f"{category}.")}
        if stray:
            raise ValueError(f"check {name!r} emits ids outside its category: {sorted(stray)}")
        REGISTRY[name] = CheckSpec(
            name=name,
            category=category,
            emits=frozenset(emits),
            mode=mode,
            max_requests=max_requests,
            per_operation=per_operation,
            func=func,
            doc=doc,
            writes=mode == "active" if writes is None else writes,
        )
        return func

    return register


def load_all() -> dict[str, CheckSpec]:
    """Import every check module (which registers its checks) and return the registry.

    Checks live in one package per category (``checks/bola/``…), private helpers beside them
    (``_``-named, not imported here). Categories load in name order, and in each the ``core``
    module first, then the others in name order, so the registry's order is stable.
    """
    import importlib
    import pkgutil

    import middlebrick.checks as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") or info.name in ("registry", "context"):
            continue
        category = importlib.import_module(f"{package.__name__}.{info.name}")
        if not info.ispkg:
            continue
        public = [m.name for m in pkgutil.iter_modules(category.__path__) if m.name[0] != "_"]
        for name in sorted(public, key=lambda n: (n != "core", n)):
            importlib.import_module(f"{category.__name__}.{name}")
    return REGISTRY
