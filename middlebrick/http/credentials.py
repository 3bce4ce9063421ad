"""What each identity of a scan sends: headers and query parameters, applied at send time.

The default identity sends the scan's headers plus, when those carry no credentials, the primary
identity's; a named identity sends the scan's non-credential headers plus its own; ``anonymous``
sends nothing at all. Requests only ever carry an identity's name, never these values.
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
        given = tuple(pair for pair in scan.headers if is_credential_header(pair[0]))
        self._custom = {name.lower() for name, _ in custom}
        self._headers: dict[str, Pairs] = {
            name: custom + cred.headers for name, cred in scan.identities.items()
        }
        self._query: dict[str, Pairs] = {
            name: cred.query for name, cred in scan.identities.items() if cred.query
        }
        primary = scan.identities.get(scan.primary_identity or "")
        if given or primary is None:
            self._headers[DEFAULT_IDENTITY] = scan.headers
        else:
            self._headers[DEFAULT_IDENTITY] = custom + primary.headers
            if primary.query:
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

    def secret_names(self, headers: Headers, identity: str | None) -> tuple[list[str], Pairs]:
        """The identity's headers a request did not set itself: secret names, and the rest.

        Secret ones appear in evidence as placeholders; the others (a custom ``X-Trace``, say)
        are shown as sent.
        """
        applied = [pair for pair in self.headers(identity) if pair[0] not in headers]
        named = identity not in (None, DEFAULT_IDENTITY)
        secret = [
            n
            for n, _ in applied
            if is_credential_header(n) or (named and n.lower() not in self._custom)
        ]
        return secret, tuple(p for p in applied if p[0] not in secret)


def with_query(url: str, pairs: Sequence[tuple[str, str]]) -> str:
    """``url`` with ``pairs`` appended to its query string (before any fragment)."""
    base, hash_, fragment = url.partition("#")
    extra = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{extra}{hash_}{fragment}"
