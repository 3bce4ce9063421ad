"""Evidence from exchanges: secrets redacted, bodies bounded, and a curl command to reproduce.

The ``Redactor`` is the one redaction mechanism. It knows every value the user gave the scan to
send (every ``--header`` value, from the command line, a config file or the environment, whatever
its name, and every header and query value of every identity) and replaces each wherever it
appears, in any letter case, with ``[REDACTED]``: in evidence, notes and every text of the report
(``Redactor.model``). Values shorter than four characters are not searched for in text (they
would match anything); where they were sent, evidence shows ``[REDACTED]`` and curl commands a
``$MIDDLEBRICK_<NAME>`` placeholder all the same.
"""

from __future__ import annotations

import base64
import binascii
import errno
import re
from collections.abc import Iterable
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import BaseModel

from middlebrick.config import ScanRequest
from middlebrick.findings import Evidence, RecordedRequest
from middlebrick.http.exchange import DEFAULT_IDENTITY, Exchange, Headers

_Model = TypeVar("_Model", bound=BaseModel)

REDACTED = "[REDACTED]"
EXCERPT_CHARS = 2000
"""The longest body excerpt kept in evidence."""

_MIN_PART = 8  # parts of a secret (a bearer token, a cookie value) shorter than this are kept
_MIN_SECRET = 4  # whole values shorter than this are not searched for in text
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_KEPT = frozenset(
    {"scan_id", "fingerprint", "type_id", "category", "id", "name", "title", "owasp", "remediation"}
)  # report keys holding identifiers or catalogue text, never redacted
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PRINTABLE_ASCII = re.compile(r"[ -~\t]*")


class Redactor:
    """Replaces every known secret of a scan with ``[REDACTED]`` in any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants: set[str] = set()
        for secret in secrets:
            variants.update(_variants(secret.strip()))
        ordered = sorted((v for v in variants if len(v) >= _MIN_SECRET), key=len, reverse=True)
        self.secrets: tuple[str, ...] = tuple(ordered)
        self._pattern = (
            re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE) if ordered else None
        )

    @classmethod
    def for_scan(cls, scan: ScanRequest) -> Redactor:
        """The redactor of ``scan``: every scan header's value and every identity's secrets."""
        secrets = [value for _, value in scan.headers]
        for credential in scan.identities.values():
            secrets.extend(credential.secrets)
        secrets.extend(value for _, value in scan.spec_headers)  # whatever their names
        return cls(secrets)

    def __call__(self, text: str) -> str:
        """``text`` with every secret, in any letter case, replaced by ``[REDACTED]``."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def model(self, model: _Model) -> _Model:
        """``model`` (a report) with every secret replaced in each of its texts.

        Identifiers and catalogue texts (``_KEPT``) are left alone: a short secret must not
        change a scan id, a fingerprint or a finding's id.
        """
        if self._pattern is None:
            return model
        return type(model).model_validate(self._walk(model.model_dump(mode="python")))

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: v if k in _KEPT else self._walk(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._walk(item) for item in value)
        return value


def _variants(secret: str) -> set[str]:
    """The secret, its meaningful parts (token after the scheme, cookie values) and encodings."""
    found = {secret}
    scheme, _, rest = secret.partition(" ")
    if rest.strip():
        found.add(rest.strip())
        if scheme.lower() == "basic":
            found.update(_basic_parts(rest.strip()))
    for cookie in secret.split(";"):
        name, sep, value = cookie.strip().partition("=")
        if sep and value:
            found.update({f"{name}={value}", value})
    found = {part for part in found if part == secret or len(part) >= _MIN_PART}
    found.update({quote(part, safe="") for part in found})
    return found


def _basic_parts(token: str) -> set[str]:
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return set()
    _, _, password = decoded.partition(":")
    return {decoded, password}


