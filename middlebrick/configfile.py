"""The scan config file (``--config``): identities and headers kept out of the command line.

::

    spec: openapi.yaml
    spec_root: ..          # the spec's file references may be anywhere below this folder
    spec_headers:          # sent when fetching a spec URL (the target's credentials are not)
      Authorization: Bearer ${DOCS_TOKEN}
    headers:
      X-Client: ci
    identities:            # the first one is the primary: the baseline is made as it
      alice:
        auth: bearer:${ALICE_TOKEN}
        owns: [item-1, item-2]
      bob:
        auth: apikey:X-API-Key:${BOB_KEY}
    include:               # call these even though their names say they change state
      - POST /v1/chat/completions
    exclude:               # never request these
      - /admin/**
    allow_incomplete: false  # true: an incomplete scan may pass --threshold / --fail-on

``${VAR}`` is replaced by the environment variable VAR, so secrets stay out of the file; a
variable that is not set is an error naming it. Flags given on the command line come after
the file: their identities follow the file's, their headers, includes and excludes are added.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from middlebrick.auth import header_name, parse_auth
from middlebrick.config import Credential
from middlebrick.errors import UsageError
from middlebrick.files import read_bounded
from middlebrick.http.patterns import OperationPattern

__all__ = ["ScanConfig", "load_config"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_BYTES = 1_048_576
"""The largest config file read (1 MiB)."""


class _IdentityEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auth: str
    owns: list[str] = Field(default_factory=list)


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: str | None = None
    spec_root: str | None = None
    spec_headers: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    identities: dict[str, _IdentityEntry] = Field(default_factory=dict)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    allow_incomplete: bool = False


class ScanConfig(BaseModel):
    """What a config file contributes to a scan."""

    model_config = ConfigDict(frozen=True)

    spec: str | None = None
    spec_root: str | None = None
    spec_headers: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    identities: dict[str, Credential] = Field(default_factory=dict)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    allow_incomplete: bool = False


def load_config(path: Path) -> ScanConfig:
    """Read and validate a config file; every problem is a ``UsageError`` naming the key."""
    data = read_bounded(path, cap=MAX_BYTES, what="config file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"config file {path} is not UTF-8 text") from None
    try:
        raw: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"config file {path} is not valid YAML: {exc}") from None
    try:
        model = _FileModel.model_validate(_expand(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(f"config file {path}: {where}: {first['msg']}") from None
    identities = {
        name: parse_auth(entry.auth, owns=tuple(entry.owns))
        for name, entry in model.identities.items()
    }
    headers = tuple((header_name(name), value) for name, value in model.headers.items())
    spec_headers = tuple((header_name(name), v) for name, v in model.spec_headers.items())
    for key in ("include", "exclude"):
        for text in getattr(model, key):
            try:
                OperationPattern.parse(text, flag=key)
            except UsageError as exc:
                raise UsageError(f"config file {path}: {exc}") from None
    return ScanConfig(
        spec=model.spec,
        spec_root=model.spec_root,
        spec_headers=spec_headers,
        headers=headers,
        identities=identities,
        include=tuple(model.include),
        exclude=tuple(model.exclude),
        allow_incomplete=model.allow_incomplete,
    )


def _expand(value: Any) -> Any:
    """``${VAR}`` replaced by the environment's value, in every string of ``value``."""
    if isinstance(value, str):
        return _VAR.sub(_lookup, value)
    if isinstance(value, list):
        return [_expand(item) for item in value]
    if isinstance(value, dict):
        return {key: _expand(item) for key, item in value.items()}
    return value


def _lookup(match: re.Match[str]) -> str:
    name = match.group(1)
    if name not in os.environ:
        raise UsageError(
            f"the config file uses ${{{name}}} but the environment variable {name} is not set"
        )
    return os.environ[name]
