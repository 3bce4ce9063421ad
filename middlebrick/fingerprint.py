"""Recognise the framework behind a target from responses it already sent (no extra requests)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from middlebrick.http.exchange import Response
from middlebrick.knowledge import framework_rules
from middlebrick.knowledge.models import STORES


@cache
def _compiled() -> list[tuple[str, str, re.Pattern[str]]]:
    return [(rule.id, rule.part, re.compile(rule.regex)) for rule in framework_rules()]


def detect_framework(responses: Iterable[Response]) -> str | None:
    """The framework id of the first rule matching any response, or ``None``."""
    return _first(responses, kind_is_store=False)


def detect_store(responses: Iterable[Response]) -> str | None:
    """The data store the responses prove (``"dynamodb"``), or ``None``: stack-specific
    advice follows only what the evidence shows."""
    return _first(responses, kind_is_store=True)


def _first(responses: Iterable[Response], *, kind_is_store: bool) -> str | None:
    responses = list(responses)
    for found, part, pattern in _compiled():
        if (found in STORES) != kind_is_store:
            continue
        for response in responses:
            if _matches(response, part, pattern):
                return found
    return None


def _matches(response: Response, part: str, pattern: re.Pattern[str]) -> bool:
    if part == "body":
        return bool(pattern.search(response.text[:65536]))
    if part == "cookie":
        return any(pattern.search(value) for value in response.headers.get_all("set-cookie"))
    value = response.headers.get(part.removeprefix("header:"))
    return value is not None and bool(pattern.search(value))
