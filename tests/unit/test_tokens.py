"""JWTs decoded without verification: parts, claims, identity values, tokens found in text."""

from __future__ import annotations

import json

from middlebrick.tokens import b64url, bearer_token, decode_jwt, find_jwts


def _jwt(header: dict, claims: dict, signature: bytes = b"sig") -> str:
    return ".".join(
        (
            b64url(json.dumps(header).encode()),
            b64url(json.dumps(claims).encode()),
            b64url(signature),
        )
    )


def test_decode_jwt_reads_header_claims_and_expiry() -> None:
    token = _jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "u-1", "exp": 1700000000, "role": "x"})
    jwt = decode_jwt(token)
    assert jwt is not None and jwt.alg == "HS256" and jwt.expires_at == 1700000000.0
    assert jwt.identity_values() == {"u-1"}
    assert jwt.signing_input == token.rsplit(".", 1)[0].encode() and jwt.signature == b"sig"


def test_decode_jwt_refuses_what_is_not_a_jws() -> None:
    assert decode_jwt("not.a.jwt") is None
    assert decode_jwt("abc") is None
    assert decode_jwt(_jwt({"alg": "none"}, {"sub": "x"}) + ".extra") is None
    assert decode_jwt(b64url(b"[1]") + "." + b64url(b"{}") + ".") is None


def test_bearer_token_finds_the_authorization_token() -> None:
    assert bearer_token((("X-Trace", "1"), ("authorization", "Bearer abc.def"))) == "abc.def"
    assert bearer_token((("Authorization", "Basic dXNlcjpw"),)) is None


def test_find_jwts_in_a_body() -> None:
    token = _jwt({"alg": "HS256"}, {"sub": "u-2"})
    found = find_jwts(f'{{"token": "{token}", "again": "{token}"}}')
    assert [t.raw for t in found] == [token]
