"""JWT checks on recorded exchanges: secrets and claims read offline, forged tokens sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from middlebrick.checks.authentication._jwt import _SecretList, dictionary, wordlist
from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.identities import Identities, Identity
from middlebrick.spec.model import Operation
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response, run_check
from middlebrick.tokens import b64url

ITEMS = Operation(method="GET", path="/items", security=({"bearer": ()},))
LOGIN = Operation(method="GET", path="/session")
DATA = [{"id": "i-1", "owner": "u-alice", "name": "widget"}]
DENY = response(401, {"detail": "invalid token"})
CLAIMS = {"sub": "u-alice", "iss": "auth", "aud": "api", "exp": int(time.time()) + 3600}
STRONG = "7d3f0c9a1b2e4d5f8a6c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f"


def _mint(claims: dict[str, Any], secret: str = STRONG, alg: str = "HS256") -> str:
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims).encode())
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), digest).digest()
    return f"{head}.{body}.{b64url(signature)}"


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    head, body, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    return header, claims, f"{head}.{body}".encode(), raw


def _parts_header(request: Request) -> str:
    value = (request.headers.get("authorization") or "").removeprefix("Bearer ")
    return json.dumps(_parts(value)[0]) if value.count(".") == 2 else ""


def _server(
    secret: str = STRONG, *, allow_none: bool = False, verify: bool = True, check_exp: bool = True
) -> Callable[[Request], Response]:
    """/items: 200 for the scan's identity, and for tokens this verifier accepts."""

    def answer(request: Request) -> Response:
        if request.identity in (None, "default", "alice"):
            return response(200, DATA)
        value = request.headers.get("authorization") or ""
        if not value.startswith("Bearer "):
            return DENY
        header, claims, signing_input, signature = _parts(value.removeprefix("Bearer "))
        if header.get("alg", "").lower() == "none":
            return response(200, DATA) if allow_none else DENY
        expected = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
        if verify and not hmac.compare_digest(expected, signature):
            return DENY
        if check_exp and claims.get("exp", 0) < time.time():
            return DENY
        return response(200, DATA)

    return answer


def _setup(token: str) -> tuple[ScanRequest, Exchange, Identities]:
    scan = ScanRequest(target=BASE, headers=(("Authorization", f"Bearer {token}"),))
    verifier = exchange("GET", "/items", response(200, DATA), operation=ITEMS.key)
    identities = Identities(
        primary=Identity("default", True, frozenset({"u-alice"})), verifier=verifier
    )
    return scan, verifier, identities


async def _claims(token: str) -> list[Finding]:
    scan, verifier, identities = _setup(token)
    return await run_check(
        "authentication.jwt_claims",
        baseline=make_baseline([(ITEMS, verifier)]),
        scan=scan,
        identities=identities,
    )


async def _forgery(
    token: str, server: Callable[[Request], Response]
) -> tuple[list[Finding], FakeSender]:
    scan, verifier, identities = _setup(token)
    sender = FakeSender({("GET", "/items"): server})
    found = await run_check(
        "authentication.jwt_forgery",
        baseline=make_baseline([(ITEMS, verifier)]),
        sender=sender,
        scan=scan,
        identities=identities,
    )
    return found, sender


# --- jwt_claims: weak secret, missing claims, sensitive claims ---------------------------------


async def test_jwt_claims_check_reports_a_token_signed_with_a_dictionary_secret() -> None:
    found = await _claims(_mint(CLAIMS, "sunshine"))

    assert [(f.type_id, f.operation, f.confidence) for f in found] == [
        ("authentication.jwt-weak-secret", "*", Confidence.confirmed)
    ]
    assert "'su****ne'" in found[0].detail and "sunshine" not in found[0].detail
    assert [e.label for e in found[0].evidence] == ["token accepted"]


async def test_jwt_claims_check_cracks_hs512_and_the_token_s_own_issuer() -> None:
    found = await _claims(_mint({**CLAIMS, "iss": "acme-billing"}, "acme-billing", alg="HS512"))

    assert [f.type_id for f in found] == ["authentication.jwt-weak-secret"]


@pytest.mark.parametrize("secret", ["7", "004711", "999999"])
async def test_jwt_claims_check_cracks_every_secret_of_up_to_six_digits(secret: str) -> None:
    found = await _claims(_mint(CLAIMS, secret))

    assert [f.type_id for f in found] == ["authentication.jwt-weak-secret"]


