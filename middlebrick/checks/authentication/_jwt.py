"""JWTs for the authentication checks: where a token travels, forged variants, offline cracking.

A ``Carried`` token is a JWT plus the header that carries it (``Authorization: Bearer …``, a
cookie, a custom header), so a forged variant travels the same way. Forged tokens never reveal
the real one: an unsigned token keeps header claims but has no signature, a tampered one gets
a signature derived from a fixed label (not from the real signature), and a re-signed one is
signed with a secret the scanner cracked.

The secret search is offline (no request is sent): HMAC over the token's signing input with,
in this order, the curated secrets of ``knowledge/jwt_secrets.yaml``, the token's own ``iss``
and ``aud``, the 126,705 common passwords and words of ``knowledge/jwt_wordlist.txt.gz`` (see
``tools/jwt_wordlist.py`` for where they come from) and every string of one to six digits
(1,111,110). ``hmac.digest`` does the search (about 450,000 candidates a second on one core, so
about 3 s for a token whose secret is none of them); PyJWT verifies a hit before it counts.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jwt as pyjwt
import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from middlebrick.auth import is_credential_header
from middlebrick.checks._field_names import key_tokens
from middlebrick.checks._signatures import ScanEnv, scan_text, signatures_for
from middlebrick.checks.context import CheckContext
from middlebrick.http.exchange import Exchange
from middlebrick.tokens import Jwt, b64url, decode_jwt, find_jwts

_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
_DIGITS = 6  # every numeric secret of up to this many digits is tried
_TAMPER_LABEL = b"middlebrick tampered signature"
_SEEN_LIMIT = 3
_DESCRIBES_API = frozenset({"openapi", "swagger"})
_SENSITIVE_WORDS = frozenset({"password", "passwd", "pwd", "passcode", "pin", "cvv", "cvc"})
_SENSITIVE_FLAT = re.compile(r"passwordhash|passhash|apikey|apisecret|clientsecret|privatekey")
_SENSITIVE_VALUES = frozenset(
    {
        "data_exposure.ssn",
        "data_exposure.card-number",
        "data_exposure.secret-token",
        "data_exposure.private-key",
    }
)


class _SecretList(BaseModel):
    """``knowledge/jwt_secrets.yaml``: the bounded dictionary of HMAC secrets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secrets: tuple[str, ...] = Field(min_length=1, max_length=2000)

    @field_validator("secrets")
    @classmethod
    def _distinct_and_short(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in value if not s or len(s) > 256]
        if bad:
            raise ValueError(f"secrets must be 1-256 characters: {bad[:3]}")
        dupes = sorted({s for s in value if value.count(s) > 1})
        if dupes:
            raise ValueError(f"duplicate secrets: {dupes[:5]}")
        return value


@cache
def dictionary() -> tuple[str, ...]:
    """The secrets of ``knowledge/jwt_secrets.yaml``, validated once."""
    path = resources.files("middlebrick.knowledge").joinpath("jwt_secrets.yaml")
    try:
        return _SecretList.model_validate(yaml.safe_load(path.read_text("utf-8"))).secrets
    except ValidationError as exc:
        raise RuntimeError(f"knowledge/jwt_secrets.yaml: {exc}") from exc


@dataclass(frozen=True)
class Carried:
    """A JWT and how it travels: the header that carries it and that header's whole value."""

    jwt: Jwt
    header: str
    value: str
    seen_in: Exchange | None = None  # None: the scan's own credentials; else the response

    @property
    def given(self) -> bool:
        """True for a token of the scan's own credentials."""
        return self.seen_in is None

    @property
    def where(self) -> str:
        """Where the token came from, for a detail sentence."""
        if self.seen_in is None:
            return f"the scan's credentials ({self.header} header)"
        return f"the response to `{self.seen_in.operation or self.seen_in.request.url}`"

    def carrying(self, token: str) -> tuple[str, str]:
        """The header (name, value) that sends ``token`` the way this one travels."""
        return self.header, self.value.replace(self.jwt.raw, token)


