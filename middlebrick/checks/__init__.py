"""Checks: one package per category; each check registers itself with ``@check``."""

from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import REGISTRY, CheckSpec, check, load_all

__all__ = ["REGISTRY", "CheckContext", "CheckSpec", "check", "load_all"]