async def test_jwt_claims_check_cracks_a_common_password_of_the_compressed_wordlist() -> None:
    word = wordlist()[100_000]
    assert word not in dictionary()

    found = await _claims(_mint(CLAIMS, word))

    assert [f.type_id for f in found] == ["authentication.jwt-weak-secret"]
    assert word not in found[0].detail


async def test_jwt_claims_check_stays_quiet_for_seven_digits_and_a_mangled_word() -> None:
    # just past the search: a seven-digit number, and a word with a suffix no list holds
    for secret in ("1234567x", "0000000"):
        assert await _claims(_mint(CLAIMS, secret)) == []


async def test_jwt_claims_check_stays_quiet_for_a_random_secret_and_complete_claims() -> None:
    assert await _claims(_mint(CLAIMS)) == []


async def test_jwt_claims_check_reports_a_token_without_exp_as_medium() -> None:
    claims = {k: v for k, v in CLAIMS.items() if k != "exp"}

    found = await _claims(_mint(claims))

    assert [(f.type_id, f.parameter, f.severity) for f in found] == [
        ("authentication.jwt-missing-claims", "exp", Severity.medium)
    ]
    assert "never expires" in found[0].detail


async def test_jwt_claims_check_reports_missing_issuer_and_audience_only_as_info() -> None:
    # Superset's tokens: signed with the instance's own key, which no other issuer shares
    found = await _claims(_mint({"sub": "u-alice", "exp": CLAIMS["exp"]}))

    assert [(f.parameter, f.severity) for f in found] == [("iss,aud", Severity.info)]


async def test_jwt_claims_check_reports_passwords_and_ssns_in_claims() -> None:
    claims = {**CLAIMS, "email": "alice@example.com", "password": "hunter2", "ssn": "123-45-6789"}

    found = await _claims(_mint(claims))

    assert {(f.type_id, f.parameter) for f in found} == {
        ("authentication.jwt-sensitive-claims", "password"),
        ("authentication.jwt-sensitive-claims", "ssn"),
    }


async def test_jwt_claims_check_reads_tokens_that_responses_hand_out() -> None:
    handed = _mint({"sub": "u-9"}, "changeme")
    session = exchange("GET", "/session", response(200, {"token": handed}), operation=LOGIN.key)

    found = await run_check("authentication.jwt_claims", baseline=make_baseline([(LOGIN, session)]))

    assert [f.type_id for f in found] == ["authentication.jwt-weak-secret"]
    assert "the response to `GET /session`" in found[0].detail
    assert [e.label for e in found[0].evidence] == ["token handed out"]


async def test_jwt_claims_check_ignores_example_tokens_of_a_served_api_description() -> None:
    docs = Operation(method="GET", path="/openapi.json")
    example = _mint({"sub": "1234567890"}, "your-256-bit-secret")
    document = {"openapi": "3.0.3", "paths": {}, "info": {"description": f"Bearer {example}"}}
    served = exchange("GET", "/openapi.json", response(200, document), operation=docs.key)

    found = await run_check("authentication.jwt_claims", baseline=make_baseline([(docs, served)]))

    assert found == []


async def test_jwt_claims_check_ignores_credentials_that_are_not_jwts() -> None:
    assert await _claims("opaque-session-token-0042") == []


# --- jwt_forgery: alg=none, tampered signature, expired ----------------------------------------


async def test_jwt_forgery_check_reports_an_unsigned_token_accepted() -> None:
    found, _ = await _forgery(_mint(CLAIMS), _server(allow_none=True))

    assert [(f.type_id, f.confidence) for f in found] == [
        ("authentication.jwt-alg-none", Confidence.confirmed)
    ]
    assert [e.label for e in found[0].evidence] == ["forged token", "anonymous", "real token"]
    assert [e.status for e in found[0].evidence] == [200, 401, 200]


async def test_jwt_forgery_check_stays_quiet_when_the_verifier_checks_everything() -> None:
    found, sender = await _forgery(_mint(CLAIMS), _server())

    assert found == []
    forged = [r for r in sender.sent if "authorization" in r.headers]
    assert len(forged) == 3  # alg none, None, and a tampered signature; no secret to re-sign


async def test_jwt_forgery_check_reports_a_wrong_signature_accepted() -> None:
    found, _ = await _forgery(_mint(CLAIMS), _server(verify=False))

    assert [f.type_id for f in found] == ["authentication.jwt-tampered-signature"]