def describe_error(exc: BaseException, connect_timeout: float, timeout: float) -> tuple[str, bool]:
    """A short plain text for a transport exception, and whether retrying may help.

    ``connect_timeout`` and ``timeout`` (of the whole exchange) are named in timeout texts.
    """
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"no connection within {connect_timeout:g} s", False
    if isinstance(exc, TimeoutError):
        return f"no complete response within {timeout:g} s", False
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "host name could not be resolved", False
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cause = exc.certificate_error
        why = getattr(cause, "verify_message", None) or type(cause).__name__
        return f"TLS certificate refused ({why}); scan with --insecure to reach it anyway", False
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused", False
        return f"cannot connect: {exc.os_error.strerror or type(exc.os_error).__name__}", False
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection without a complete response", True
    if isinstance(exc, ConnectionResetError) or (
        isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE)
    ):
        return "connection reset", True
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "connection lost before the end of the body", True
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"invalid HTTP response: {str(exc.message)[:120]}", False
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL", False
    if isinstance(exc, ValueError):
        return f"request not sent: {str(exc)[:120]}", False
    return f"transport error: {type(exc).__name__}", isinstance(exc, aiohttp.ClientConnectionError)


def to_evidence(
    exchange: Exchange,
    redactor: Redactor,
    *,
    label: str | None = None,
    match: str | None = None,
    credential_headers: Iterable[str] = (),
    credential_query: Iterable[str] = (),
    identity: str | None = None,
) -> Evidence:
    """``exchange`` as redacted, bounded evidence with a curl command to reproduce it.

    ``credential_headers`` are the names of the credential headers the client added for the
    request's identity: they appear with the value ``[REDACTED]`` and, in the curl command, as
    ``$MIDDLEBRICK_<NAME>`` environment placeholders.
    """
    request = exchange.request
    names = list(dict.fromkeys(credential_headers))
    url = redactor(request.url)
    headers = {name: redactor(value) for name, value in request.headers}
    headers.update(dict.fromkeys(names, REDACTED))
    body = None
    if request.body is not None:
        body = _bounded(redactor(request.body.decode("utf-8", errors="replace")))
    recorded = RecordedRequest(method=request.method, url=url, headers=headers, body=body)
    curl = curl_command(
        request.method,
        url,
        [(name, redactor(value)) for name, value in request.headers],
        credential_headers=names,
        credential_query=credential_query,
        identity=identity if identity is not None else request.identity,
        body=_redact_bytes(request.body, redactor) if request.body is not None else None,
    )
    response = exchange.response
    status = None
    response_headers: dict[str, str] = {}
    excerpt = ""
    found = None
    if response is not None:
        status = response.status
        response_headers = _response_headers(response.headers, redactor)
        excerpt, found = excerpt_of(redactor(response.text), redactor(match) if match else None)
    return Evidence(
        label=label,
        request=recorded,
        curl=curl,
        status=status,
        response_headers=response_headers,
        excerpt=excerpt,
        match=found,
        error=redactor(exchange.error) if exchange.error else None,
    )


def _redact_bytes(raw: bytes, redactor: Redactor) -> bytes:
    text = raw.decode("utf-8", errors="surrogateescape")
    return redactor(text).encode("utf-8", errors="surrogateescape")


def escape_header(text: str) -> str:
    """A received header's text (latin-1, one character per byte) with every byte outside
    printable ASCII written ``\\xHH``: safe in every format, and the bytes can be read back."""
    if _PRINTABLE_ASCII.fullmatch(text):
        return text
    return "".join(c if " " <= c <= "~" or c == "\t" else f"\\x{ord(c):02x}" for c in text)


def _response_headers(headers: Headers, redactor: Redactor) -> dict[str, str]:
    """Every response header, secrets redacted, bytes outside printable ASCII escaped;
    repeated headers joined with ``, ``."""
    result: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = escape_header(raw_name)
        clean = escape_header(redactor(raw_value))
        if name.lower() == "set-cookie":
            clean = _redact_cookie_value(clean)
        result[name] = f"{result[name]}, {clean}" if name in result else clean
    return result


def _redact_cookie_value(set_cookie: str) -> str:
    """``name=value; attrs`` -> ``name=[REDACTED]; attrs``: a session issued is a secret too."""
    pair, sep, attributes = set_cookie.partition(";")
    name, eq, value = pair.partition("=")
    if not eq or not value.strip():
        return set_cookie
    return f"{name}={REDACTED}{sep}{attributes}"


