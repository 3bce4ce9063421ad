"""The follow-up probes of the DynamoDB injection family, one function per kind of flaw.

Each takes a ``Slot`` (a parameter with its baseline exchange) and the ``Prober`` that sends
within the requests the check may still spend, and returns a ``Verdict`` only when a probe and
its control differ the way the flaw predicts (see ``docs/checks/input_validation.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from middlebrick.checks._injection import (
    Trio,
    answered,
    outcome,
    records,
    server_error,
    signature_hits,
)
from middlebrick.checks._probe import BREAKER, Prober, Slot
from middlebrick.findings import Confidence
from middlebrick.http.exchange import Exchange
from middlebrick.spec.model import Operation

OPERATOR = "input_validation.dynamodb-operator-injection"
EXPRESSION = "input_validation.dynamodb-expression-injection"
PARTIQL = "input_validation.partiql-injection"
TABLE = "input_validation.table-name-injection"

_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,3}"
NAMES = re.compile(rf"{_NAME}(?:\s*,\s*{_NAME}){{0,15}}")
"""An attribute name or a comma-separated list of them: what an API may splice as names."""

RESERVED_WORD = "timestamp"
"""A DynamoDB reserved word: spliced as a name, it fails with "reserved keyword"."""

OTHER_TABLES = 5
"""Other table names tried once the missing one was told apart."""

MISSING_TABLE = "mbzq_no_such_table"
"""A table name that satisfies DynamoDB's naming rules and exists nowhere."""

TABLE_NAME = re.compile(r"(?i)table|collection|dataset|index_?name|^index$")
"""Parameter names that say they choose a table or an index."""