def given_tokens(ctx: CheckContext) -> list[Carried]:
    """JWTs in the primary identity's credential headers (Authorization, cookies, custom)."""
    headers = [pair for pair in ctx.scan.headers if is_credential_header(pair[0])]
    primary = ctx.identities.primary
    name = primary.name if primary is not None else ctx.scan.primary_identity
    if not headers and name is not None and name in ctx.scan.identities:
        headers = list(ctx.scan.identities[name].headers)
    found: list[Carried] = []
    for name, value in headers:
        for jwt in find_jwts(value, limit=2):
            found.append(Carried(jwt, name, value))
    return found


def seen_tokens(ctx: CheckContext, *, exclude: Iterable[Carried] = ()) -> list[Carried]:
    """JWTs that baseline responses handed out (bodies, Set-Cookie), at most a few.

    Served API descriptions are skipped: their example tokens (jwt.io's, signed with
    ``your-256-bit-secret``) are documentation, not tokens the API issued.
    """
    known = {c.jwt.raw for c in exclude}
    found: list[Carried] = []
    for exchange in ctx.baseline.responses():
        resp = exchange.response
        doc = resp.json if resp is not None else None
        if resp is None or (isinstance(doc, dict) and "paths" in doc and _DESCRIBES_API & set(doc)):
            continue
        texts = [resp.text[:65536], *(v for n, v in resp.headers if n.lower() == "set-cookie")]
        for text in texts:
            for jwt in find_jwts(text, limit=2):
                if jwt.raw in known or jwt.alg.lower() == "none":
                    continue
                known.add(jwt.raw)
                found.append(Carried(jwt, "Authorization", f"Bearer {jwt.raw}", exchange))
                if len(found) >= _SEEN_LIMIT:
                    return found
    return found


def _part(data: dict[str, Any]) -> str:
    return b64url(json.dumps(data, separators=(",", ":")).encode())


def unsigned(jwt: Jwt, alg: str = "none") -> str:
    """The same claims with header ``alg`` = ``alg`` and an empty signature."""
    header = {k: v for k, v in jwt.header.items() if k not in ("alg", "kid", "jku", "x5u")}
    return f"{_part({'alg': alg, **header})}.{_payload(jwt)}."


def tampered(jwt: Jwt) -> str:
    """The same header and claims with a wrong signature of the same length.

    The signature is derived from a fixed label and the signing input, never from the real
    signature, so the probe (shown in evidence) reveals nothing of the scan's token.
    """
    size = max(len(jwt.signature), 32)
    stream = b""
    counter = 0
    while len(stream) < size:
        stream += hashlib.sha256(_TAMPER_LABEL + bytes([counter]) + jwt.signing_input).digest()
        counter += 1
    signature = stream[:size]
    if signature == jwt.signature:  # astronomically unlikely; still never send the real one
        signature = bytes(b ^ 0x5A for b in signature)
    return f"{jwt.signing_input.decode('ascii')}.{b64url(signature)}"


def resigned(jwt: Jwt, claims: dict[str, Any], secret: str) -> str:
    """A token with ``jwt``'s header and ``claims``, signed with ``secret`` (HS* only)."""
    digest = _HMAC[jwt.alg.upper()]
    signing_input = f"{_part(jwt.header)}.{_part(claims)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def hs256_signed(jwt: Jwt, header: dict[str, Any], key: bytes) -> str:
    """``jwt``'s claims under ``header`` (alg HS256), signed with HMAC key ``key``."""
    signing_input = f"{_part({**header, 'alg': 'HS256', 'typ': 'JWT'})}.{_payload(jwt)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def rs256_signed(jwt: Jwt, header: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    """``jwt``'s claims under ``header`` (alg RS256), signed with the scanner's own RSA key."""
    signing_input = f"{_part({**header, 'alg': 'RS256', 'typ': 'JWT'})}.{_payload(jwt)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def with_claims(jwt: Jwt, claims: dict[str, Any]) -> Jwt:
    """``jwt`` with other claims (unsigned: its signature bytes are kept only for their length);
    ``jwt`` itself when the claims are the same, so a forged variant is the same token."""
    if claims == jwt.claims:
        return jwt
    signing_input = f"{_part(jwt.header)}.{_part(claims)}"
    return Jwt("", jwt.header, dict(claims), signing_input.encode(), jwt.signature)


def _payload(jwt: Jwt) -> str:
    """The token's payload part exactly as it was signed."""
    return jwt.signing_input.decode("ascii").split(".", 1)[1]


