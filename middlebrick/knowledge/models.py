"""Pydantic models for every knowledge file; data is validated once, at load.

The models of ``llm_probes.yaml`` live in ``knowledge.llm_models``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from middlebrick.findings import Severity

CATEGORY_IDS = (
    "authentication",
    "bola",
    "bfla",
    "property_authorization",
    "input_validation",
    "rate_limiting",
    "data_exposure",
    "encryption",
    "ssrf",
    "inventory",
    "unsafe_consumption",
    "llm_security",
)

_ID = re.compile(r"^[a-z_]+\.[a-z0-9]+(?:-[a-z0-9]+)*$")


class Strict(BaseModel):
    """A knowledge record: frozen, and unknown keys fail at load."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Category(Strict):
    """One of the 12 security categories."""

    id: str
    name: str
    owasp_api_2023: str
    weight: float = Field(gt=0)
    summary: str

    @field_validator("id")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CATEGORY_IDS:
            raise ValueError(f"unknown category {value!r}; expected one of {CATEGORY_IDS}")
        return value


class Remediation(Strict):
    """How to fix a finding type, generically and per framework where the fix differs.

    ``dynamodb`` is advice for an API whose answers prove DynamoDB behind it (botocore's error
    text, DynamoDB's wire format); it follows the framework's advice, never replaces it.
    """

    generic: str
    flask: str | None = None
    django: str | None = None
    fastapi: str | None = None
    express: str | None = None
    spring: str | None = None
    rails: str | None = None
    aspnet: str | None = None
    dynamodb: str | None = None

    def for_framework(self, framework: str | None, store: str | None = None) -> str:
        """The framework's own advice when there is one, else the generic text; then the
        store's advice when the evidence proved that store."""
        specific = getattr(self, framework, None) if framework in FRAMEWORKS else None
        stored = getattr(self, store, None) if store in STORES else None
        return " ".join(filter(None, [specific or self.generic, stored]))


class FindingType(Strict):
    """One entry of the catalogue: every word a human reads about a finding type."""

    id: str
    category: str
    title: str
    severity: Severity
    cwe: tuple[int, ...] = Field(min_length=1)
    owasp_api_2023: str
    pci_dss: tuple[str, ...] = ()
    soc2: tuple[str, ...] = ()
    summary: str
    remediation: Remediation

    @model_validator(mode="after")
    def _id_matches_category(self) -> FindingType:
        if not _ID.match(self.id):
            raise ValueError(f"id {self.id!r} must look like '<category>.<kebab-slug>'")
        if self.category not in CATEGORY_IDS:
            raise ValueError(f"{self.id}: unknown category {self.category!r}")
        if not self.id.startswith(self.category + "."):
            raise ValueError(f"{self.id}: id must start with its category {self.category!r}")
        return self


class SignatureExamples(Strict):
    match: tuple[str, ...] = Field(min_length=1)
    no_match: tuple[str, ...] = ()


class Signature(Strict):
    """A pattern that marks a finding when it matches a part of a response."""

    id: str
    finding: str
    part: Literal["body", "header", "url"] = "body"
    regex: tuple[str, ...] = Field(min_length=1)
    flags: tuple[Literal["i", "m", "s"], ...] = ()
    examples: SignatureExamples

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"regex {pattern!r} does not compile: {exc}") from exc
        return value

    def compiled(self) -> tuple[re.Pattern[str], ...]:
        """The regexes compiled with the signature's flags."""
        flags = 0
        for flag in self.flags:
            flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}[flag]
        return tuple(re.compile(p, flags) for p in self.regex)


FRAMEWORKS = ("flask", "django", "fastapi", "express", "spring", "rails", "aspnet")
STORES = ("dynamodb",)


class FrameworkRule(Strict):
    """A pattern in a response that reveals the framework (or data store) behind the API."""

    id: Literal["flask", "django", "fastapi", "express", "spring", "rails", "aspnet", "dynamodb"]
    part: str  # "body", "cookie" or "header:<Name>"
    regex: str

    @field_validator("part")
    @classmethod
    def _known_part(cls, value: str) -> str:
        if value not in ("body", "cookie") and not value.startswith("header:"):
            raise ValueError(f"part {value!r} must be 'body', 'cookie' or 'header:<Name>'")
        return value

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex {value!r} does not compile: {exc}") from exc
        return value


_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]+$")
_RELATIVE_PATH = re.compile(r"^[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+){0,2}$")


