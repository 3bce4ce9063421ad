"""Coverage: how much of the surface gave a usable answer, and whether that is enough for a grade.

A scan that reached too little (no operation found, discovery stopped, every answer a 404, a
5xx or garbage, a request budget spent before the baseline) has no score and no grade: its
report says "incomplete", what was not tested and why. The thresholds are documented, with the
measurements they come from, in ``docs/scoring.md`` (section 9); change both together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field

from middlebrick.http.exchange import Exchange

__all__ = ["MIN_RATIO", "MIN_USABLE", "Coverage", "measure", "why_unusable"]

MIN_USABLE = 2
"""Fewest operations with a usable answer a graded scan needs: one endpoint is not an API."""

MIN_RATIO = Fraction(1, 2)
"""Smallest share of the requested operations that must answer usably for a grade."""

_EXAMPLES = 3  # operations named in the reason for no grade
_LISTED = 20  # operations listed in ``untested``; ``unusable`` counts them all


class Coverage(BaseModel):
    """Operations that gave a usable answer out of those on the surface, and what that allows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    operations: int = Field(ge=0)  # on the surface, after the safety policy
    requested: int = Field(ge=0)  # of them, readable ones the baseline was to request
    usable: int = Field(ge=0)  # of those, answered with something a check can judge
    unusable: dict[str, int] = Field(default_factory=dict)  # why the others were not: count
    untested: list[str] = Field(default_factory=list)  # "GET /a/{id}: answered 404", first 20
    incomplete: list[str] = Field(default_factory=list)  # why there is no grade; [] = graded

    @property
    def graded(self) -> bool:
        """Whether the scan reached enough of the API for a score and a grade."""
        return not self.incomplete

    @property
    def ratio(self) -> float | None:
        """Usable answers out of the operations to request (None when there were none)."""
        return self.usable / self.requested if self.requested else None

    def sentence(self) -> str:
        """``12 of 14 operations gave a usable answer (86 %)``, and why the others did not."""
        if not self.requested:
            return f"no operation to request among the {_operations(self.operations)} found"
        share = f"{self.usable / self.requested:.0%}".replace("%", " %")
        text = f"{self.usable} of {_operations(self.requested)} gave a usable answer ({share})"
        if self.unusable:
            text += ": " + ", ".join(f"{n} {why}" for why, n in _worst_first(self.unusable))
        return text


def why_unusable(exchange: Exchange | None) -> str | None:
    """Why an operation's baseline answer is of no use to the checks, or None when it is usable.

    Usable: an answer the API itself gave about the operation (2xx, 3xx, 401, 403 and the other
    4xx of validation). Not usable: no answer, 404/405/410/501 (nothing there, or the path's
    parameters were never filled), 429 (the scan was throttled), 5xx, a body cut at the size
    cap, or a body that says it is JSON and does not parse.
    """
    if exchange is None:
        return "not requested"
    response = exchange.response
    if response is None:
        return "no answer"
    status = response.status
    if status in (404, 410):
        return "answered 404"
    if status in (405, 501):
        return "answered 405"
    if status == 429:
        return "answered 429"
    if status >= 500:
        return "answered 5xx"
    if response.truncated:
        return "cut at the size cap"
    says_json = _says_json(response.content_type)
    if 200 <= status < 300 and response.body and says_json and response.json is None:
        return "unparseable"
    return None


def measure(
    operations: int,
    readable: Iterable[str],
    exchanges: Mapping[str, Exchange],
    *,
    stopped: Iterable[str] = (),
) -> Coverage:
    """The coverage of a scan.

    ``operations`` counts the surface; ``readable`` are the keys of the operations the baseline
    was to request and ``exchanges`` its answers by key; ``stopped`` holds sentences on steps
    that stopped early (discovery, the baseline), each of which makes the scan incomplete.
    """
    keys = list(readable)
    failed = [(key, why) for key in keys if (why := why_unusable(exchanges.get(key)))]
    reasons = Counter(why for _, why in failed)
    usable = len(keys) - sum(reasons.values())
    incomplete = list(stopped)
    if operations == 0:
        incomplete.append("no operation was found to test")
    elif not keys:
        incomplete.append(
            f"none of the {operations} operations found can be requested in this mode "
            "(writes need --active)"
        )
    elif usable < MIN_USABLE or Fraction(usable, len(keys)) < MIN_RATIO:
        share = f"{usable / len(keys):.0%}".replace("%", " %")
        why = ", ".join(f"{n} {reason}" for reason, n in _worst_first(reasons))
        examples = ", ".join(key for key, _ in failed[:_EXAMPLES])
        more = " …" if len(failed) > _EXAMPLES else ""
        incomplete.append(
            f"only {usable} of {_operations(len(keys))} gave a usable answer ({share}"
            + (f"; {why}: {examples}{more})" if why else ")")
            + f"; a grade needs {MIN_USABLE} and {float(MIN_RATIO):.0%}".replace("%", " %")
        )
    return Coverage(
        operations=operations,
        requested=len(keys),
        usable=usable,
        unusable=dict(_worst_first(reasons)),
        untested=[f"{key}: {why}" for key, why in failed[:_LISTED]],
        incomplete=incomplete,
    )


def _operations(count: int) -> str:
    return f"{count} operation" if count == 1 else f"{count} operations"


def _says_json(content_type: str) -> bool:
    return content_type.endswith("json")  # application/json, application/problem+json …


def _worst_first(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