async def test_jwt_forgery_check_reports_unverified_signatures_once_not_also_as_alg_none() -> None:
    # one root cause: a verifier that checks no signature accepts alg=none too
    found, sender = await _forgery(_mint(CLAIMS), _server(verify=False, allow_none=True))

    assert [f.type_id for f in found] == ["authentication.jwt-tampered-signature"]
    assert "not verified at all" in found[0].detail
    assert all('"none"' not in _parts_header(r) for r in sender.sent)


async def test_jwt_forgery_check_never_sends_the_real_token_or_its_signature() -> None:
    token = _mint(CLAIMS)
    _, sender = await _forgery(token, _server())

    real_signature = token.rsplit(".", 1)[1]
    for request in sender.sent:
        value = request.headers.get("authorization") or ""
        assert real_signature not in value and token not in value


async def test_jwt_forgery_check_reports_an_expired_token_re_signed_with_the_cracked_secret() -> (
    None
):
    found, sender = await _forgery(_mint(CLAIMS, "secret"), _server("secret", check_exp=False))

    assert [f.type_id for f in found] == ["authentication.jwt-expired-accepted"]
    assert "re-signed" in found[0].detail and "'se****et'" in found[0].detail
    resigned = _parts(sender.sent[-1].headers.get("authorization", "").removeprefix("Bearer "))
    assert resigned[1]["exp"] < time.time() and resigned[1]["sub"] == "u-alice"


async def test_jwt_forgery_check_stays_quiet_when_expiry_is_checked() -> None:
    found, _ = await _forgery(_mint(CLAIMS, "secret"), _server("secret"))

    assert found == []


async def test_jwt_forgery_check_reports_the_scan_s_own_expired_token_still_accepted() -> None:
    expired = _mint({**CLAIMS, "exp": int(time.time()) - 7200})

    found, _ = await _forgery(expired, _server(check_exp=False))

    assert [(f.type_id, f.confidence) for f in found] == [
        ("authentication.jwt-expired-accepted", Confidence.confirmed)
    ]
    assert "expired at" in found[0].detail


async def test_jwt_forgery_check_stays_quiet_without_an_operation_that_refuses_anonymous() -> None:
    scan, verifier, _ = _setup(_mint(CLAIMS))
    sender = FakeSender({("GET", "/items"): _server(allow_none=True)})

    found = await run_check(
        "authentication.jwt_forgery",
        baseline=make_baseline([(ITEMS, verifier)]),
        sender=sender,
        scan=scan,
        identities=Identities(primary=Identity("default", None)),
    )

    assert found == [] and sender.sent == []


async def test_jwt_forgery_check_finds_where_a_handed_out_token_works_in_an_anonymous_scan() -> (
    None
):
    handed = _mint(CLAIMS)
    session = exchange("GET", "/session", response(200, {"token": handed}), operation=LOGIN.key)
    refused = exchange("GET", "/items", DENY, operation=ITEMS.key)
    sender = FakeSender({("GET", "/items"): _server(allow_none=True)})

    found = await run_check(
        "authentication.jwt_forgery",
        baseline=make_baseline([(LOGIN, session), (ITEMS, refused)]),
        sender=sender,
    )

    assert [f.type_id for f in found] == ["authentication.jwt-alg-none"]


# --- the dictionary -----------------------------------------------------------------------------


def test_jwt_wordlist_holds_over_100000_common_passwords_and_words_without_short_numbers() -> None:
    words = wordlist()

    assert len(words) >= 100_000 and len(set(words)) == len(words)
    assert {"password", "dragon", "Dragon", "letmein", "michael"} <= set(words)
    assert not [w for w in words if w.isdigit() and len(w) <= 6]


def test_jwt_secret_dictionary_is_bounded_and_holds_the_well_known_defaults() -> None:
    secrets = dictionary()

    assert 100 <= len(secrets) <= 1000 and len(set(secrets)) == len(secrets)
    assert {"secret", "your-256-bit-secret", "changeme", "keyboard cat", "sunshine"} <= set(secrets)


def test_jwt_secret_dictionary_refuses_duplicates_and_empty_values() -> None:
    with pytest.raises(ValidationError, match="duplicate secrets"):
        _SecretList.model_validate({"secrets": ["secret", "secret"]})
    with pytest.raises(ValidationError, match="1-256 characters"):
        _SecretList.model_validate({"secrets": [""]})
