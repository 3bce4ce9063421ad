"""Judgement a regex cannot make: Luhn, SSN context, entropy, the scan's own hosts.

``VALIDATORS`` maps a signature id to a function that keeps (``True``) or drops a candidate
match. A contract test checks that every key names a signature of the packs.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from middlebrick.checks._field_names import key_tokens, names
from middlebrick.checks._net import origin, same_host
from middlebrick.checks._signatures import Candidate, ScanEnv

Validator = Callable[[Candidate, ScanEnv], bool]


def shannon_entropy(value: str) -> float:
    """Bits of entropy per character of ``value``."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = ord(char) - 48
        if index % 2:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


def _own(value: str, env: ScanEnv) -> bool:
    return value in env.own_secrets


_PLACEHOLDER = re.compile(
    r"(?i)x{6,}|\*{3,}|\.\.\.|redacted|example|sample|dummy|placeholder|changeme|your[_-]|<|\$\{|\{\{"
)

# --- personal data --------------------------------------------------------------------------

_ROLE_MAILBOXES = {
    "support", "contact", "info", "help", "hello", "security", "privacy", "noreply", "no-reply",
    "donotreply", "do-not-reply", "abuse", "postmaster", "webmaster", "hostmaster", "sales",
    "legal", "admin", "api", "team", "git", "dev", "developers", "feedback", "press", "jobs",
}  # fmt: skip
# Addresses that templates write in place of a real one: GNU gettext's PO header template
# (`"Language-Team: LANGUAGE <LL@li.org>\n"`, copied into every translation catalogue that
# xgettext/pybabel starts).
_TEMPLATE_ADDRESSES = {"ll@li.org"}
_FILE_TLDS = {
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js", "mjs", "map", "json", "html",
    "htm", "txt", "xml", "pdf", "zip", "gz", "woff", "woff2", "ttf", "py", "java", "ts",
}  # fmt: skip
_URL_USERINFO = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/\"'@]*\Z")


def _email(c: Candidate, env: ScanEnv) -> bool:
    address = c.value
    local, _, domain = address.rpartition("@")
    tld = domain.rsplit(".", 1)[-1].lower()
    if tld in _FILE_TLDS or local.lower() in _ROLE_MAILBOXES:
        return False
    if address.lower() in _TEMPLATE_ADDRESSES:
        return False
    return not _URL_USERINFO.search(c.before(120))


_PHONE_KEYS = {
    "phone",
    "mobile",
    "msisdn",
    "fax",
    "tel",
    "telephone",
    "cell",
    "cellphone",
    "whatsapp",
}
_PHONE_JOINED = ("phone", "mobile", "msisdn", "telephone", "cellphone")
_DATE_LIKE = re.compile(r"\+?\d{4}-\d{2}-\d{2}")
_ID_KEYS = {
    "id", "uuid", "guid", "ts", "timestamp", "time", "date", "epoch", "created", "updated",
    "expires", "expiry", "order", "invoice", "tracking", "ref", "reference", "isbn", "ean", "upc",
    "gtin", "imei", "serial", "nonce", "seq", "sequence", "count", "total", "size", "bytes",
    "version", "hash", "checksum", "zip", "postal", "amount", "price", "sku", "number",
}  # fmt: skip


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def phone_key(key: str | None) -> bool:
    """True when a field name says it holds a phone number (``phone``, ``mobileNumber`` …)."""
    tokens = key_tokens(key)
    return bool(tokens & _PHONE_KEYS) or names(key, _PHONE_JOINED)


def _phone_common(c: Candidate) -> bool:
    digits = _digits(c.value)
    if not 8 <= len(digits) <= 15 or len(set(digits)) < 3 or _DATE_LIKE.match(c.value):
        return False
    tokens = key_tokens(c.key)
    return phone_key(c.key) or not (tokens & _ID_KEYS)


def _phone_international(c: Candidate, env: ScanEnv) -> bool:
    return _phone_common(c)


def _phone_nanp(c: Candidate, env: ScanEnv) -> bool:
    digits = _digits(c.value)[-10:]
    return digits[0] in "23456789" and digits[3] in "23456789" and _phone_common(c)


def _phone_field(c: Candidate, env: ScanEnv) -> bool:
    digits = _digits(c.value)
    if _DATE_LIKE.match(c.value) or len(set(digits)) < 3:
        return False
    return phone_key(c.key) and 7 <= len(digits) <= 15


_CARD_KEYS = {"card", "pan", "cc", "ccn", "ccnum", "creditcard", "credit", "cardnumber"}
_CARD_PHRASES = frozenset({"creditcard", "cardnumber", "cardnum", "cardno", "paymentcard"})
_IIN = re.compile(r"4|5[1-5]|2[2-7]|3[47]|3[068]|35|6(?:011|5|4[4-9]|2)")


