"""Legacy DynamoDB conditions passed in from client JSON: the operator-injection follow-up."""

from __future__ import annotations

import json
from typing import Any, Literal

from middlebrick.checks._injection import Trio, outcome
from middlebrick.checks._probe import Prober, Slot
from middlebrick.checks.input_validation._dynamodb_probes import OPERATOR, Verdict
from middlebrick.findings import Confidence

_NO_SUCH_VALUE = "mbzq-no-such-value"
_NO_SUCH_NUMBER = -918273645

Values = list[str] | Literal["drop", "keep"]
"""A probe's AttributeValueList: new values, none at all, or each condition's own."""

_PROBES: tuple[tuple[str, Values], ...] = (("NOT_NULL", "drop"), ("GE", [" "]), ("NE", "keep"))


async def operator(pool: Prober, target: Slot) -> Verdict | None:
    """Legacy conditions from client JSON: ``NOT_NULL``, ``GE " "`` or ``NE`` instead of ``EQ``.

    The next operator is tried only when the previous one was refused. Costs at most four
    requests.
    """
    try:
        document = json.loads(target.value)
    except ValueError:
        return None
    if not _conditions(document) or not pool.has(2):
        return None
    control = await pool.try_value(target, _dump(_rewrite(document, None)))
    if control is None:
        return None
    for op, values in _PROBES:
        value = _dump(_rewrite(document, (op, values)))
        probe = await pool.try_value(target, value)
        if probe is None:
            return None
        trio = Trio(target.baseline, probe, control)
        if trio.more_records():
            return Verdict(
                OPERATOR,
                trio,
                f"{target.name}={value!r} (ComparisonOperator {op}) answered {outcome(probe)} "
                f"where the baseline answered {outcome(target.baseline)} and the control (the "
                f"same operators with values that match nothing) answered {outcome(control)}: "
                "the client's condition, operator included, reaches DynamoDB",
                Confidence.confirmed,
            )
        if probe.ok:
            return None
    return None


def _conditions(document: Any) -> list[dict[str, Any]]:
    """The legacy condition maps (``{"ComparisonOperator": …}``) inside a JSON document."""
    found: list[dict[str, Any]] = []
    if isinstance(document, dict):
        if isinstance(document.get("ComparisonOperator"), str):
            found.append(document)
        for value in document.values():
            found += _conditions(value)
    elif isinstance(document, list):
        for value in document:
            found += _conditions(value)
    return found


def _rewrite(document: Any, operator: tuple[str, Values] | None) -> Any:
    """A copy with every condition's operator (and values) replaced.

    ``None`` keeps the operators and replaces the values with ones that match nothing.
    """
    if isinstance(document, list):
        return [_rewrite(value, operator) for value in document]
    if not isinstance(document, dict):
        return document
    copy = {key: _rewrite(value, operator) for key, value in document.items()}
    if not isinstance(document.get("ComparisonOperator"), str):
        return copy
    if operator is None:
        values = document.get("AttributeValueList")
        if isinstance(values, list):
            copy["AttributeValueList"] = [_nothing(v) for v in values]
        return copy
    name, new_values = operator
    copy["ComparisonOperator"] = name
    if new_values == "drop":
        copy.pop("AttributeValueList", None)
    elif new_values != "keep":
        copy["AttributeValueList"] = new_values
    return copy


def _nothing(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return _NO_SUCH_NUMBER
    return _NO_SUCH_VALUE


def _dump(document: Any) -> str:
    return json.dumps(document, separators=(", ", ": "))
