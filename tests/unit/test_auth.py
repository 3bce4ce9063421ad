"""Auth profiles: each kind becomes the right credential; a bad one is one clear UsageError."""

from __future__ import annotations

import base64

import pytest

from middlebrick.auth import is_credential_header, parse_auth, parse_identity
from middlebrick.errors import UsageError

SECRET = "tok-9f8e7d6c5b4a"


@pytest.mark.parametrize(
    ("profile", "headers", "query"),
    [
        (f"bearer:{SECRET}", (("Authorization", f"Bearer {SECRET}"),), ()),
        (f"apikey:X-API-Key:{SECRET}", (("X-API-Key", SECRET),), ()),
        (f"apikey:query:api_key:{SECRET}", (), (("api_key", SECRET),)),
        (f"apikey:cookie:sid:{SECRET}", (("Cookie", f"sid={SECRET}"),), ()),
        (f"cookie:sid={SECRET}; theme=dark", (("Cookie", f"sid={SECRET}; theme=dark"),), ()),
        (f"header:X-Auth-Token:{SECRET}", (("X-Auth-Token", SECRET),), ()),
    ],
)
def test_parse_auth_builds_the_credential_of_each_kind(profile, headers, query) -> None:
    credential = parse_auth(profile)
    assert credential.headers == headers and credential.query == query
    assert SECRET in " ".join(credential.secrets)


def test_parse_auth_encodes_basic_credentials() -> None:
    credential = parse_auth("basic:alice:pa:ss")
    scheme, _, token = credential.headers[0][1].partition(" ")
    assert scheme == "Basic" and base64.b64decode(token).decode() == "alice:pa:ss"


@pytest.mark.parametrize(
    ("profile", "words"),
    [
        (f"token:{SECRET}", "does not start with one of bearer"),
        (SECRET, "does not start with one of bearer"),
        ("bearer:", "has no value"),
        (f"basic:{SECRET}", "USER:PASSWORD"),
        (f"apikey:query:{SECRET}", "NAME:KEY"),
        (f"header:Host:{SECRET}", "framing or routing"),
        (f"header:Content-Length:{SECRET}", "framing or routing"),
        (f"apikey:Bad Name:{SECRET}", "not a valid HTTP header name"),
        (f"apikey:{SECRET} x:y", "not a valid HTTP header name"),
    ],
)
def test_parse_auth_rejects_a_malformed_profile_without_showing_its_secret(profile, words) -> None:
    with pytest.raises(UsageError) as raised:
        parse_auth(profile)
    assert words in str(raised.value)
    assert SECRET not in str(raised.value)


def test_parse_identity_splits_name_and_profile() -> None:
    name, credential = parse_identity(f"bob=bearer:{SECRET}")
    assert name == "bob" and credential.headers == (("Authorization", f"Bearer {SECRET}"),)
    with pytest.raises(UsageError, match="NAME=PROFILE"):
        parse_identity(f"bearer:{SECRET}")


def test_credential_repr_never_shows_values() -> None:
    credential = parse_auth(f"bearer:{SECRET}", owns=("item-1",))
    assert SECRET not in repr(credential) and SECRET not in str(credential)
    assert "item-1" in repr(credential)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Authorization", True), ("X-API-Key", True), ("X-Session-Id", True), ("X-Trace", False)],
)
def test_is_credential_header(name: str, expected: bool) -> None:
    assert is_credential_header(name) is expected