def _card(c: Candidate, env: ScanEnv) -> bool:
    digits = _digits(c.value)
    if not 13 <= len(digits) <= 19 or len(set(digits)) < 2 or not luhn_valid(digits):
        return False
    if not _IIN.match(digits):
        return False
    tokens = key_tokens(c.key)
    if tokens & _CARD_KEYS or names(c.key, _CARD_PHRASES):
        return True
    return not tokens & _ID_KEYS


_SSN_TOKENS = {"ssn", "ssns", "tin", "itin", "sin"}
_SSN_PHRASES = frozenset(
    {"ssn", "socialsecurity", "socialsec", "taxid", "taxpayer", "taxpayerid", "nationalid"}
)
_SSN_NEARBY = re.compile(
    r"\bssns?\b|social[\s_-]?sec|tax[\s_-]?id|taxpayer|\bi?tin\b|national[\s_-]?id"
)
_SSN_PARTS = re.compile(r"(\d{3})-?(\d{2})-?(\d{4})")


def _ssn_number_ok(value: str) -> bool:
    parts = _SSN_PARTS.fullmatch(value)
    if parts is None:
        return False
    area, group, serial = parts.groups()
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def ssn_key(key: str | None) -> bool:
    """True when a field name says it holds an SSN or tax id (``ssn``, ``taxpayerId`` …)."""
    return bool(key_tokens(key) & _SSN_TOKENS) or names(key, _SSN_PHRASES)


def _ssn_in_context(c: Candidate) -> bool:
    return ssn_key(c.key) or bool(_SSN_NEARBY.search(c.before(48)))


def _ssn_dashed(c: Candidate, env: ScanEnv) -> bool:
    if not _ssn_number_ok(c.value):
        return False
    return _ssn_in_context(c) or env.context in ("medical", "financial")


def _ssn_field(c: Candidate, env: ScanEnv) -> bool:
    return _ssn_number_ok(c.value) and _ssn_in_context(c)


# --- secrets --------------------------------------------------------------------------------


def _token(c: Candidate, env: ScanEnv) -> bool:
    value = c.value
    return not _own(value, env) and not _PLACEHOLDER.search(value) and shannon_entropy(value) >= 3.0


_PRESIGNED = re.compile(r"(?:x-amz-credential|awsaccesskeyid)(?:=|\"\s*:\s*\")\Z")


def _aws_key_id(c: Candidate, env: ScanEnv) -> bool:
    # The key id of a pre-signed S3 URL is public by design; only its signature is secret.
    return _token(c, env) and not _PRESIGNED.search(c.before(40))


def _aws_secret(c: Candidate, env: ScanEnv) -> bool:
    return _token(c, env) and shannon_entropy(c.value) >= 4.0


_SECRET_KEYS = frozenset({"apikey", "secret", "accesskey", "privatetoken", "signingkey", "authkey"})
# Words that make a secret-sounding name a flag or a question about a secret, not the secret:
# `has_api_key`, `needsApiKey`, `requires_api_key`, `isSecret`, `secret_required`.
_FLAG_WORDS = {
    "has", "is", "needs", "need", "requires", "required", "require", "use", "uses", "enable",
    "enabled", "show", "can", "should", "allow", "allowed", "missing", "valid",
}  # fmt: skip
# Code, not a literal: calls, comparisons, logic and brackets (`null===(c=e.hasApiKey)||void`).
_CODE = re.compile(r"[()|&!?<>\[\]{}]|==|=>")
_LITERALS = {"null", "true", "false", "undefined", "none", "nil"}


