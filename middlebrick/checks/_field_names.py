"""The words of a field name: ``orderId``, ``order-id`` and ``order_id`` say {order, id}.

Checks judge a field by what its name says (``key_tokens``, ``key_words``), and whether it
names a phrase as whole words (``names``: ``social_security_number`` names ``socialsecurity``,
``mac_address__n`` names no ``ssn``).
"""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["key_tokens", "key_words", "names"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


def key_tokens(key: str | None) -> set[str]:
    """The words of a field name: ``orderId`` / ``order-id`` / ``order_id`` -> {order, id}."""
    if not key:
        return set()
    return {t for t in _SPLIT.split(_CAMEL.sub("_", key).lower()) if t}


def key_words(key: str | None) -> list[str]:
    """The words of a field name in order: ``macAddress__n`` -> [mac, address, n]."""
    if not key:
        return []
    return [t for t in _SPLIT.split(_CAMEL.sub("_", key).lower()) if t]


_SUFFIX_MIN = 5  # a one-word name ends with a phrase this long at least: `clientsecret`


def names(key: str | None, phrases: Collection[str]) -> bool:
    """Whether a field name says one of ``phrases``, as whole words of the name.

    A phrase is the words run together (``apikey``, ``socialsecurity``), matched against every
    run of consecutive words: ``social_security_number`` and ``creditCardNumber`` name
    ``socialsecurity`` and ``cardnumber``, while ``mac_address__n`` names no ``ssn`` although
    its letters hold it. A name of one word (``clientsecret``) may also end with a phrase of
    five letters or more.
    """
    words = key_words(key)
    longest = max((len(p) for p in phrases), default=0)
    for start in range(len(words)):
        run = ""
        for word in words[start:]:
            run += word
            if len(run) > longest:
                break
            if run in phrases:
                return True
    if len(words) == 1:
        return any(len(p) >= _SUFFIX_MIN and words[0].endswith(p) for p in phrases)
    return False
