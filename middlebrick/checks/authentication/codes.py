"""Authentication: one-time codes (OTP, TOTP, PIN, e-mail or SMS codes) and their guessing.

Active mode only: a code is checked by a POST. The attempts are made for a user the scan made
up and without the scan's credentials, so no real account and none of the scan's identities is
ever locked.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from middlebrick.checks._bodies import json_body
from middlebrick.checks.authentication import _auth_answers as replies
from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import check
from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Exchange, Headers, Request
from middlebrick.http.wording import authenticates, verifies_code, words
from middlebrick.spec.model import Operation

_CODES = "authentication.no-code-brute-force-protection"

# Body fields that carry a one-time code, compared without "_"/"-" and case: RFC 4226 / 6238
# (HOTP, TOTP: `otp`, `totp`), django-otp (`otp_token`), Devise two-factor (`otp_attempt`),
# Auth0's MFA API (`otp`), Twilio Verify and Firebase phone auth (`code`), AWS Cognito
# (`ConfirmationCode`, `MFACode`), Okta's Factors API (`passCode`), and the `pin`,
# `verification_code`, `two_factor_code` of other auth kits.
_SPECIFIC = frozenset(
    {
        "otp",
        "otpcode",
        "otptoken",
        "otpattempt",
        "totp",
        "totpcode",
        "hotp",
        "mfacode",
        "mfatoken",
        "mfaotp",
        "passcode",
        "verificationcode",
        "confirmationcode",
        "twofactorcode",
        "twofactortoken",
        "2facode",
        "smscode",
        "emailcode",
        "securitycode",
        "onetimecode",
        "onetimepassword",
        "pincode",
    }
)
# Generic names: a code only when the path names authentication (a `code` elsewhere is as
# likely a coupon, a country or an error code) and the code is short: its schema says 4-8
# characters or an integer, or the path names a one-time code (`otp`, `mfa`, `2fa` …).
_GENERIC = frozenset({"code", "pin"})
_CODE_PATH_WORDS = frozenset({"otp", "totp", "hotp", "mfa", "2fa", "twofactor", "pin", "sms"})
# OAuth 2.0's authorization-code exchange (RFC 6749 §4.1.3, RFC 7636) sends a `code` too: a
# long random value nobody guesses. A body with these fields is that exchange.
_OAUTH_FIELDS = frozenset({"granttype", "clientid", "redirecturi", "codeverifier"})
# A schema pattern of 4 to 8 digits (`^\d{6}$`, `^[0-9]{4,8}$`) makes any string field a code.
_DIGITS_PATTERN = re.compile(r"^\^?(?:\\d|\[0-9\])\{(\d)(?:,(\d))?\}\$?$")
# Login fields (the login check's): a body with a password is a login, not a code check.
_PASSWORD_FIELDS = frozenset({"password", "passwd", "pass"})
_USER_FIELDS = frozenset({"username", "user", "login", "email", "identifier", "userid", "phone"})
# Words an answer about the code uses ("invalid code", "wrong OTP", "PIN incorrect"): an
# answer without them (401 "credentials were not provided", 404 "user not found") is not about
# the code and proves nothing about guessing it.
_CODE_WORDS = frozenset({"code", "otp", "totp", "pin", "passcode", "verification"})
_ATTEMPTS = 20  # wrong codes for one made-up user; a code limit trips well before (often 3-5)
_OPERATIONS = 2  # code operations probed in one scan
_GUESSES_LEFT = 100


@dataclass(frozen=True)
class _CodeCheck:
    operation: Operation
    url: str
    body: dict[str, Any]
    field: str
    length: int
    user_field: str | None

    def request(self, user: str, code: str) -> Request:
        """An anonymous check of ``code`` for ``user`` (the other fields as documented)."""
        body = {**self.body, self.field: code}
        if self.user_field is not None:
            body[self.user_field] = user
        headers = Headers().set("Content-Type", "application/json")
        request = Request("POST", self.url, headers, json.dumps(body).encode())
        return replace(request.without_credentials(), burst=True)

    def unknown_user(self) -> str:
        """A user no account has, in the form of the user field (an e-mail when it says so)."""
        name = f"mb-{secrets.token_hex(6)}"
        field = self.user_field or ""
        if "email" in replies.plain(field):
            return f"{name}@example.invalid"
        return "+15550100" + str(secrets.randbelow(90) + 10) if "phone" in field.lower() else name


@check(
    category="authentication",
    emits={_CODES},
    mode="active",
    max_requests=_OPERATIONS * _ATTEMPTS,
)
async def code_guessing(ctx: CheckContext) -> AsyncIterator[Finding]:
    """One-time codes (OTP, TOTP, PIN, e-mail or SMS codes) that can be guessed without limit.

    Finds the operations that check a code: a POST with a JSON body whose field is named as one
    (``otp``, ``totp``, ``otp_token``, ``otp_attempt``, ``mfa_code``, ``passcode``,
    ``verification_code``, ``confirmation_code`` …; ``code`` or ``pin`` only when the path
    names authentication and the code is short: an integer, at most 8 characters, or a path
    naming ``otp``, ``mfa``, ``2fa``, ``sms`` …), or whose string field's schema pattern is 4
    to 8 digits (``^\\d{6}$``), and which has no password field (that is a login) and is no
    OAuth code exchange (``grant_type``, ``client_id``, ``redirect_uri``). The first two are
    probed.

    Sends 20 different wrong codes of the documented length (6 digits when none is said), for
    one made-up user (in the body's user, e-mail or phone field, if it has one) and without the
    scan's credentials: one alone (the server's own time), then the others at once (at the
    ``--rate`` / ``--concurrency`` caps). Reported
    (tentative: a limit that protects only real users' codes does not show with a made-up one)
    when every answer has the first one's status and refuses the code (a 4xx other than 404,
    405, 413, 415, or a 2xx without a credential) in words about the code (``code``, ``otp``,
    ``pin``, ``passcode``, ``verification``, or the field's name except in a 401 or 403: an
    answer about missing credentials or an unknown user proves nothing), none is 429 or 423,
    none carries ``Retry-After``, none was held back (``slowed``: a server that answers one
    attempt after another at its own pace is no tarpit), and rate-limit headers, if any,
    still announce at least 100 requests left. The detail says how many codes went to which
    operation in what time, and what they were answered.
    """
    for found in _code_checks(ctx)[:_OPERATIONS]:
        finding = await _guess(ctx, found)
        if finding is not None:
            yield finding


async def _guess(ctx: CheckContext, target: _CodeCheck) -> Finding | None:
    user = target.unknown_user()
    codes = _wrong_codes(target.length)

    started = time.monotonic()
    lone = await replies.timed(ctx.send, target.request(user, codes[0]))  # the server's own time
    burst = await asyncio.gather(
        *(replies.timed(ctx.send, target.request(user, code)) for code in codes[1:])
    )
    elapsed = max(time.monotonic() - started, 1e-3)
    answers = [(t.exchange, t.took) for t in (lone, *burst)]
    first = replies.status(lone.exchange)
    if first is None or replies.held_back(burst, lone.took):
        return None
    for exchange, _ in answers:
        if replies.limited(exchange) or replies.status(exchange) != first:
            return None
        if not _refuses_code(exchange, target.field):
            return None
    left = min((b for ex, _ in answers if (b := replies.budget(ex)) is not None), default=None)
    if left is not None and left < _GUESSES_LEFT:
        return None
    budget = "" if left is None else f"; its rate-limit headers still allowed {left} more"
    said = _excerpt(answers[-1][0])
    key = target.operation.key
    return ctx.finding(
        _CODES,
        target.operation,
        parameter=target.field,
        detail=f"{len(codes)} wrong {target.length}-digit codes for one made-up user, sent at "
        f"once to `{key}`, answered in {elapsed:.1f} s ({len(codes) / elapsed:.0f}/s), all "
        f"{first} {said}: none was refused (429/423), slowed down, or carried Retry-After"
        f"{budget}; at this pace the {10**target.length:,} codes of that length take "
        f"{10**target.length / (len(codes) / elapsed) / 3600:.1f} h (a limit that protects only "
        "real users' codes would not show with a made-up user)",
        evidence=[("attempt 1", answers[0][0]), (f"attempt {len(codes)}", answers[-1][0])],
        confidence=Confidence.tentative,
    )


def _code_checks(ctx: CheckContext) -> list[_CodeCheck]:
    """The POSTs that check a code, in surface order."""
    urls = {op.path: ex.request.url for op, ex in ctx.baseline.items()}
    found: list[_CodeCheck] = []
    for op in ctx.surface.operations:
        if op.method != "POST" or "{" in op.path or op.request_body is None:
            continue
        body = json_body(op)
        properties = op.request_body.schema.get("properties")
        if body is None or not isinstance(properties, dict):
            continue
        if any(replies.plain(k) in _PASSWORD_FIELDS for k in body):
            continue
        field = _code_field(op, properties)
        if field is None or field not in body:
            continue
        length = _length(properties.get(field))
        user = next((k for k in body if replies.plain(k) in _USER_FIELDS), None)
        url = (urls.get(op.path) or ctx.url(op.path)).split("?", 1)[0]
        if ctx.may_send("POST", url):
            found.append(_CodeCheck(op, url, body, field, length, user))
    return found


def _code_field(op: Operation, properties: dict[str, Any]) -> str | None:
    """The body field that carries the code: named so, or a string of 4-8 digits by pattern."""
    if {replies.plain(str(k)) for k in properties} & _OAUTH_FIELDS:
        return None
    auth_path = authenticates(op.path) or verifies_code(op.path)
    joined = {replies.plain(segment) for segment in op.path.split("/")}
    code_path = bool(joined & _CODE_PATH_WORDS) or bool(set(words(op.path)) & _CODE_PATH_WORDS)
    for name, schema in properties.items():
        plain = replies.plain(name)
        if plain in _SPECIFIC:
            return str(name)
        if auth_path and plain in _GENERIC and (code_path or _short(schema)):
            return str(name)
        if isinstance(schema, dict) and _digits(schema.get("pattern")) is not None:
            return str(name)
    return None


def _digits(pattern: object) -> int | None:
    """The length a pattern of 4 to 8 digits asks for (its shortest), else ``None``."""
    if not isinstance(pattern, str):
        return None
    matched = _DIGITS_PATTERN.match(pattern.strip())
    if matched is None or not 4 <= int(matched.group(1)) <= 8:
        return None
    return int(matched.group(1))


def _short(schema: object) -> bool:
    """A schema of a short code: an integer, a 4-8 digit pattern or at most 8 characters."""
    if not isinstance(schema, dict):
        return False
    most = schema.get("maxLength")
    return (
        schema.get("type") == "integer"
        or _digits(schema.get("pattern")) is not None
        or (isinstance(most, int) and 4 <= most <= 8)
    )


def _length(schema: object) -> int:
    """The code's length from its schema (pattern, or equal min/max length), else 6."""
    if isinstance(schema, dict):
        by_pattern = _digits(schema.get("pattern"))
        if by_pattern is not None:
            return by_pattern
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(low, int) and low == high and 4 <= low <= 8:
            return low
    return 6


def _wrong_codes(length: int) -> list[str]:
    """Different random codes of ``length`` digits (a real code is hit with odds ~20/10^n)."""
    codes: set[str] = set()
    while len(codes) < _ATTEMPTS:
        codes.add(f"{secrets.randbelow(10**length):0{length}d}")
    return sorted(codes)


def _refuses_code(exchange: Exchange, field: str) -> bool:
    """An answer that refuses the code: a failed check (4xx but 404, 405, 413, 415, or a 2xx
    without a credential) that speaks of the code."""
    code = replies.status(exchange)
    if code is None or code in (404, 405, 413, 415) or code >= 500:
        return False
    if not replies.failed(exchange) or exchange.response is None:
        return False
    text = exchange.response.text[:4096]
    said = set(words(text))
    if said & _CODE_WORDS:
        return True
    # the field's own name ("otp_token is invalid"), but not a 401/403 about a missing token
    return code not in (401, 403) and (field.lower() in text.lower() or field in said)


def _excerpt(exchange: Exchange) -> str:
    resp = exchange.response
    text = " ".join(resp.text[:120].split()) if resp is not None else ""
    return f"(`{text}`)" if text else ""
