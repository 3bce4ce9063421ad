"""The shop (SQLite) and blog (PostgreSQL) flaws behind the ground truth, by direct requests.

Each test sends the request a flaw answers and shows the secure twin refusing it, so a change
of the lab shows here before it shows in the scans.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from lab.runner import Lab
from tests.lab.conftest import running

pytestmark = pytest.mark.lab


def test_shop_formats_the_category_into_sqlite_and_its_twin_binds_it(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    broken = {"category": "books'"}
    condition = {"category": "books' AND 'mb' LIKE 'mc"}

    error = http("GET", vulnerable.url + "/api/v2/products", params=broken)
    false = http("GET", vulnerable.url + "/api/v2/products", params=condition)

    assert error.status == 500 and "unrecognized token" in error.text
    assert false.status == 200 and false.json()["data"] == []
    assert http("GET", secure.url + "/api/v2/products", params=broken).json()["data"] == []


def test_shop_lets_only_managers_add_products_and_its_twin_checks_changes_too(
    lab: Lab, http: Any
) -> None:
    product = {"slug": "lab-check-1", "name": "Lab check", "category": "books", "price_cents": 1}
    change = {"name": "Lab check", "category": "tools", "price_cents": 2}
    answers = {}
    for variant in ("vulnerable", "secure"):
        target = running(lab, "shop", variant)
        url, dave, alice = (
            target.url + "/api/v2/products",
            target.tokens["dave"],
            target.tokens["alice"],
        )
        refused = http("POST", url, token=alice, json_body=product)
        added = http("POST", url, token=dave, json_body=product)
        put = http("PUT", url + "/lab-check-1", token=alice, json_body=change)
        removed = http("DELETE", url + "/lab-check-1", token=alice)
        http("DELETE", url + "/lab-check-1", token=dave)  # the manager cleans up
        answers[variant] = (refused.status, added.status, put.status, removed.status)

    assert answers["vulnerable"] == (403, 201, 200, 204)  # customers change and remove
    assert answers["secure"] == (403, 201, 403, 403)


def test_shop_formats_a_new_reviews_title_into_its_insert_and_its_twin_binds_it(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    review = {"product_slug": "pocket-guide", "title": "clear'"}

    error = http(
        "POST",
        vulnerable.url + "/api/v2/reviews",
        token=vulnerable.tokens["alice"],
        json_body=review,
    )
    bound = http(
        "POST", secure.url + "/api/v2/reviews", token=secure.tokens["alice"], json_body=review
    )
    gone = http(
        "DELETE", f"{secure.url}/api/v2/reviews/{bound.json()['id']}", token=secure.tokens["alice"]
    )

    assert error.status == 500 and "unrecognized token" in error.text
    assert bound.status == 201 and bound.json()["title"] == "clear'"
    assert gone.status == 204


def test_shop_formats_a_reviews_new_title_into_its_update_and_its_twin_binds_it(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    review = {"product_slug": "pocket-guide", "title": "to retitle"}
    results = []
    for target in (vulnerable, secure):
        token = target.tokens["alice"]
        made = http("POST", target.url + "/api/v2/reviews", token=token, json_body=review)
        url = f"{target.url}/api/v2/reviews/{made.json()['id']}"
        results.append(http("PATCH", url, token=token, json_body={"title": "clear'"}))
        http("DELETE", url, token=token)

    assert results[0].status == 500 and "unrecognized token" in results[0].text
    assert results[1].status == 200 and results[1].json()["title"] == "clear'"


def test_shop_fetches_a_reviews_image_url_and_its_twin_allows_one_host(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    review = {"product_slug": "pocket-guide", "title": "fetch", "image_url": vulnerable.url + "/"}
    remote = {**review, "image_url": "http://192.0.2.1/a.png"}

    fetched = http(
        "POST",
        vulnerable.url + "/api/v2/reviews",
        token=vulnerable.tokens["alice"],
        json_body=review,
    )
    refused = http(
        "POST",
        vulnerable.url + "/api/v2/reviews",
        token=vulnerable.tokens["alice"],
        json_body=remote,
    )
    allowed = http(
        "POST", secure.url + "/api/v2/reviews", token=secure.tokens["alice"], json_body=review
    )
    http(
        "DELETE",
        f"{vulnerable.url}/api/v2/reviews/{fetched.json()['id']}",
        token=vulnerable.tokens["alice"],
    )

    assert fetched.status == 201 and fetched.json()["image_bytes"] is not None
    assert refused.status == 422  # the lab never leaves loopback
    assert allowed.status == 422


def test_shop_matches_a_new_reviews_slug_with_a_catastrophic_pattern(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    evil = {"product_slug": "a" * 24 + "!", "title": "slow"}  # 2^24 steps: ~1 s here
    took = []
    for target in (vulnerable, secure):
        started = time.perf_counter()
        refused = http(
            "POST", target.url + "/api/v2/reviews", token=target.tokens["alice"], json_body=evil
        )
        took.append(time.perf_counter() - started)
        assert refused.status == 422

    assert took[0] > 0.2 and took[1] < took[0] / 4


def test_shop_runs_the_timestamp_through_a_shell_and_its_twin_does_not(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    value = {"value": "1700000000$(echo mbzq$((6*7)))"}

    shell = http(
        "GET",
        vulnerable.url + "/api/v2/tools/timestamp",
        token=vulnerable.tokens["alice"],
        params=value,
    )
    argv = http(
        "GET", secure.url + "/api/v2/tools/timestamp", token=secure.tokens["alice"], params=value
    )

    assert shell.status == 400 and "mbzq42" in shell.text
    assert argv.status == 400 and "mbzq42" not in argv.text


def test_shop_checks_e_mails_with_a_catastrophic_pattern(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    evil = {"email": "a" * 21 + "!"}

    started = time.perf_counter()
    http("GET", vulnerable.url + "/api/v2/auth/check-email", params=evil)
    slow = time.perf_counter() - started
    started = time.perf_counter()
    http("GET", secure.url + "/api/v2/auth/check-email", params=evil)
    fast = time.perf_counter() - started

    assert slow > fast


def test_blog_shows_postgresql_errors_and_its_twin_answers_400(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "blog", "vulnerable"), running(lab, "blog", "secure")

    search = http("GET", vulnerable.url + "/api/v2/articles/search/", params={"q": "x'"})
    regex = http("GET", vulnerable.url + "/api/v2/articles/", params={"title__regex": "a("})
    fixed = http("GET", secure.url + "/api/v2/articles/", params={"title__regex": "a("})

    assert search.status == 500 and "unterminated quoted string" in search.text
    assert regex.status == 500 and "invalid regular expression" in regex.text
    assert fixed.status == 400
    assert "Django REST framework" in (vulnerable_header := search.header("X-Powered-By") or "")
    assert "Python" in vulnerable_header and secure.auth_scheme == "Token"


def test_blog_counts_views_with_the_referer_formatted_into_sql(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "blog", "vulnerable"), running(lab, "blog", "secure")
    sleep = {"Referer": "'||(SELECT ''FROM pg_sleep(1))||'"}

    started = time.perf_counter()
    assert http("GET", vulnerable.url + "/api/v2/articles/post-1/", headers=sleep).status == 200
    delayed = time.perf_counter() - started
    started = time.perf_counter()
    assert http("GET", secure.url + "/api/v2/articles/post-1/", headers=sleep).status == 200
    bound = time.perf_counter() - started

    assert delayed >= 1.0 and delayed - bound > 0.5


def _blog_user(http: Any, url: str, name: str, **extra: Any) -> str:
    """Register ``name`` on the blog at ``url`` and return its token."""
    body = {"username": name, "email": f"{name}@example.com", "password": "Mb-long-pass-1!"}
    assert http("POST", url + "/api/v2/auth/register/", json_body={**body, **extra}).status == 201
    login = {"username": name, "password": "Mb-long-pass-1!"}
    return str(http("POST", url + "/api/v2/auth/login/", json_body=login).json()["token"])


@pytest.mark.parametrize("variant", ["vulnerable", "secure"])
def test_blog_accounts_flaws_and_their_twins(lab: Lab, http: Any, variant: str) -> None:
    blog = running(lab, "blog", variant)
    vulnerable = variant == "vulnerable"
    one = _blog_user(http, blog.url, f"mbtest1{variant[0]}", role="admin")
    two = _blog_user(http, blog.url, f"mbtest2{variant[0]}")
    me = http("GET", blog.url + "/api/v2/auth/me/", token=one, scheme="Token").json()
    taken = http(
        "PUT",
        blog.url + f"/api/v2/auth/users/mbtest2{variant[0]}/password/",
        token=one,
        scheme="Token",
        json_body={"password": "Mb-other-pass-2!"},
    )
    slow = "a" * 24 + "!"  # 22 letters backtrack about 0.2 s on a slow machine; 24, four times that
    started = time.perf_counter()
    email = http(
        "PUT",
        blog.url + f"/api/v2/auth/users/mbtest1{variant[0]}/email/",
        token=one,
        scheme="Token",
        json_body={"email": slow},
    )
    took = time.perf_counter() - started
    out = http("POST", blog.url + "/api/v2/auth/logout/", token=one, scheme="Token")
    after = http("GET", blog.url + "/api/v2/auth/me/", token=one, scheme="Token")

    assert me["user"]["role"] == ("admin" if vulnerable else "reader")
    assert taken.status == (204 if vulnerable else 403)
    assert email.status == 400 and (took > 0.2 if vulnerable else took < 0.2)
    assert out.status == 200 and after.status == (200 if vulnerable else 401)
    # clean up: each user deletes its own account with DELETE /me (a fresh login where the
    # token is gone); its token no longer works
    if not vulnerable:
        one = _blog_login(http, blog.url, f"mbtest1{variant[0]}", "Mb-long-pass-1!")
    else:
        two = _blog_login(http, blog.url, f"mbtest2{variant[0]}", "Mb-other-pass-2!")
    for token in (one, two):
        url = blog.url + "/api/v2/auth/me/"
        assert http("DELETE", url, token=token, scheme="Token").status == 204
        assert http("GET", url, token=token, scheme="Token").status == 401


def _blog_login(http: Any, url: str, name: str, password: str) -> str:
    login = {"username": name, "password": password}
    return str(http("POST", url + "/api/v2/auth/login/", json_body=login).json()["token"])


def _forged(token: str, header: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """``token``'s claims under ``header``, signed by ``sign`` over the signing input."""
    claims = jwt.decode(token, options={"verify_signature": False})
    part = [_b64(json.dumps(x).encode()) for x in (header, claims)]
    signing_input = f"{part[0]}.{part[1]}".encode()
    return f"{signing_input.decode()}.{_b64(sign(signing_input))}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_shop_reads_the_kid_as_a_key_file_and_its_twin_does_not(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    header = {"alg": "HS256", "typ": "JWT", "kid": "../../../../../../../../dev/null"}

    def empty_key(data: bytes) -> bytes:
        return hmac.new(b"", data, hashlib.sha256).digest()

    for target, status in ((vulnerable, 200), (secure, 401)):
        token = _forged(target.tokens["alice"], header, empty_key)
        assert http("GET", target.url + "/api/v2/me", token=token).status == status