_FAMILIES = {EXPRESSION: "expression", PARTIQL: "partiql", TABLE: "table"}
_DEFAULT_TABLES = ("users", "accounts", "sessions")
_NOT_TABLES = frozenset({"api", "rest", "search", "health", "docs", "openapi.json", "swagger"})
_WORD = re.compile(r"[a-z][a-z0-9_-]{2,40}")
_VERSION = re.compile(r"v\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Verdict:
    """A confirmed injection: which flaw, the three exchanges, and what differed."""

    type_id: str
    trio: Trio
    detail: str
    confidence: Confidence


async def breaker_families(pool: Prober, target: Slot) -> list[str]:
    """Send the breaker ``'")(`` and say which follow-ups its answer calls for.

    ``table`` when the name says table or index, then the kinds whose DynamoDB messages the
    answer shows (and the baseline does not); after a bare 5xx, ``expression`` for a value
    shaped like attribute names (its tautology needs DynamoDB's ``attribute_exists``). PartiQL
    needs DynamoDB's own message: a quote that breaks a statement without it may be any SQL
    database's, which the SQL injection check names. The breaker is charged to the caller, not to
    the pool: it is the check's per-operation probe.
    """
    families = ["table"] if TABLE_NAME.search(target.name.rsplit(".", 1)[-1]) else []
    request = target.set(BREAKER)
    if request is None:
        return families
    breaker = await pool.send(request, charge=False)
    before = set(signature_hits(target.baseline, _FAMILIES))
    shown = [
        family
        for type_id, family in _FAMILIES.items()
        if set(signature_hits(breaker, [type_id])) - before
    ]
    families += [family for family in shown if family not in families]
    if not shown and server_error(breaker) and not server_error(target.baseline):
        families += ["expression"] if NAMES.fullmatch(target.value) else []
    return families


async def follow_up(
    pool: Prober, target: Slot, families: list[str], candidates: list[str]
) -> Verdict | None:
    """Run the follow-ups of ``families`` in order; the first verdict wins."""
    for family in families:
        if family == "expression":
            verdict = await expression(pool, target)
        elif family == "partiql":
            verdict = await partiql(pool, target)
        else:
            verdict = await table_name(pool, target, candidates)
        if verdict is not None:
            return verdict
    return None


async def expression(pool: Prober, target: Slot) -> Verdict | None:
    """Names spliced into a DynamoDB expression: a syntax break, a reserved word, a tautology.

    Costs at most five requests.
    """
    if not NAMES.fullmatch(target.value) or not pool.has(2):
        return None
    first = target.value.split(",")[0].strip()
    control_value = target.value + "_mbzq"
    control = await pool.try_value(target, control_value)
    if control is None or not answered(control):
        return None
    syntax: tuple[str, Trio] | None = None
    for value in (target.value + ")", RESERVED_WORD):
        probe = await pool.try_value(target, value)
        if probe is None:
            break
        trio = Trio(target.baseline, probe, control)
        if trio.only_probe_hits([EXPRESSION]):
            syntax = value, trio
            break
    said = ""
    if syntax is not None:
        said = f"{target.name}={syntax[0]!r} answered {outcome(syntax[1].probe, [EXPRESSION])}"
    tautology = await _tautology(
        pool,
        target,
        f"attribute_exists({first}) OR {target.value}",
        f"attribute_exists({first}) AND {target.value}",
    )
    if isinstance(tautology, _Tautology):
        return Verdict(
            EXPRESSION,
            tautology.trio,
            _more_records_detail(target, tautology, said)
            + ": the value is part of the DynamoDB expression, not a bound name",
            Confidence.confirmed,
        )
    if syntax is None:
        return None
    return Verdict(
        EXPRESSION,
        syntax[1],
        f"{said} where the baseline {target.name}={target.value!r} answered "
        f"{outcome(syntax[1].baseline)} and the control {target.name}={control_value!r} "
        f"(an unknown but well-formed name) answered {outcome(control)}: DynamoDB parsed the "
        "value as part of an expression",
        Confidence.firm,
    )


async def partiql(pool: Prober, target: Slot) -> Verdict | None:
    """A value formatted into a PartiQL statement: a lone quote breaks it, a tautology widens it.

    The tautology is ``v' OR 'mb'<>'mc``; when that is refused, ``v' OR <name> IS NOT MISSING
    OR 'mb'='mc`` with the parameter's own name as the attribute. Costs at most six requests.
    """
    if not pool.has(2):
        return None
    value = target.value
    tautology = await _tautology(pool, target, value + "' OR 'mb'<>'mc", value + "' AND 'mb'<>'mc")
    attribute = target.name.rsplit(".", 1)[-1]
    if tautology is True and NAMES.fullmatch(attribute):  # "<>" refused: try IS NOT MISSING
        tautology = await _tautology(
            pool,
            target,
            f"{value}' OR {attribute} IS NOT MISSING OR 'mb'='mc",
            f"{value}' AND {attribute} IS NOT MISSING AND 'mb'='mb",
        )
    if isinstance(tautology, _Tautology):
        return Verdict(
            PARTIQL,
            tautology.trio,
            _more_records_detail(target, tautology)
            + ": the quote ended the statement's string literal and the rest of the value "
            "became part of the WHERE clause",
            Confidence.confirmed,
        )
    probe = await pool.try_value(target, target.value + "'")
    control = await pool.try_value(target, target.value + "''")
    if probe is None or control is None or not answered(control) or server_error(target.baseline):
        return None
    trio = Trio(target.baseline, probe, control)
    if trio.only_probe_hits([PARTIQL]):
        confidence = Confidence.firm
    elif server_error(probe) and not server_error(control):
        confidence = Confidence.tentative
    else:
        return None
    return Verdict(
        PARTIQL,
        trio,
        f"{target.name}={target.value + chr(39)!r} (one quote added) answered "
        f"{outcome(probe, [PARTIQL])} while {target.name}={target.value + chr(39) * 2!r} (the "
        f"quote escaped as '') answered {outcome(control)} and the baseline "
        f"{outcome(target.baseline)}: the value is formatted into a statement's string literal",
        confidence,
    )


async def table_name(pool: Prober, target: Slot, candidates: Iterable[str]) -> Verdict | None:
    """A table (or index) named by the request: a missing name and an existing one differ.

    The missing name must draw DynamoDB's own answer (ResourceNotFoundException, a table-name
    constraint, a missing index); a bare error could be any router's.

    Costs at most six requests: the missing name, then up to five other table names.
    """
    if not pool.has(2) or not answered(target.baseline):
        return None
    control = await pool.try_value(target, MISSING_TABLE)
    if control is None:
        return None
    missing = set(signature_hits(control, [TABLE])) - set(signature_hits(target.baseline, [TABLE]))
    if not missing:
        return None
    for name in [c for c in candidates if c != target.value][:OTHER_TABLES]:
        probe = await pool.try_value(target, name)
        if probe is None:
            break
        if not answered(probe) or _same_answer(probe, control) or signature_hits(probe, [TABLE]):
            continue
        return Verdict(
            TABLE,
            Trio(target.baseline, probe, control),
            f"{target.name}={name!r} (another table's name) answered {outcome(probe)} like a "
            f"table that exists, while {target.name}={MISSING_TABLE!r} (no such table) answered "
            f"{outcome(control, [TABLE])} and the baseline {target.name}={target.value!r} "
            f"answered {outcome(target.baseline)}: the request chooses the DynamoDB table",
            Confidence.firm,
        )
    return None


def table_candidates(operations: Iterable[Operation]) -> list[str]:
    """Names of other tables worth trying: the words of the API's paths, then usual names.

    The most frequent first (``/api/users/search`` and ``/v2/users/{id}`` make ``users``
    first); among equals, usual table names (users, accounts, sessions), then plurals.
    """
    counts: dict[str, int] = {}
    for operation in operations:
        for segment in operation.path.lower().split("/"):
            word = _WORD.fullmatch(segment) and not _VERSION.fullmatch(segment)
            if word and segment not in _NOT_TABLES:
                counts[segment] = counts.get(segment, 0) + 1
    ranked = sorted(
        counts, key=lambda w: (-counts[w], w not in _DEFAULT_TABLES, not w.endswith("s"), w)
    )
    return list(dict.fromkeys([*ranked, *_DEFAULT_TABLES]))


async def _tautology(
    pool: Prober, target: Slot, probe_value: str, control_value: str
) -> _Tautology | bool:
    """Probe and control that differ by OR / AND; the probe must return more records.

    ``True`` when the probe was refused (not a 2xx list), ``False`` when nothing differed.
    """
    if not target.baseline.ok or records(target.baseline.response) is None or not pool.has(2):
        return False
    probe = await pool.try_value(target, probe_value)
    if probe is None:
        return False
    if not probe.ok or records(probe.response) is None:
        return True
    control = await pool.try_value(target, control_value)
    if control is None:
        return False
    trio = Trio(target.baseline, probe, control)
    return _Tautology(probe_value, control_value, trio) if trio.more_records() else False


@dataclass(frozen=True)
class _Tautology:
    probe_value: str
    control_value: str
    trio: Trio


def _more_records_detail(target: Slot, found: _Tautology, also: str = "") -> str:
    trio = found.trio
    text = (
        f"{target.name}={found.probe_value!r} answered {outcome(trio.probe)} where the baseline "
        f"{target.name}={target.value!r} answered {outcome(trio.baseline)} and the control "
        f"{target.name}={found.control_value!r} (AND instead of OR) answered "
        f"{outcome(trio.control)}"
    )
    return f"{text}; {also}" if also else text


def _same_answer(a: Exchange, b: Exchange) -> bool:
    if a.response is None or b.response is None:
        return False
    return a.response.status == b.response.status and a.response.body == b.response.body
