"""Pydantic models for every knowledge file; data is validated once, at load."""

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


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Category(_Strict):
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


class Remediation(_Strict):
    """How to fix a finding type, generically and per framework where the fix differs."""

    generic: str
    flask: str | None = None
    django: str | None = None
    fastapi: str | None = None
    express: str | None = None
    spring: str | None = None
    rails: str | None = None
    aspnet: str | None = None

    def for_framework(self, framework: str | None) -> str:
        """The framework's own advice when there is one, else the generic text."""
        specific = getattr(self, framework, None) if framework else None
        return specific or self.generic


class FindingType(_Strict):
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


class SignatureExamples(_Strict):
    match: tuple[str, ...] = Field(min_length=1)
    no_match: tuple[str, ...] = ()


class Signature(_Strict):
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


class FrameworkRule(_Strict):
    """A pattern in a response that reveals the framework behind the API."""

    id: Literal["flask", "django", "fastapi", "express", "spring", "rails", "aspnet"]
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
