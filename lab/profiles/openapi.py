"""OpenAPI documents kept as YAML beside a service, as one variant serves them."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

SPEC_FILE = Path(__file__).with_name("openapi.yaml")
BASE_URL = "{base_url}"


@functools.cache
def _source(spec_file: Path) -> dict[str, Any]:
    with spec_file.open(encoding="utf-8") as stream:
        data: dict[str, Any] = yaml.safe_load(stream)
    return data


def _select(node: Any, variant: str, base_url: str) -> Any:
    """``node`` without the parts marked for the other variant, ``{base_url}`` filled in."""
    if isinstance(node, dict):
        return {
            key: _select(value, variant, base_url)
            for key, value in node.items()
            if key != "x-variant" and _kept(value, variant)
        }
    if isinstance(node, list):
        return [_select(value, variant, base_url) for value in node if _kept(value, variant)]
    if isinstance(node, str):
        return node.replace(BASE_URL, base_url)
    return node


def _kept(node: Any, variant: str) -> bool:
    return not isinstance(node, dict) or node.get("x-variant", variant) == variant


def variant_document(spec_file: Path, secure: bool, base_url: str) -> dict[str, Any]:
    """The document in ``spec_file`` as the secure or vulnerable variant serves it.

    A node carrying ``x-variant: vulnerable|secure`` is kept only for that variant, and
    ``{base_url}`` is replaced by the URL the document is served from.
    """
    variant = "secure" if secure else "vulnerable"
    selected: dict[str, Any] = _select(_source(spec_file), variant, base_url)
    return selected


def document(secure: bool, base_url: str) -> dict[str, Any]:
    """The profiles service's OpenAPI document for one variant, served from ``base_url``."""
    return variant_document(SPEC_FILE, secure, base_url)
