"""The follow-ups of the SQL injection check, one function per kind of proof.

Each takes a ``Slot`` and the ``Prober`` and returns a ``SqlVerdict`` only when probes and
fresh controls differ the way an injected statement predicts, twice: the database's own syntax
error for a quote that an escaped quote does not cause; a true and a false condition that answer
like the control and unlike it; a delay the value asked the database for
(docs/checks/input_validation.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from middlebrick.checks._injection import (
    Trio,
    alike,
    answered,
    outcome,
    server_error,
    signature_hits,
    unlike,
)
from middlebrick.checks._probe import Prober, Slot, is_numeric
from middlebrick.checks._timing import Delay, Payload, delayed
from middlebrick.findings import Confidence, Severity
from middlebrick.http.exchange import Exchange

SQL = "input_validation.sql-injection"
DYNAMODB = ("input_validation.partiql-injection", "data_exposure.dynamodb-error-text")
"""DynamoDB's own messages: an answer that shows them is PartiQL's business, not this check's."""

# (true, false) conditions appended to the value, in two rounds with other literals. LIKE reads
# the same in an equality and inside a LIKE '%…%' pattern, and in every dialect.
# Inside a LIKE '%…%' pattern the value needs its own trailing % to keep matching what it did.
_STRING_PAIRS = (
    ("' AND 'mb' LIKE 'mb", "' AND 'mb' LIKE 'mc"),
    ("' AND 'mq' LIKE 'mq", "' AND 'mq' LIKE 'mr"),
)
_LIKE_PAIRS = (
    ("%' AND 'mb' LIKE 'mb", "%' AND 'mb' LIKE 'mc"),
    ("%' AND 'mq' LIKE 'mq", "%' AND 'mq' LIKE 'mr"),
)
_NUMBER_PAIRS = ((" AND 7=7", " AND 7=8"), (" AND 3>2", " AND 2>3"))


def _pg(quote: str) -> Payload:
    if quote:
        return lambda s: f"'||(SELECT ''FROM pg_sleep({s:g}))||'"
    return lambda s: f" AND 1=(SELECT 1 FROM pg_sleep({s:g}))"


def _mysql(quote: str) -> Payload:
    tail = " AND 'mb'='mb" if quote else ""
    return lambda s: f"{quote} AND (SELECT 1 FROM (SELECT SLEEP({s:g}))mb){tail}"


def _mssql(quote: str) -> Payload:
    return lambda s: f"{quote};WAITFOR DELAY '0:0:{int(s)}'--"


SLEEPS = {"postgresql": _pg, "mysql": _mysql, "mssql": _mssql}
"""Time payloads by dialect (SQLite has no sleep; Oracle's needs a privileged package). Each
asks for the delay once per statement (an uncorrelated subquery, a derived table, a stacked
statement), never once per row."""


@dataclass(frozen=True)
class SqlVerdict:
    """A SQL injection shown: how, the exchanges, the database when proven, what was seen."""

    kind: str  # "error" | "boolean" | "time" | "quote"
    evidence: list[tuple[str, Exchange]]
    detail: str
    confidence: Confidence
    dialect: str | None = None
    severity: Severity | None = None


def dialects_in(exchange: Exchange) -> list[str]:
    """The databases whose own SQL error messages the answer shows (``sql-<dialect>-…``)."""
    return list(dict.fromkeys(sig.split("-")[1] for sig in signature_hits(exchange, [SQL])))


def quoted(slot: Slot) -> bool:
    """True unless the slot holds a number: its value sits inside a quoted literal."""
    return not is_numeric(slot)


async def error_based(prober: Prober, slot: Slot) -> SqlVerdict | None:
    """``v'`` draws the database's syntax error; ``v''`` (the quote escaped) does not; twice.

    Costs three requests.
    """
    if not prober.has(3):
        return None
    trio = await prober.trio(slot, slot.value + "'", slot.value + "''")
    if trio is None:
        return None
    shown = _new_dialects(trio)
    if not shown or not answered(trio.control) or signature_hits(trio.control, [SQL]):
        return None
    again = await prober.try_value(slot, slot.value + "'", fresh=True)
    if again is None or not set(dialects_in(again)) & set(shown):
        return None
    dialect = shown[0]
    return SqlVerdict(
        "error",
        [*trio.evidence(), ("probe repeated", again)],
        f"{slot.described}={slot.value + chr(39)!r} (one quote added) answered "
        f"{outcome(trio.probe, [SQL])}, twice, while {slot.value + chr(39) * 2!r} (the quote "
        f"escaped as '') answered {outcome(trio.control)} and the baseline "
        f"{outcome(trio.baseline)}: the value ends a string literal of the SQL statement",
        Confidence.confirmed,
        dialect,
    )