class SpecLocation(Strict):
    """Where a framework serves its API description by default, and where that is documented."""

    path: str = Field(pattern=r"^[A-Za-z0-9._~/-]+(?:\?[A-Za-z0-9._~=&-]+)?$")
    source: str = Field(min_length=8)
    versioned: bool = False  # also tried under each of the version prefixes

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or "//" in value:
            raise ValueError(f"must be a relative path without '//': {value!r}")
        return value


class DiscoveryPaths(Strict):
    """What spec discovery, undocumented-operation probing and the docs-exposure check try.

    ``spec_locations`` are where frameworks serve their API description (``version_prefixes``
    for the versioned ones); ``words`` are single path segments tried beside documented paths;
    ``docs_pages`` are the paths where interactive API documentation is usually served. Without
    a spec (crawl mode) ``resources`` (one or two segments) are tried under the base and
    ``prefixes``, and ``query_params`` are tried on routes that refuse a request without
    parameters.
    """

    words: tuple[str, ...] = Field(min_length=1)
    spec_locations: tuple[SpecLocation, ...] = Field(min_length=1, max_length=30)
    version_prefixes: tuple[str, ...] = Field(default=(), max_length=6)
    docs_pages: tuple[str, ...] = Field(min_length=1)
    prefixes: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    query_params: tuple[str, ...] = ()

    @field_validator("prefixes", "resources", "version_prefixes")
    @classmethod
    def _relative(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [path for path in value if not _RELATIVE_PATH.match(path)]
        if bad:
            raise ValueError(f"must be 1-3 relative segments of [A-Za-z0-9._~-]: {bad}")
        return value

    @field_validator("query_params")
    @classmethod
    def _names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not _SEGMENT.match(name)]
        if bad:
            raise ValueError(f"query_params must be plain names (letters, digits, ._~-): {bad}")
        return value

    @field_validator("words")
    @classmethod
    def _segments(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [word for word in value if not _SEGMENT.match(word)]
        if bad:
            raise ValueError(f"words must be single path segments (letters, digits, ._~-): {bad}")
        return value

    @field_validator("docs_pages")
    @classmethod
    def _paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [path for path in value if not path.startswith("/") or any(c.isspace() for c in path)]
        if bad:
            raise ValueError(f"docs_pages must be paths starting with '/': {bad}")
        return value


class SqlDialect(Strict):
    """A SQL database that its own error messages prove, and the advice a finding adds for it."""

    id: Literal["sqlite", "postgresql", "mysql", "mssql", "oracle"]
    name: str
    advice: str = Field(min_length=20)


class AdminPath(Strict):
    """A privileged-function path and where a framework or product is documented to serve it."""

    path: str
    source: str = Field(min_length=8)
    kind: Literal["admin", "debug"] = "admin"

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if not _RELATIVE_PATH.match(value):
            raise ValueError(f"must be 1-3 relative segments of [A-Za-z0-9._~-]: {value!r}")
        return value


class AdminPaths(Strict):
    """``admin_paths.yaml``: privileged-function paths the bfla admin-path check requests.

    ``routes`` are relative to the API's base (one to three segments, no leading slash), each
    with its source; ``page_words`` mark an HTML answer as an administrative page.
    """

    routes: tuple[AdminPath, ...] = Field(min_length=1, max_length=40)
    page_words: tuple[str, ...] = Field(min_length=1)

    @property
    def paths(self) -> tuple[str, ...]:
        """The routes' paths, in order."""
        return tuple(route.path for route in self.routes)

    @property
    def debug_paths(self) -> tuple[str, ...]:
        """The paths of the routes that are a debugging or diagnostics tool (``kind: debug``)."""
        return tuple(route.path for route in self.routes if route.kind == "debug")

    @field_validator("routes")
    @classmethod
    def _unique(cls, value: tuple[AdminPath, ...]) -> tuple[AdminPath, ...]:
        paths = [route.path for route in value]
        dupes = sorted({path for path in paths if paths.count(path) > 1})
        if dupes:
            raise ValueError(f"duplicate paths {dupes}")
        return value


class SafetyWords(Strict):
    """``safety.yaml``: the words that make an operation unsafe to call, and protected fields.

    Entries are lower-case words, or two words separated by one space ("log out").
    """

    state_changing: tuple[str, ...] = Field(min_length=1)
    irreversible: tuple[str, ...] = Field(min_length=1)
    irreversible_resources: tuple[str, ...] = Field(min_length=1)
    protected_resources: tuple[str, ...] = Field(min_length=1)
    authentication: tuple[str, ...] = Field(min_length=1)
    registration: tuple[str, ...] = Field(min_length=1)
    account_collections: tuple[str, ...] = Field(min_length=1)
    own_account: tuple[str, ...] = Field(min_length=1)
    verification: tuple[str, ...] = Field(min_length=1)
    read_verbs: tuple[str, ...] = Field(min_length=1)
    writes: tuple[str, ...] = Field(min_length=1)
    identity_fields: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _plain_unique_words(self) -> SafetyWords:
        for name in type(self).model_fields:
            words: tuple[str, ...] = getattr(self, name)
            bad = [w for w in words if not _SAFETY_WORD.match(w)]
            if bad:
                raise ValueError(f"{name}: not lower-case words (at most two): {bad}")
            dupes = sorted({w for w in words if words.count(w) > 1})
            if dupes:
                raise ValueError(f"{name}: duplicate entries {dupes}")
        return self


class RateLimitWords(Strict):
    """``rate_limits.yaml``: where a rate limit matters and where a burst measures nothing."""

    costly_reads: tuple[str, ...] = Field(min_length=1)
    search_parameters: tuple[str, ...] = Field(min_length=1)
    not_measured: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _plain_unique_words(self) -> RateLimitWords:
        for name in type(self).model_fields:
            words: tuple[str, ...] = getattr(self, name)
            bad = [w for w in words if not re.fullmatch(r"[a-z0-9]+", w)]
            if bad:
                raise ValueError(f"{name}: not lower-case words: {bad}")
            dupes = sorted({w for w in words if words.count(w) > 1})
            if dupes:
                raise ValueError(f"{name}: duplicate entries {dupes}")
        return self


class _WordLists(Strict):
    """Lists of lower-case words (the words of property names), no word in two lists."""

    @model_validator(mode="after")
    def _plain_unique_words(self) -> _WordLists:
        seen: list[str] = []
        for name in type(self).model_fields:
            words: tuple[str, ...] = getattr(self, name)
            bad = [w for w in words if not re.fullmatch(r"[a-z0-9]+", w)]
            if bad:
                raise ValueError(f"{name}: not lower-case words: {bad}")
            seen += words
        dupes = sorted({w for w in seen if seen.count(w) > 1})
        if dupes:
            raise ValueError(f"duplicate entries {dupes}")
        return self


class ServerOwnedWords(_WordLists):
    """``server_owned.yaml``: words of properties a server sets itself (mass-assignment
    candidates): flags it grants, amounts it keeps and states it moves through."""

    granted_flags: tuple[str, ...] = Field(min_length=1)
    amounts: tuple[str, ...] = Field(min_length=1)
    states: tuple[str, ...] = Field(min_length=1)


class QuantityWords(_WordLists):
    """``quantities.yaml``: words of numeric fields a real API keeps at zero or above (counts
    and sums of money), and words of fields that may be negative by design."""

    quantities: tuple[str, ...] = Field(min_length=1)
    money: tuple[str, ...] = Field(min_length=1)
    signed: tuple[str, ...] = Field(min_length=1)


_SAFETY_WORD = re.compile(r"^[a-z0-9_]+( [a-z0-9]+)?$")


class RootCause(Strict):
    """One flaw that several findings show: ``root_causes.yaml``, read by the Filter step.

    ``keep`` + ``fold``: findings of the ``fold`` types are merged into the ``keep`` finding
    where they meet (``where``: ``operation`` the same operation, ``target`` anywhere,
    ``evidence-path`` a folded finding's request path is one of the kept one's). ``types`` with
    ``where: field``: findings of one of these types on the same field (the parameter, else the
    matched property) on several operations are one finding listing the operations; with
    ``where: parameters``: findings of one of these types on one operation through several
    parameters are one finding listing the parameters.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9-]+$")
    where: Literal["operation", "target", "evidence-path", "field", "parameters"]
    keep: str | None = None
    fold: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    why: str = Field(min_length=20)

    @model_validator(mode="after")
    def _shape(self) -> RootCause:
        if self.where in ("field", "parameters"):
            if not self.types or self.keep is not None or self.fold:
                raise ValueError(f"where: {self.where} takes `types` only")
        elif self.keep is None or not self.fold or self.types:
            raise ValueError(f"where: {self.where} takes `keep` and `fold`")
        return self
