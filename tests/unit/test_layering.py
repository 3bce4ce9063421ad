"""Dependencies point one way (DESIGN.md): nothing below the engine imports from above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "middlebrick"

ABOVE_ENGINE = (
    "middlebrick.cli",
    "middlebrick.server",
    "middlebrick.jobs",
    "middlebrick.store",
    "middlebrick.mcp",
    "middlebrick.github_action",
    "middlebrick.__main__",
)
BELOW_CHECKS = (
    "http",
    "spec",
    "knowledge",
    "findings",
    "errors",
    "config",
    "discovery",
    "auth",
    "tokens",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("middlebrick")}


def _modules() -> list[tuple[str, Path]]:
    return [
        (".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts), p)
        for p in sorted(PACKAGE.rglob("*.py"))
    ]


@pytest.mark.parametrize(("name", "path"), _modules(), ids=lambda v: str(v))
def test_module_imports_only_downwards(name: str, path: Path) -> None:
    imports = _imports(path)
    if not name.startswith(ABOVE_ENGINE):
        assert not [i for i in imports if i.startswith(ABOVE_ENGINE)], f"{name} imports a front-end"
    if name.startswith(("middlebrick.checks", "middlebrick.baseline")) or any(
        name.startswith(f"middlebrick.{low}") for low in BELOW_CHECKS
    ):
        assert "middlebrick.engine" not in imports, f"{name} imports the engine"
    if any(name.startswith(f"middlebrick.{low}") for low in BELOW_CHECKS):
        upward = [
            i
            for i in imports
            if i.startswith(("middlebrick.checks.registry", "middlebrick.engine"))
        ]
        assert not upward, f"{name} imports from above it: {upward}"


# The service's own order: cli -> server -> jobs -> store -> (report, below the engine).
SERVICE_ORDER = ("middlebrick.cli", "middlebrick.server", "middlebrick.jobs", "middlebrick.store")


@pytest.mark.parametrize(
    ("name", "path"),
    [(n, p) for n, p in _modules() if n.startswith(SERVICE_ORDER[1:])],
    ids=lambda v: str(v),
)
def test_service_module_imports_only_downwards(name: str, path: Path) -> None:
    level = next(i for i, prefix in enumerate(SERVICE_ORDER) if name.startswith(prefix))
    above = SERVICE_ORDER[:level]
    upward = [i for i in _imports(path) if i.startswith(above)]
    assert not upward, f"{name} imports from above it: {upward}"
    if name.startswith("middlebrick.store"):
        assert "middlebrick.engine" not in _imports(path), f"{name} imports the engine"