def excerpt_of(text: str, match: str | None = None) -> tuple[str, str | None]:
    """A bounded excerpt of ``text``, centred on the first ``match`` when it occurs.

    Returns the excerpt and the match as found inside it (``None`` when absent).
    """
    if match and len(text) > EXCERPT_CHARS:
        index = text.find(match)
        if index >= 0:
            budget = EXCERPT_CHARS - 2  # room for an ellipsis at each end
            match = match[:budget]
            start = max(0, index - (budget - len(match)) // 2)
            end = min(len(text), start + budget)
            start = max(0, end - budget)
            head = "…" if start > 0 else ""
            tail = "…" if end < len(text) else ""
            return head + text[start:end] + tail, match
    if match and match in text:
        return text, match
    return _bounded(text), None


def _bounded(text: str) -> str:
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def curl_command(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]] = (),
    *,
    credential_headers: Iterable[str] = (),
    credential_query: Iterable[str] = (),
    identity: str | None = None,
    body: bytes | None = None,
) -> str:
    """A copy-pasteable curl command; credentials come from ``$MIDDLEBRICK_*`` variables.

    ``--path-as-is`` keeps dot segments, so traversal payloads are sent as recorded. A body that
    is not plain text is read from ``<(printf '…')`` with octal escapes so every byte survives.
    """
    verb = method if _SAFE_NAME.fullmatch(method) else _quote(method)
    parts = ["curl", "-I"] if method == "HEAD" else ["curl", "-i", "-X", verb]
    parts += ["--path-as-is", _quote(url)]
    for name, value in headers:
        parts += ["-H", _quote(f"{name}: {value}")]
    for name in credential_headers:
        parts += ["-H", _placeholder_header(name, identity)]
    for name in credential_query:  # an API key in the query string (curl 7.87+)
        parts += ["--url-query", _quote(f"{name}=") + f'"${env_var_name(name, identity)}"']
    if body is not None:
        plain = _plain_text(body)
        parts += ["--data-binary", _printf_file(body) if plain is None else _quote(plain)]
    return " ".join(parts)


def env_var_name(header: str, identity: str | None = None) -> str:
    """``MIDDLEBRICK_AUTHORIZATION``, or ``MIDDLEBRICK_ALICE_AUTHORIZATION`` for identity alice."""
    parts = ["MIDDLEBRICK"]
    if identity and identity != DEFAULT_IDENTITY:
        parts.append(identity)
    parts.append(header)
    return re.sub(r"[^A-Z0-9]+", "_", "_".join(parts).upper()).strip("_")


def _placeholder_header(name: str, identity: str | None) -> str:
    variable = env_var_name(name, identity)
    if _SAFE_NAME.fullmatch(name):
        return f'"{name}: ${variable}"'
    return _quote(f"{name}: ") + f'"${variable}"'


def _quote(text: str) -> str:
    """Single-quote for a POSIX shell; ``$'…'`` (bash, zsh) when control characters occur."""
    if _CONTROL.search(text):
        return _ansi_c_quote(text.encode("utf-8", errors="surrogateescape"))
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _plain_text(body: bytes) -> str | None:
    """The body as text when it is UTF-8 without control characters, else ``None``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else text


def _ansi_c_quote(raw: bytes) -> str:
    """Bash/zsh ``$'…'`` quoting: printable ASCII kept, every other byte as ``\\xHH``."""
    out = []
    for byte in raw:
        char = chr(byte)
        if char in "\\'":
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return "$'" + "".join(out) + "'"


def _printf_file(raw: bytes) -> str:
    """``@<(printf '…')``: a curl data file holding exactly ``raw`` (NUL bytes included)."""
    out = []
    for byte in raw:
        char = chr(byte)
        if char == "%":
            out.append("%%")
        elif 0x20 <= byte < 0x7F and char not in "\\'":
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "@<(printf '" + "".join(out) + "')"