def crackable(jwt: Jwt) -> bool:
    """True for an HMAC-signed token (HS256/384/512) with a signature."""
    return jwt.alg.upper() in _HMAC and bool(jwt.signature)


def crack(jwt: Jwt) -> str | None:
    """The dictionary secret that produced ``jwt``'s HMAC signature, if any (offline)."""
    return _crack(jwt.raw) if crackable(jwt) else None


@cache
def wordlist() -> tuple[str, ...]:
    """The common passwords and words of ``knowledge/jwt_wordlist.txt.gz``, commonest first."""
    path = resources.files("middlebrick.knowledge").joinpath("jwt_wordlist.txt.gz")
    return tuple(w for w in gzip.decompress(path.read_bytes()).decode("utf-8").split("\n") if w)


def candidates(jwt: Jwt) -> Iterator[bytes]:
    """Every secret the search tries for ``jwt``, in order (see the module's docstring)."""
    extra = [v for k in ("iss", "aud") if isinstance(v := jwt.claims.get(k), str) and v]
    for secret in (*dictionary(), *extra, *wordlist()):
        yield secret.encode()
    for width in range(1, _DIGITS + 1):
        for number in range(10**width):
            yield b"%0*d" % (width, number)


@cache
def _crack(raw: str) -> str | None:
    jwt = decode_jwt(raw)
    if jwt is None:
        return None
    name = jwt.alg.lower().replace("hs", "sha")  # HS256 -> sha256
    signature, message = jwt.signature, jwt.signing_input
    for secret in candidates(jwt):
        if hmac.digest(secret, message, name) == signature and _verifies(jwt, secret):
            return secret.decode()
    return None


def _verifies(jwt: Jwt, secret: bytes) -> bool:
    """PyJWT's verdict on ``jwt``'s signature with ``secret`` (claims such as exp not checked)."""
    options = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}
    options |= {"verify_aud": False, "verify_iss": False, "verify_sub": False}
    options |= {"verify_jti": False}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pyjwt.warnings.InsecureKeyLengthWarning)
            pyjwt.decode(jwt.raw, secret, algorithms=[jwt.alg], options=options)  # type: ignore[arg-type]
    except pyjwt.PyJWTError:
        return False
    return True


def mask(secret: str) -> str:
    """A cracked secret as a report may show it: ``sunshine`` -> ``su****ne``."""
    if len(secret) >= 6:
        return f"{secret[:2]}****{secret[-2:]}"
    return f"{secret[:1]}****" if len(secret) > 1 else "****"


def sensitive_claims(jwt: Jwt, env: ScanEnv) -> dict[str, str]:
    """Claims that carry secrets or sensitive personal data: claim -> what it holds.

    By name (password, pin, cvv, password_hash, api_key, client_secret, private_key) with a
    non-empty value, and by value: the data-exposure signatures of SSNs, card numbers, API
    keys and private keys run over the claims' JSON.
    """
    found: dict[str, str] = {}
    for name, value in jwt.claims.items():
        if value in (None, "", [], {}) or isinstance(value, bool):
            continue
        flat = re.sub(r"[^a-z0-9]", "", name.lower())
        if key_tokens(name) & _SENSITIVE_WORDS or _SENSITIVE_FLAT.search(flat):
            found[name] = "a password, PIN or secret by its name"
    text = json.dumps(jwt.claims)
    for hit in scan_text(text, "body", signatures_for(_SENSITIVE_VALUES), env):
        claim = hit.key or hit.signature
        if claim not in found:
            found[claim] = f"a value recognised as {hit.finding.split('.', 1)[1]}"
    return found
