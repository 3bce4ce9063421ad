"""Auth profiles: how a user tells the scanner who to be.

A profile is one string, given on the CLI (``--auth``, ``--identity NAME=PROFILE``) or in a config
file, and becomes a ``Credential``::

    bearer:TOKEN                    Authorization: Bearer TOKEN
    basic:USER:PASSWORD             Authorization: Basic base64(USER:PASSWORD)
    apikey:HEADER:KEY               HEADER: KEY  (e.g. apikey:X-API-Key:abc)
    apikey:query:NAME:KEY           ?NAME=KEY on every request
    apikey:cookie:NAME:KEY          Cookie: NAME=KEY
    cookie:NAME=VALUE[; N2=V2]      Cookie: NAME=VALUE; N2=V2
    header:NAME:VALUE               any custom header carrying credentials

Only credential-carrying headers are ever built from a profile: names on the allow-list
(Authorization, X-API-Key, Cookie) or a custom name that is not a hop-by-hop, framing or routing
header. A profile's values are secrets: errors name the profile kind, never its value.
"""

from __future__ import annotations

import base64
import re

from middlebrick.config import Credential
from middlebrick.errors import UsageError

__all__ = ["KINDS", "header_name", "is_credential_header", "parse_auth", "parse_identity"]

KINDS = ("bearer", "basic", "apikey", "cookie", "header")

_ALLOWED = frozenset({"authorization", "x-api-key", "cookie"})
_FORBIDDEN = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
        "proxy-authorization",
        "expect",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
    }
)
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_CREDENTIAL_WORDS = ("token", "secret", "key", "auth", "session")


def is_credential_header(name: str) -> bool:
    """True when a header of this name carries credentials (Authorization, Cookie, *token*…)."""
    low = name.lower()
    if low in _ALLOWED or low == "proxy-authorization":
        return True
    return any(word in low for word in _CREDENTIAL_WORDS)


def parse_auth(profile: str, *, owns: tuple[str, ...] = ()) -> Credential:
    """The credential of one auth profile string; a malformed one is a ``UsageError``."""
    kind, sep, rest = profile.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in KINDS:  # not echoed: a profile without its kind is all secret
        raise UsageError(
            f"an auth profile does not start with one of {', '.join(KINDS)}; "
            "write it like bearer:TOKEN or apikey:X-API-Key:KEY"
        )
    if not rest:
        raise UsageError(f"the {kind} auth profile has no value; write it like {_example(kind)}")
    if kind == "bearer":
        return Credential(headers=(("Authorization", f"Bearer {rest}"),), owns=owns)
    if kind == "basic":
        user, sep, password = rest.partition(":")
        if not sep or not user:
            raise UsageError(f"the basic auth profile needs USER:PASSWORD; write {_example(kind)}")
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        return Credential(headers=(("Authorization", f"Basic {encoded}"),), owns=owns)
    if kind == "cookie":
        if "=" not in rest:
            raise UsageError(f"the cookie auth profile needs NAME=VALUE; write {_example(kind)}")
        return Credential(headers=(("Cookie", rest.strip()),), owns=owns)
    if kind == "header":
        name, sep, value = rest.partition(":")
        if not sep or not value:
            raise UsageError(f"the header auth profile needs NAME:VALUE; write {_example(kind)}")
        return Credential(headers=((header_name(name), value.strip()),), owns=owns)
    return _api_key(rest, owns)


def parse_identity(text: str) -> tuple[str, Credential]:
    """``NAME=PROFILE`` (as given to ``--identity``) as a name and its credential."""
    name, sep, profile = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(
            "--identity takes NAME=PROFILE; write it like --identity alice=bearer:TOKEN"
        )
    return name.strip(), parse_auth(profile)


def _api_key(rest: str, owns: tuple[str, ...]) -> Credential:
    where, sep, remainder = rest.partition(":")
    if where.lower() in ("query", "cookie"):
        name, sep2, key = remainder.partition(":")
        if not sep or not sep2 or not name or not key:
            raise UsageError(
                f"the apikey auth profile in a {where.lower()} needs NAME:KEY; "
                f"write apikey:{where.lower()}:NAME:KEY"
            )
        if where.lower() == "query":
            return Credential(query=((name, key),), owns=owns)
        return Credential(headers=(("Cookie", f"{name}={key}"),), owns=owns)
    if not sep or not remainder:
        raise UsageError(f"the apikey auth profile needs HEADER:KEY; write {_example('apikey')}")
    return Credential(headers=((header_name(where), remainder),), owns=owns)


def header_name(name: str) -> str:
    """``name`` when the scan may send a header of that name; a ``UsageError`` otherwise.

    Framing and routing headers (Host, Content-Length, Transfer-Encoding, X-Forwarded-*, …)
    are refused: they could take a request outside the scope or corrupt it. An invalid name is
    not echoed, since a mistyped profile may have put a secret where the name belongs.
    """
    name = name.strip()
    if not _HEADER_NAME.fullmatch(name):
        raise UsageError("a header name given is not a valid HTTP header name; check its spelling")
    if name.lower() in _FORBIDDEN:
        raise UsageError(
            f"header {name!r} cannot be set by the scan (it controls framing or routing); "
            "use Authorization, X-API-Key, Cookie or another custom header"
        )
    return name


def _example(kind: str) -> str:
    return {
        "bearer": "bearer:TOKEN",
        "basic": "basic:USER:PASSWORD",
        "apikey": "apikey:X-API-Key:KEY",
        "cookie": "cookie:session=VALUE",
        "header": "header:X-Auth-Token:VALUE",
    }[kind]
