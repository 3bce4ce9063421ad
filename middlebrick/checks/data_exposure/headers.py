"""Data exposure in response headers: personal data that proxies, caches and scripts see."""

from __future__ import annotations

from collections.abc import AsyncIterator

from middlebrick.checks._exposure import Source, finding_of, group_hits, mask, reflected
from middlebrick.checks._signatures import Hit
from middlebrick.checks._validators import ssn_key
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.knowledge import catalogue

_HEADER = "data_exposure.pii-in-header"

# What each header signature finds (its id's first word): the body finding of that data.
_KINDS = {
    "email": ("data_exposure.email-address", "email address"),
    "phone": ("data_exposure.phone-number", "phone number"),
    "card": ("data_exposure.card-number", "card number"),
    "ssn": ("data_exposure.ssn", "SSN"),
}
# Headers whose values the protocol defines (RFC 9110 §11.6.1 challenges carry a realm, the
# protection space's name; Server and Via name software): a value there is configuration.
_PROTOCOL = frozenset({"www-authenticate", "proxy-authenticate", "server", "via"})
# Read by other checks: cookies (cookie_flags) and URLs (sensitive_urls).
_NOT_HERE = frozenset({"set-cookie", "location", "content-location", "link", "refresh"})


@check(category="data_exposure", emits={_HEADER})
async def personal_headers(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Personal data in response headers: email addresses, phone numbers, card numbers, SSNs.

    Reads every header of every baseline response and of the target's root; sends no
    requests. The header's name stands for the JSON field of the body rules: an email address
    anywhere but a role mailbox (support@, noreply@ …); a ``+`` international phone number, or
    any number in a header named like a phone (``X-User-Phone``); a Luhn-valid card number
    not in an id or order header; an SSN in a header named for it (``X-Customer-SSN``,
    ``X-Tax-Id``) or, dashed, under a medical or financial scan context. A value that was in
    the request (an echo of the scan's own input) is skipped; ``Set-Cookie`` is left to the
    cookie check and URL headers (``Location``, ``Link`` …) to ``sensitive_urls``.

    One finding per operation and header; its severity is the one the same data has in a body
    (an email address or a phone number low, a card number or an SSN high). An SSN recognised
    from the scan's context alone is tentative.

    A value that is the server's own constant is nobody's personal data and is informational:
    one in a protocol field (an authentication challenge's ``realm``, ``Server``, ``Via``), or
    the same value in the same header of the answers to two or more operations (httpbin's
    digest realm ``me@kennethreitz.com`` on every challenge).
    """
    groups = await group_hits(ctx, {_HEADER}, parameter=lambda hit: hit.key, keep=_kept)
    operations: dict[tuple[str, str], set[str]] = {}
    for group in groups:
        for value in group.values(limit=50):
            operations.setdefault(((group.first.key or "").lower(), value), set()).add(
                group.source.key
            )
    for group in groups:
        first = group.first
        kind, word = _KINDS[first.signature.split("-", 1)[0]]
        masked = ", ".join(mask(kind, value) for value in group.values())
        contextual = kind == "data_exposure.ssn" and not ssn_key(first.key)
        name = (first.key or "").lower()
        spread = len(operations.get((name, first.value), ()))
        constant = (
            f"; a protocol field ({first.key}), the server's own constant, not personal data"
            if name in _PROTOCOL
            else f"; the same value in {first.key} on {spread} operations: the server's own "
            "constant, not personal data"
            if spread > 1
            else ""
        )
        yield finding_of(
            ctx,
            group,
            parameter=first.key,
            detail=f"{masked} ({word}) in the header {first.key} of the {group.source.status} "
            f"response to `{group.source.key}`{constant}",
            severity=Severity.info if constant else catalogue()[kind].severity,
            confidence=Confidence.tentative if contextual else Confidence.firm,
        )


def _kept(hit: Hit, source: Source) -> bool:
    name = (hit.key or "").lower()
    return name not in _NOT_HERE and not reflected(hit.value, source.exchange)