def _generic_secret(c: Candidate, env: ScanEnv) -> bool:
    tokens = key_tokens(c.key)
    if not names(c.key, _SECRET_KEYS) or tokens & {"public", "publishable", "id"}:
        return False
    if tokens & _FLAG_WORDS:
        return False
    value = c.value
    if _CODE.search(value) or value.split(".", 1)[0].lower() in _LITERALS:
        return False
    if not _literal_or_env_line(c):
        return False
    if any(ch.isspace() for ch in value) or value.startswith(("http://", "https://", "/", "eyJ")):
        return False
    classes = sum(
        bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    return classes >= 2 and _token(c, env) and shannon_entropy(value) >= 3.5


def _literal_or_env_line(c: Candidate) -> bool:
    """A quoted string literal, or an unquoted value on a ``KEY=value`` line (``.env``).

    An unquoted value after ``key:`` inside a script is an expression or an identifier.
    """
    groups = c.match.re.groupindex
    if "q" not in groups or c.match.group("q"):
        return True
    start = c.match.start("key") if "key" in groups else c.match.start()
    line = c.text[c.text.rfind("\n", 0, start) + 1 : start]
    separator = c.text[c.match.end("key") : c.match.start("value")] if "key" in groups else "="
    return "=" in separator and line.strip() in ("", "export")


_PASSWORD_WORDS = frozenset({"passwd", "password", "pwd", "secret"})


def _url_credential(c: Candidate, env: ScanEnv) -> bool:
    """A credential-named URL parameter with a real value: any password, a random token."""
    value = c.value
    if _own(value, env) or _PLACEHOLDER.search(value):
        return False
    if names(c.key, _PASSWORD_WORDS):
        return len(value) >= 4
    return len(value) >= 16 and shannon_entropy(value) >= 3.0


def _jwt(c: Candidate, env: ScanEnv) -> bool:
    value = c.value
    if _own(value, env):
        return False
    head = value.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded


# --- errors ---------------------------------------------------------------------------------


def _dynamodb_not_found(c: Candidate, env: ScanEnv) -> bool:
    # A bare "Requested resource not found" on a 404 is a framework's own words, not DynamoDB's.
    return c.status != 404 or "table" in c.after(20)


# --- internal addresses ---------------------------------------------------------------------

_VERSION_WORDS = re.compile(r"\b(?:version|ver|release|build|firmware|v)\W{0,3}\Z")


def _not_own_host(host: str, env: ScanEnv) -> bool:
    # Any port: on a loopback target, a loopback web URL names the machine the scan already
    # talks to (another port of it, such as a server's configured own `api_url`).
    return not any(same_host(host, own) for own in env.own_hosts | {env.target_host})


def _private_ip(c: Candidate, env: ScanEnv) -> bool:
    address = c.value
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return False
    if not ip.is_private or ip.is_loopback:
        return False
    if _VERSION_WORDS.search(c.before(16)) or key_tokens(c.key) & {"version", "ver", "release"}:
        return False
    return not any(same_host(address, own) for own in env.own_hosts | {env.target_host})


def _internal_host(c: Candidate, env: ScanEnv) -> bool:
    host = c.value.lower()
    return not any(same_host(host, own) for own in env.own_hosts | {env.target_host})


_SCHEME_BEFORE = re.compile(r"(?<![\w+.-])([a-z][a-z0-9+]{1,15})\Z")
_SERVICE_SCHEMES = {
    "redis", "rediss", "postgres", "postgresql", "mysql", "mongodb", "mongodb+srv", "amqp",
    "amqps", "memcache", "memcached", "mssql", "ldap", "ldaps", "sqlserver", "oracle",
}  # fmt: skip
_WEB_SCHEMES = {"http", "https", "ws", "wss"}


def _loopback_url(c: Candidate, env: ScanEnv) -> bool:
    # The regex starts at "://" (fast to find); the scheme is read just before it.
    found = _SCHEME_BEFORE.search(c.before(17))
    scheme = found.group(1) if found else ""
    if scheme in _SERVICE_SCHEMES:
        return True  # redis://localhost, postgres://127.0.0.1 … are never the API itself
    if scheme not in _WEB_SCHEMES:
        return False
    host = origin(f"{scheme}://{c.value}")[1]
    return _not_own_host(host, env)


# --- transport ------------------------------------------------------------------------------

_LINK_REL = re.compile(r"rel\s*=\s*[\"']?[^\"'>]*(stylesheet|icon|preload|modulepreload|manifest)")


def _mixed_content(c: Candidate, env: ScanEnv) -> bool:
    if c.match.group("tag").lower() != "link":
        return True
    end = c.text.find(">", c.match.end())
    tag = c.match.group(0) + c.text[c.match.end() : end if end >= 0 else c.match.end() + 300]
    return bool(_LINK_REL.search(tag.lower()))


def _self_link(c: Candidate, env: ScanEnv) -> bool:
    host = (urlsplit(c.value).hostname or "").lower()
    return bool(host) and any(same_host(host, own) for own in env.own_hosts | {env.target_host})


VALIDATORS: dict[str, Validator] = {
    "email-address": _email,
    "phone-international": _phone_international,
    "phone-nanp": _phone_nanp,
    "phone-field": _phone_field,
    "card-number": _card,
    "ssn-dashed": _ssn_dashed,
    "ssn-field": _ssn_field,
    "email-address-header": _email,
    "phone-international-header": _phone_international,
    "phone-field-header": _phone_field,
    "card-number-header": _card,
    "ssn-dashed-header": _ssn_dashed,
    "ssn-field-header": _ssn_field,
    "aws-access-key-id": _aws_key_id,
    "aws-secret-access-key": _aws_secret,
    "stripe-live-key": _token,
    "github-token": _token,
    "github-fine-grained-token": _token,
    "slack-token": _token,
    "slack-webhook": _token,
    "google-api-key": _token,
    "generic-secret-field": _generic_secret,
    "secret-assignment": _generic_secret,
    "url-credential-parameter": _url_credential,
    "jwt": _jwt,
    "dynamodb-resource-not-found": _dynamodb_not_found,
    "private-ipv4": _private_ip,
    "private-ipv4-header": _private_ip,
    "internal-hostname": _internal_host,
    "internal-hostname-header": _internal_host,
    "loopback-url": _loopback_url,
    "loopback-url-header": _loopback_url,
    "mixed-content-subresource": _mixed_content,
    "insecure-self-link": _self_link,
}
