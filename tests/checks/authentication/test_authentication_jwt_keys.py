"""jwt_key_injection on fake verifiers: a `kid` file path, the RSA key as HMAC secret, `jku`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check

ITEMS = Operation(method="GET", path="/items", security=({"bearer": ()},))
DATA = [{"id": "i-1", "owner": "u-alice", "name": "widget"}]
DENY = response(401, {"detail": "invalid token"})
SECRET = "7d3f0c9a1b2e4d5f8a6c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
JWKS = {
    "keys": [
        {
            **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key())),
            "kid": "k1",
            "alg": "RS256",
        }
    ]
}


def _token() -> str:
    claims = {"sub": "u-alice", "iss": "auth", "aud": "api", "exp": int(time.time()) + 3600}
    return jwt.encode(claims, SECRET, "HS256")


def _split(token: str) -> tuple[dict[str, Any], bytes, bytes]:
    head, body, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return header, f"{head}.{body}".encode(), raw


def _hmac_ok(token: str, key: bytes) -> bool:
    _, message, signature = _split(token)
    return hmac.compare_digest(hmac.new(key, message, hashlib.sha256).digest(), signature)


def _server(
    *, kid_files: bool = False, confusion: bool = False, jku: bool = False, x5u: bool = False
) -> Callable[[Request], Response]:
    """/items: the scan's identity, and tokens this verifier accepts; each flaw by flag."""

    def answer(request: Request) -> Response:
        if request.identity in (None, "default", "alice"):
            return response(200, DATA)
        token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
        if token.count(".") != 2:
            return DENY
        header, _, _ = _split(token)
        kid = header.get("kid")
        followed = [name for name, on in (("jku", jku), ("x5u", x5u)) if on]
        url = next((header[n] for n in followed if isinstance(header.get(n), str)), None)
        if url is not None:
            threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=2).read()).start()
            return response(200, DATA)  # a verifier that trusts the key set it will fetch
        if confusion and kid == "k1" and _hmac_ok(token, PEM):
            return response(200, DATA)
        if kid_files and kid in ("/dev/null", "../../../../../../../../dev/null"):
            return response(200, DATA) if _hmac_ok(token, b"") else DENY
        return response(200, DATA) if _hmac_ok(token, SECRET.encode()) else DENY

    return answer


async def _run(
    server: Callable[[Request], Response], routes: dict[tuple[str, str], Any] | None = None
) -> tuple[list[Finding], FakeSender]:
    token = _token()
    scan = ScanRequest(target=BASE, headers=(("Authorization", f"Bearer {token}"),))
    verifier = exchange("GET", "/items", response(200, DATA), operation=ITEMS.key)
    identities = Identities(
        primary=Identity("default", True, frozenset({"u-alice"})), verifier=verifier
    )
    sender = FakeSender({("GET", "/items"): server, **(routes or {})})
    found = await run_check(
        "authentication.jwt_key_injection",
        baseline=make_baseline([(ITEMS, verifier)]),
        sender=sender,
        scan=scan,
        identities=identities,
    )
    return found, sender


async def test_jwt_key_injection_reports_a_kid_read_as_a_file_path() -> None:
    found, _ = await _run(_server(kid_files=True))

    assert [(f.type_id, f.confidence) for f in found] == [
        ("authentication.jwt-kid-injection", Confidence.confirmed)
    ]
    assert "dev/null" in found[0].detail and "empty HMAC key" in found[0].detail


async def test_jwt_key_injection_reports_the_published_rsa_key_accepted_as_hmac_secret() -> None:
    routes = {("GET", "/.well-known/jwks.json"): response(200, JWKS)}

    found, _ = await _run(_server(confusion=True), routes)

    assert [f.type_id for f in found] == ["authentication.jwt-algorithm-confusion"]
    assert [e.label for e in found[0].evidence][-1] == "key set"


async def test_jwt_key_injection_follows_jwks_uri_of_the_openid_metadata_on_the_origin() -> None:
    routes = {
        ("GET", "/.well-known/openid-configuration"): response(
            200, {"issuer": BASE, "jwks_uri": f"{BASE}/oauth/keys"}
        ),
        ("GET", "/oauth/keys"): response(200, JWKS),
    }

    found, _ = await _run(_server(confusion=True), routes)

    assert [f.type_id for f in found] == ["authentication.jwt-algorithm-confusion"]


async def test_jwt_key_injection_never_fetches_a_key_set_on_another_origin() -> None:
    routes = {
        ("GET", "/.well-known/openid-configuration"): response(
            200, {"jwks_uri": "http://127.0.0.2:9/keys"}
        )
    }

    found, sender = await _run(_server(confusion=True), routes)

    assert found == []
    assert all(r.url.startswith(BASE) for r in sender.sent)


async def test_jwt_key_injection_reports_a_jku_key_set_fetched_and_trusted() -> None:
    found, _ = await _run(_server(jku=True))

    assert [f.type_id for f in found] == ["authentication.jwt-jku-injection"]
    assert "the canary received GET" in found[0].detail


async def test_jwt_key_injection_reports_an_x5u_certificate_fetched_and_trusted() -> None:
    found, _ = await _run(_server(x5u=True))

    assert [f.type_id for f in found] == ["authentication.jwt-jku-injection"]
    assert "`x5u` naming its certificate" in found[0].detail


async def test_jwt_key_injection_stays_quiet_when_the_verifier_fixes_key_and_algorithm() -> None:
    routes = {("GET", "/.well-known/jwks.json"): response(200, JWKS)}

    found, sender = await _run(_server(), routes)

    assert found == []
    forged = [r for r in sender.sent if "authorization" in r.headers]
    # the wrong-signature control, two kid paths, three PEM forms, one jku, one x5u
    assert len(forged) == 1 + 2 + 3 + 2


async def test_jwt_key_injection_stays_quiet_when_any_signature_is_accepted() -> None:
    # RESTaurant-like verifier: decodes the claims and never checks the signature, so a kid,
    # jku or confused-algorithm token passes like any other: jwt-tampered-signature's root cause.
    def any_signature(request: Request) -> Response:
        if request.identity in (None, "default", "alice"):
            return response(200, DATA)
        token = (request.headers.get("authorization") or "").removeprefix("Bearer ")
        return response(200, DATA) if token.count(".") == 2 else DENY

    routes = {("GET", "/.well-known/jwks.json"): response(200, JWKS)}

    found, sender = await _run(any_signature, routes)

    assert found == []
    forged = [r for r in sender.sent if "authorization" in r.headers]
    assert len(forged) == 1  # the wrong-signature control, then nothing


async def test_jwt_key_injection_never_sends_the_real_token() -> None:
    _, sender = await _run(_server(), {("GET", "/.well-known/jwks.json"): response(200, JWKS)})

    sent = [(r.headers.get("authorization") or "").removeprefix("Bearer ") for r in sender.sent]
    assert not [
        token for token in sent if token.count(".") == 2 and _hmac_ok(token, SECRET.encode())
    ]