async def boolean(prober: Prober, slot: Slot) -> SqlVerdict | None:
    """A true condition answers like the control and a false one unlike it, in two rounds.

    The control is the original value, sent fresh. A quoted value is tried as an equality,
    then (when the first true condition differs) as the inside of a LIKE pattern. Costs at most
    seven requests.
    """
    if not prober.has(3):
        return None
    control = await prober.try_value(slot, slot.value, fresh=True)
    if control is None or not control.ok:
        return None
    families = (_STRING_PAIRS, _LIKE_PAIRS) if quoted(slot) else (_NUMBER_PAIRS,)
    for pairs in families:
        seen = await _rounds(prober, slot, control, pairs)
        if seen is None:
            return None
        if not seen:
            continue
        first_true, first_false = seen[1][1], seen[2][1]
        return SqlVerdict(
            "boolean",
            seen,
            f"{slot.described}={slot.value + pairs[0][0]!r} (a true condition) answered "
            f"{outcome(first_true)} like the control {slot.value!r} ({outcome(control)}), "
            f"while {slot.value + pairs[0][1]!r} (a false one) answered {outcome(first_false)}; "
            "a second pair with other literals did the same: the value's condition became "
            "part of the statement's WHERE clause",
            Confidence.confirmed,
            _dialect(seen),
        )
    return None


async def _rounds(
    prober: Prober, slot: Slot, control: Exchange, pairs: tuple[tuple[str, str], ...]
) -> list[tuple[str, Exchange]] | None:
    """Every round's true and false probes when all behave; ``[]`` when the first true one
    answers unlike the control (another context may fit); ``None`` when a later one fails."""
    seen: list[tuple[str, Exchange]] = [("control", control)]
    for index, (true_tail, false_tail) in enumerate(pairs):
        if not prober.has(2):
            return None
        true = await prober.try_value(slot, slot.value + true_tail, fresh=True)
        if true is None or not alike(true, control):
            return [] if index == 0 else None
        false = await prober.try_value(slot, slot.value + false_tail, fresh=True)
        if false is None or not unlike(false, control) or not answered(false):
            return None
        seen += [(f"true: {true_tail.strip()}", true), (f"false: {false_tail.strip()}", false)]
    return seen


async def quote_break(prober: Prober, slot: Slot) -> SqlVerdict | None:
    """``v'`` ends in a 5xx that ``v''`` does not, twice, with no database named.

    For errors an API hides behind a generic 500. Costs three requests; high, not critical:
    the database is not identified and nothing was read.
    """
    if not prober.has(3) or server_error(slot.baseline):
        return None
    trio = await prober.trio(slot, slot.value + "'", slot.value + "''")
    if trio is None or not server_error(trio.probe) or not answered(trio.control):
        return None
    if signature_hits(trio.probe, DYNAMODB):
        return None
    again = await prober.try_value(slot, slot.value + "'", fresh=True)
    if again is None or not server_error(again):
        return None
    return SqlVerdict(
        "quote",
        [*trio.evidence(), ("probe repeated", again)],
        f"{slot.described}={slot.value + chr(39)!r} (one quote added) answered "
        f"{outcome(trio.probe)}, twice, while {slot.value + chr(39) * 2!r} (the quote escaped "
        f"as '') answered {outcome(trio.control)}: the value is spliced into a quoted literal; "
        "the answer names no database",
        Confidence.firm,
        severity=Severity.high,
    )


async def time_based(prober: Prober, slot: Slot, dialects: list[str]) -> SqlVerdict | None:
    """A sleep of the database that the answer shows, absent without it, and shown again.

    Costs one request per dialect, and three more to confirm a delay.
    """
    quote = "'" if quoted(slot) or slot.where in ("header", "headers", "cookie") else ""
    payloads = [(d, _prefixed(slot.value, SLEEPS[d](quote))) for d in dialects if d in SLEEPS]
    delay = await delayed(prober, slot, payloads)
    if delay is None:
        return None
    return _timed(slot, delay)


def _timed(slot: Slot, delay: Delay) -> SqlVerdict:
    return SqlVerdict(
        "time",
        delay.evidence(),
        f"{delay.said(slot)}: the database ran the delay the value asked for, so the value is "
        "part of the SQL statement",
        Confidence.confirmed,
        delay.label,
    )


def _prefixed(value: str, payload: Payload) -> Payload:
    return lambda s: value + payload(s)


def _new_dialects(trio: Trio) -> list[str]:
    before = set(dialects_in(trio.baseline))
    return [d for d in dialects_in(trio.probe) if d not in before]


def _dialect(seen: list[tuple[str, Exchange]]) -> str | None:
    for _, exchange in seen:
        found = dialects_in(exchange)
        if found:
            return found[0]
    return None
