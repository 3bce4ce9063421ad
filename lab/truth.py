"""The lab's ground truth (``lab/ground_truth.yaml``), validated at load, and how findings match it.

``load()`` reads the file (optionally only some services). ``Expected.applies`` says whether a
scan of a given mode, with or without the spec, can show an entry; ``Expected.matched_by``
says whether a finding (type id, operation key and severity) is that entry: the same id and
operation, at or above the severity the entry declares (``low`` unless it says otherwise), so an
``info`` finding never finds an entry. ``Extra`` lists true findings a vulnerable variant shows
besides its flaws (the reason each is true): any other finding above ``info`` there is a false
positive. ``Observation`` lists what a vulnerable variant shows by design at ``info`` only (not
a flaw a security engineer would sign above ``info``, the reason each): the gate checks it is
still reported, but it counts in neither recall nor precision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

LAB_DIR = Path(__file__).resolve().parent
TRUTH_FILE = LAB_DIR / "ground_truth.yaml"
_ID = re.compile(r"^[a-z_]+\.[a-z0-9]+(-[a-z0-9]+)*$")
_OPERATION = re.compile(r"^(\*|(GET|HEAD|OPTIONS|POST|PUT|PATCH|DELETE|TRACE) /\S*)$")

Need = Literal["two-identities", "spec", "no-spec", "include"]
Level = Literal["critical", "high", "medium", "low"]
_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


class _Entry(BaseModel):
    """What an entry of a vulnerable variant names: a finding id on an operation, when a scan
    can show it, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    finding: str
    operation: str
    parameter: str | None = None
    mode: Literal["safe", "active"]
    needs: tuple[Need, ...] = ()
    why: str = Field(min_length=1)

    @field_validator("finding")
    @classmethod
    def _finding_is_an_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not a finding id like 'bola.unsigned-cursor'")
        return value

    @field_validator("operation")
    @classmethod
    def _operation_is_a_key(cls, value: str) -> str:
        if not _OPERATION.match(value):
            raise ValueError(f"{value!r} is not an operation key like 'GET /items/{{id}}' or '*'")
        return value

    @property
    def category(self) -> str:
        """The category id (the part of the finding id before the dot)."""
        return self.finding.split(".", 1)[0]

    def applies(self, *, mode: str, spec: bool, identities: int, included: bool = False) -> bool:
        """Whether a scan in ``mode``, with or without the spec, with that many users (and
        ``--include`` naming the operation, or not) shows it."""
        if self.mode == "active" and mode != "active":
            return False
        if "include" in self.needs and not included:
            return False
        if "spec" in self.needs and not spec:
            return False
        if "no-spec" in self.needs and spec:
            return False
        return not ("two-identities" in self.needs and identities < 2)

    def _names(self, type_id: str, operation: str) -> bool:
        if type_id != self.finding:
            return False
        return "*" in (self.operation, operation) or operation == self.operation


class Expected(_Entry):
    """One flaw on one operation of a vulnerable variant."""

    severity: Level = "low"  # the least severity a finding must have to find this entry

    def matched_by(self, type_id: str, operation: str, severity: str = "low") -> bool:
        """Same id, the same operation (``"*"`` on either side matches any operation), and a
        severity at or above the entry's (never ``info``)."""
        if _RANK[severity] < max(1, _RANK[self.severity]):
            return False
        return self._names(type_id, operation)


class Observation(_Entry):
    """What a vulnerable variant shows by design at ``info`` only: on a real API it is not a
    flaw a security engineer would sign above ``info`` (``why`` says why). The gate checks a
    scan that can show it still reports it; it counts in neither recall nor precision, and a
    finding of it above ``info`` is a false positive."""

    def matched_by(self, type_id: str, operation: str, severity: str = "info") -> bool:
        """Same id and operation (``"*"`` on either side matches any operation), any severity."""
        del severity  # reported at all is what is checked; above info counts as unexplained
        return self._names(type_id, operation)


class Extra(BaseModel):
    """A true finding of a vulnerable variant that is not one of its planted flaws."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    finding: str
    operation: str
    why: str = Field(min_length=10)

    def matched_by(self, type_id: str, operation: str) -> bool:
        """Same id and operation (``"*"`` on either side matches any operation)."""
        if type_id != self.finding:
            return False
        return "*" in (self.operation, operation) or operation == self.operation


class ServiceTruth(BaseModel):
    """What one service's vulnerable variant carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    framework: str
    expected: tuple[Expected, ...]
    observations: tuple[Observation, ...] = ()
    extras: tuple[Extra, ...] = ()


class GroundTruth(BaseModel):
    """The whole ground truth: services by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    services: dict[str, ServiceTruth]

    def entries(self, service: str) -> tuple[Expected, ...]:
        """The expected findings of ``service`` (none for a service the file does not name)."""
        found = self.services.get(service)
        return found.expected if found is not None else ()

    def observations(self, service: str) -> tuple[Observation, ...]:
        """What ``service``'s vulnerable variant shows by design at ``info`` only."""
        found = self.services.get(service)
        return found.observations if found is not None else ()

    def extras(self, service: str) -> tuple[Extra, ...]:
        """The true extra findings of ``service``'s vulnerable variant."""
        found = self.services.get(service)
        return found.extras if found is not None else ()


def _read(path: Path) -> GroundTruth:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        truth = GroundTruth.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    for name, service in truth.services.items():
        keys = [(e.finding, e.operation, e.parameter) for e in service.expected]
        dupes = sorted({k for k in keys if keys.count(k) > 1}, key=str)
        if dupes:
            raise ValueError(f"{path}: service {name} lists {dupes} more than once")
        seen = [(o.finding, o.operation) for o in service.observations]
        twice = sorted({k for k in seen if seen.count(k) > 1})
        both = sorted({(e.finding, e.operation) for e in service.expected} & set(seen))
        if twice or both:
            raise ValueError(
                f"{path}: service {name} observes {twice + both} twice or also expects it"
            )
    return truth


def load(path: Path = TRUTH_FILE, *, services: Iterable[str] | None = None) -> GroundTruth:
    """Read and validate the ground truth, optionally only the named services."""
    truth = _read(path)
    if services is None:
        return truth
    wanted = set(services)
    chosen = {name: svc for name, svc in truth.services.items() if name in wanted}
    return GroundTruth(version=truth.version, services=chosen)
