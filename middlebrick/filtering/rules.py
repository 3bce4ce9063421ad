"""Evidence rules: small functions over (finding, facts) that keep, demote or drop a finding.

A rule registers with ``@evidence_rule(applies_to=...)`` (``fnmatch`` patterns of type ids);
rules run in registration order, each over every finding the earlier ones left, and each sees
those findings in ``facts.findings``. A verdict's reason is appended to the finding's detail, so
the report says which evidence decided it; a dropped finding's reason becomes a report note.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Literal

from middlebrick.filtering.facts import ScanFacts
from middlebrick.findings import Confidence, Finding, Severity, fingerprint
from middlebrick.knowledge import catalogue

__all__ = [
    "Rule",
    "RuleSpec",
    "Verdict",
    "apply_rules",
    "evidence_rule",
    "registered",
    "retyped_ids",
]

Action = Literal["keep", "demote", "retype", "drop"]


@dataclass(frozen=True)
class Verdict:
    """What a rule decided and why (one clause naming the evidence)."""

    action: Action
    reason: str
    severity: Severity | None = None
    confidence: Confidence | None = None
    type_id: str | None = None

    @classmethod
    def keep(cls, reason: str) -> Verdict:
        """Keep the finding as it is, recording the evidence that upholds it."""
        return cls("keep", reason)

    @classmethod
    def demote(
        cls, reason: str, *, severity: Severity | None = None, confidence: Confidence | None = None
    ) -> Verdict:
        """Lower the finding's severity and/or confidence (never raise them)."""
        return cls("demote", reason, severity, confidence)

    @classmethod
    def retype(cls, reason: str, type_id: str, *, severity: Severity) -> Verdict:
        """Report the finding as another catalogue type (what the evidence shows it to be),
        at ``severity`` or lower; its words and mappings become that type's."""
        return cls("retype", reason, severity, None, type_id)

    @classmethod
    def drop(cls, reason: str) -> Verdict:
        """Remove the finding from the report; the reason becomes a note."""
        return cls("drop", reason)


Rule = Callable[[Finding, ScanFacts], Verdict | None]
"""A rule returns ``None`` when it has nothing to say about the finding."""


@dataclass(frozen=True)
class RuleSpec:
    """One registered rule: its name (the function's, dashed), the types it reads, the code."""

    name: str
    applies_to: tuple[str, ...]
    func: Rule

    def applies(self, type_id: str) -> bool:
        """True when the rule reads findings of this type."""
        return any(fnmatchcase(type_id, pattern) for pattern in self.applies_to)


_RULES: dict[str, RuleSpec] = {}


_RETYPED: set[str] = set()


def evidence_rule(
    *, applies_to: Iterable[str], retypes_to: Iterable[str] = ()
) -> Callable[[Rule], Rule]:
    """Register a rule of the Filter step; a second rule of the same name fails at import.

    ``retypes_to``: the catalogue types the rule may report a finding as (``Verdict.retype``).
    """

    def register(func: Rule) -> Rule:
        _RETYPED.update(retypes_to)
        name = func.__name__.strip("_").replace("_", "-")
        if name in _RULES:
            raise RuntimeError(f"evidence rule {name!r} is registered twice")
        _RULES[name] = RuleSpec(name, tuple(applies_to), func)
        return func

    return register


def registered() -> tuple[RuleSpec, ...]:
    """Every registered rule, in the order the Filter runs them."""
    return tuple(_RULES.values())


def retyped_ids() -> frozenset[str]:
    """The catalogue types the Filter itself may emit, by re-typing a check's finding."""
    return frozenset(_RETYPED)


def apply_rules(
    findings: Iterable[Finding], facts: ScanFacts, rules: Iterable[RuleSpec]
) -> tuple[list[Finding], list[str]]:
    """Run each rule over the findings; the findings left and a sentence per dropped one."""
    current = list(findings)
    dropped: list[str] = []
    for rule in rules:
        seen = replace(facts, findings=tuple(current))
        kept: list[Finding] = []
        for finding in current:
            verdict = rule.func(finding, seen) if rule.applies(finding.type_id) else None
            if verdict is None:
                kept.append(finding)
            elif verdict.action == "drop":
                dropped.append(f"{finding.type_id} on {finding.operation}: {verdict.reason}")
            else:
                kept.append(_decided(finding, rule.name, verdict))
        current = kept
    return current, dropped


def _decided(finding: Finding, rule: str, verdict: Verdict) -> Finding:
    update: dict[str, object] = {}
    detail = f"{finding.detail} [{rule}: {verdict.reason}]"
    if verdict.type_id is not None and verdict.type_id != finding.type_id:
        update.update(_as_type(finding, verdict.type_id))
        detail = f"{detail} [reported as {verdict.type_id}, not {finding.type_id}]"
    update["detail"] = detail
    if verdict.severity is not None and verdict.severity.rank < finding.severity.rank:
        update["severity"] = verdict.severity
    if verdict.confidence is not None and verdict.confidence.rank < finding.confidence.rank:
        update["confidence"] = verdict.confidence
    return finding.model_copy(update=update)


def _as_type(finding: Finding, type_id: str) -> dict[str, object]:
    """The fields that make ``finding`` one of catalogue type ``type_id``: its title, mappings,
    generic remediation and fingerprint."""
    entry = catalogue()[type_id]
    return {
        "type_id": type_id,
        "category": entry.category,
        "title": entry.title,
        "fingerprint": fingerprint(type_id, finding.operation, finding.parameter),
        "cwe": entry.cwe,
        "owasp_api_2023": entry.owasp_api_2023,
        "pci_dss": entry.pci_dss,
        "soc2": entry.soc2,
        "remediation": entry.remediation.generic,
    }
