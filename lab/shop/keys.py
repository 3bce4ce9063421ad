"""The shop's token keys: its HS256 secret, an RSA key for partner tokens, and the verifier.

The shop signs its own tokens with HS256 (``lab.identities``) and accepts RS256 tokens of its
partner key, whose public half it publishes as a JWK Set at ``/.well-known/jwks.json``. Both
variants publish the key set; they differ in how a token's header chooses the key:

- secure: ``kid`` naming the partner key means RS256 with that key, and only RS256 (PyJWT,
  ``algorithms=["RS256"]``); any other token is HS256 with the shop's secret; ``jku`` and
  unknown ``kid`` values choose nothing.
- vulnerable (each ``# FLAW:``): the token's own ``alg`` is used with the partner key (so an
  HS256 token whose HMAC key is the public key's PEM passes: algorithm confusion); another
  ``kid`` names a key file beside this module, read without confinement (``../../dev/null``
  gives an empty key); a ``jku`` URL is fetched and its first key verifies the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lab.identities import AUDIENCE, ISSUER, InvalidToken, verify
from lab.items import outbound

PARTNER_KID = "shop-partner-1"
KEY_FILES = Path(__file__).resolve().parent  # the vulnerable verifier's "key folder"


@dataclass(frozen=True)
class Keys:
    """The shop's HS256 secret and its partner RSA key."""

    secret: str
    private: rsa.RSAPrivateKey

    @classmethod
    def fresh(cls, secret: str) -> Keys:
        """Keys for one app: ``secret`` and a new 2048-bit RSA key."""
        return cls(secret, rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @property
    def public_pem(self) -> bytes:
        """The partner public key as a PEM SubjectPublicKeyInfo."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwks(self) -> dict[str, Any]:
        """The JWK Set the shop publishes."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {"keys": [{**jwk, "kid": PARTNER_KID, "use": "sig", "alg": "RS256"}]}


def verify_token(keys: Keys, token: str, *, secure: bool) -> dict[str, Any]:
    """The verified claims of ``token`` in the variant, or raise ``InvalidToken``."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    kid, alg = header.get("kid"), str(header.get("alg", ""))
    if secure:  # FIX: the key decides the algorithm; nothing in the header picks a key
        if kid == PARTNER_KID:
            return _claims_of(
                jwt.decode(
                    token,
                    keys.private.public_key(),
                    algorithms=["RS256"],
                    audience=AUDIENCE,
                    issuer=ISSUER,
                )
            )
        return verify(token, secret=keys.secret, variant="secure")
    if isinstance(header.get("jku"), str):  # FLAW: the token names where its key is
        _check_rs256(token, _fetched_key(header["jku"]))
    elif kid == PARTNER_KID and alg.upper().startswith("HS"):
        _check_hmac(token, keys.public_pem)  # FLAW: the token's alg with the RSA key's PEM
    elif kid == PARTNER_KID:
        _check_rs256(token, keys.private.public_key())
    elif isinstance(kid, str):
        _check_hmac(token, (KEY_FILES / kid).read_bytes() if _readable(kid) else None)  # FLAW
    else:
        return verify(token, secret=keys.secret, variant="secure")
    return _claims_of(jwt.decode(token, options={"verify_signature": False}))


def _readable(kid: str) -> bool:
    try:
        return (KEY_FILES / kid).is_file() or (KEY_FILES / kid).resolve() == Path("/dev/null")
    except OSError:
        return False


def _signing_input(token: str) -> tuple[bytes, bytes]:
    try:
        head, body, signature = token.split(".")
        raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    except ValueError as exc:
        raise InvalidToken("malformed token") from exc
    return f"{head}.{body}".encode(), raw


def _check_hmac(token: str, key: bytes | None) -> None:
    message, signature = _signing_input(token)
    if key is None or not hmac.compare_digest(
        hmac.new(key, message, hashlib.sha256).digest(), signature
    ):
        raise InvalidToken("bad signature")


def _check_rs256(token: str, key: rsa.RSAPublicKey) -> None:
    message, signature = _signing_input(token)
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise InvalidToken("bad signature") from exc


def _fetched_key(url: str) -> rsa.RSAPublicKey:
    try:  # the lab's guard: loopback only, never a redirect followed elsewhere
        answer = outbound.request(url)
    except outbound.NotLoopback as exc:
        raise InvalidToken("jku outside loopback") from exc
    except OSError as exc:
        raise InvalidToken("no key at jku") from exc
    try:
        if answer.status != 200:
            raise ValueError(f"jku answered {answer.status}")
        key_set = json.loads(answer.body[:65536])
        key = jwt.PyJWK(key_set["keys"][0]).key
    except (ValueError, KeyError, IndexError, TypeError, jwt.PyJWTError) as exc:
        raise InvalidToken("no key at jku") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidToken("not an RSA key")
    return key


def _claims_of(claims: dict[str, Any]) -> dict[str, Any]:
    """Claims whose issuer, audience and expiry hold (the signature was checked already)."""
    exp = claims.get("exp")
    if claims.get("iss") != ISSUER or claims.get("aud") != AUDIENCE:
        raise InvalidToken("wrong issuer or audience")
    if not isinstance(exp, int | float) or exp < time.time():
        raise InvalidToken("expired")
    return claims