def test_shop_takes_the_algorithm_from_the_token_and_its_twin_fixes_rs256(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    for target, status in ((vulnerable, 200), (secure, 401)):
        key_set = http("GET", target.url + "/.well-known/jwks.json").json()["keys"][0]
        pem = jwt.PyJWK(key_set).key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": key_set["kid"]}
        token = _forged(
            target.tokens["alice"], header, lambda d, k=pem: hmac.new(k, d, hashlib.sha256).digest()
        )
        assert http("GET", target.url + "/api/v2/me", token=token).status == status


def test_shop_login_names_unknown_users_and_its_twin_does_not(lab: Lab, http: Any) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    for target, unknown_status in ((vulnerable, 404), (secure, 401)):
        url = target.url + "/api/v2/auth/login"
        known = http("POST", url, json_body={"username": "bob", "password": "not-his-password"})
        unknown = http("POST", url, json_body={"username": "mb-nobody", "password": "x" * 10})
        assert (known.status, unknown.status) == (401, unknown_status)


def test_shop_login_never_limits_guessing_and_its_twin_locks_after_five(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "shop", "vulnerable"), running(lab, "shop", "secure")
    for target, last in ((vulnerable, 404), (secure, 429)):
        body = {"username": f"mb-guess-{target.variant}-{time.time_ns()}", "password": "x" * 10}
        answers = [
            http("POST", target.url + "/api/v2/auth/login", json_body=body) for _ in range(6)
        ]
        assert answers[-1].status == last


def test_blog_login_never_limits_guessing_and_its_twin_locks_after_five(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "blog", "vulnerable"), running(lab, "blog", "secure")
    for target, last in ((vulnerable, 400), (secure, 429)):
        body = {"username": f"mb-guess-{target.variant}-{time.time_ns()}", "password": "x" * 10}
        url = target.url + "/api/v2/auth/login/"
        answers = [http("POST", url, json_body=body) for _ in range(6)]
        assert answers[-1].status == last


def test_blog_never_limits_wrong_one_time_codes_and_its_twin_locks_after_five(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "blog", "vulnerable"), running(lab, "blog", "secure")
    for target, last in ((vulnerable, 400), (secure, 429)):
        user = f"mb-guess-{target.variant}-{time.time_ns()}"
        url = target.url + "/api/v2/auth/otp/verify/"
        answers = [
            http("POST", url, json_body={"username": user, "code": f"{n:06d}"}) for n in range(6)
        ]
        assert answers[-1].status == last


def test_blog_registration_says_a_name_is_taken_before_validating_and_its_twin_does_not(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "blog", "vulnerable"), running(lab, "blog", "secure")
    for target, taken in ((vulnerable, 409), (secure, 400)):
        url = target.url + "/api/v2/auth/register/"
        body = {"username": "bob", "email": "mb@example.invalid"}  # no password
        assert http("POST", url, json_body=body).status == taken
        unknown = {**body, "username": f"mb{time.time_ns()}"}
        assert http("POST", url, json_body=unknown).status == 400


def test_blog_login_hashes_only_for_existing_users_and_its_twin_for_everyone(
    lab: Lab, http: Any
) -> None:
    vulnerable, secure = running(lab, "blog", "vulnerable"), running(lab, "blog", "secure")
    for target in (vulnerable, secure):
        url = target.url + "/api/v2/auth/login/"
        times: dict[bool, float] = {}
        for user in ("carol", f"mb-nobody-{time.time_ns()}"):
            tries = []
            for _ in range(3):  # the fastest of three: a stall of a busy machine is no hash
                started = time.monotonic()
                answer = http("POST", url, json_body={"username": user, "password": "wrong" * 3})
                tries.append(time.monotonic() - started)
                assert answer.status == 400
            times[user == "carol"] = min(tries)
        gap = times[True] - times[False]
        assert (gap > 0.1) if target is vulnerable else (abs(gap) < 0.5 * times[True])
