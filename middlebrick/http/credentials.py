"""What each identity of a scan sends: headers and query parameters, applied at send time.

The default identity sends the scan's headers plus the primary identity's (``ScanRequest``
refuses a header name given by both with two values); a named identity sends the scan's
non-credential headers plus its own; ``anonymous`` sends nothing at all. Requests only ever
carry an identity's name, never these values, and evidence shows every one of them as
``[REDACTED]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from middlebrick.auth import is_credential_header
from middlebrick.config import ScanRequest
from middlebrick.errors import UsageError
from middlebrick.http.exchange import ANONYMOUS, DEFAULT_IDENTITY, Headers

__all__ = ["Credentials", "with_query"]

Pairs = tuple[tuple[str, str], ...]


class Credentials:
    """The headers and query parameters of every identity of one scan."""

    def __init__(self, scan: ScanRequest) -> None:
        custom = tuple(pair for pair in scan.headers if not is_credential_header(pair[0]))
        self._headers: dict[str, Pairs] = {
            name: custom + cred.headers for name, cred in scan.identities.items()
        }
        self._query: dict[str, Pairs] = {
            name: cred.query for name, cred in scan.identities.items() if cred.query
        }
        primary = scan.identities.get(scan.primary_identity or "")
        default = scan.headers + (primary.headers if primary else ())
        self._headers[DEFAULT_IDENTITY] = tuple(dict.fromkeys(default))  # a pair given twice: once
        if primary is not None and primary.query:
            self._query[DEFAULT_IDENTITY] = primary.query
        self._headers[ANONYMOUS] = ()

    def headers(self, identity: str | None) -> Pairs:
        """The header pairs of ``identity`` (None: the default); an unknown one is a UsageError."""
        try:
            return self._headers[identity or DEFAULT_IDENTITY]
        except KeyError:
            known = ", ".join(sorted(self._headers))
            raise UsageError(f"unknown identity {identity!r}; known identities: {known}") from None

    def query(self, identity: str | None) -> Pairs:
        """The query parameters ``identity`` adds to every URL (an API key in the query)."""
        return self._query.get(identity or DEFAULT_IDENTITY, ())

    def merged(self, headers: Headers, identity: str | None) -> Sequence[tuple[str, str]]:
        """A request's headers plus its identity's (the request's own win)."""
        credentials = self.headers(identity)
        if not credentials:
            return headers.items
        if not headers.items:
            return credentials
        return [*headers.items, *((n, v) for n, v in credentials if n not in headers)]

    def secret_names(self, headers: Headers, identity: str | None) -> list[str]:
        """The names of the identity's headers a request did not set itself.

        Every one was given by the user, so every one is a secret: evidence shows it as
        ``[REDACTED]`` and curl commands as a ``$MIDDLEBRICK_<NAME>`` placeholder.
        """
        return [name for name, _ in self.headers(identity) if name not in headers]


def with_query(url: str, pairs: Sequence[tuple[str, str]]) -> str:
    """``url`` with ``pairs`` appended to its query string (before any fragment)."""
    base, hash_, fragment = url.partition("#")
    extra = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{extra}{hash_}{fragment}"
