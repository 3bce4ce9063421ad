"""What one scan is asked to do: ``ScanRequest`` and its limits.

Values come from defaults, then ``MIDDLEBRICK_*`` environment variables, then flags (the CLI
merges them); the model validates every value once, here.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from middlebrick.errors import UsageError


class Tier(StrEnum):
    """How deep the probes go."""

    quick = "quick"
    standard = "standard"
    deep = "deep"


class Context(StrEnum):
    """What kind of API this is; shifts category weights and PII rules."""

    general = "general"
    financial = "financial"
    medical = "medical"
    public = "public"
    internal = "internal"


Mode = Literal["safe", "active"]


class Limits(BaseModel):
    """Bounds every scan respects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Hard caps of the adaptive pace (http/pacing.py), which starts below them.
    concurrency: int = Field(32, ge=1, le=256, description="most requests in flight")
    rate: float = Field(1000.0, gt=0, allow_inf_nan=False, description="most requests per second")
    max_requests: int | None = Field(
        None, ge=1, description="request budget of the whole scan; None: scales with the surface"
    )
    time_budget: float = Field(
        120.0, gt=0, allow_inf_nan=False, description="seconds for the whole scan"
    )
    connect_timeout: float = Field(5.0, gt=0, allow_inf_nan=False)
    read_timeout: float = Field(10.0, gt=0, allow_inf_nan=False)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    max_spec_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="largest API description read (file or served)"
    )
    max_redirects: int = Field(5, ge=0, le=20)
    retries: int = Field(2, ge=0, le=5)
    burst: int = Field(30, ge=0, le=100, description="requests of the rate-limit burst; 0: none")


class Credential(BaseModel):
    """What authenticates one identity: headers and query parameters, plus the objects it owns.

    Never rendered with its values: see ``__repr__``. ``owns`` holds ids of objects this
    identity owns (not secret); checks prefer them when they need one of its objects.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    owns: tuple[str, ...] = ()

    def __repr__(self) -> str:
        parts = len(self.headers) + len(self.query)
        return f"Credential(<{parts} value(s) redacted>, owns={list(self.owns)!r})"

    __str__ = __repr__

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values, for redaction."""
        return tuple(value for _, value in (*self.headers, *self.query) if value)

    @field_validator("headers", "query")
    @classmethod
    def _one_line(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return _without_control_characters(value)


class ScanRequest(BaseModel):
    """One scan: the target, what is known about it, and the rules of engagement."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str
    spec: str | None = None  # path or URL of an OpenAPI/Swagger document
    spec_root: str | None = None  # folder a local spec's file references may be in (its own)
    # sent when fetching --spec URL, on any host; the target's credentials go to its origin only
    spec_headers: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # sent on every request of the default identity
    identities: dict[str, Credential] = Field(default_factory=dict)  # the first is the primary
    tier: Tier = Tier.standard
    context: Context = Context.general
    mode: Mode = "safe"
    limits: Limits = Field(default_factory=Limits)
    extra_hosts: tuple[str, ...] = ()  # more hosts inside the scope besides the target's
    verify_tls: bool = True  # False: reach an https target whose certificate is not trusted
    find_served_spec: bool = True  # False: without --spec, crawl instead of looking for a spec
    include: tuple[str, ...] = ()  # "METHOD PATH" / "PATH": call these whatever their names say
    exclude: tuple[str, ...] = ()  # never request these (wins over include)

    @field_validator("headers")
    @classmethod
    def _headers_one_line(cls, value: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return _without_control_characters(value)

    @model_validator(mode="after")
    def _each_header_once(self) -> ScanRequest:
        """A header name given twice with two values (two scan headers, or a scan header and
        the primary identity's, which the default identity both sends) is ambiguous."""
        seen: dict[str, tuple[str, str]] = {}
        primary = self.identities.get(self.primary_identity or "")
        given = [(n, v, "the scan's headers") for n, v in self.headers]
        if primary is not None:
            given += [(n, v, f"identity {self.primary_identity!r}") for n, v in primary.headers]
        for name, value, where in given:
            first = seen.setdefault(name.lower(), (value, where))
            if first[0] != value:
                raise UsageError(
                    f"header {name!r} is given twice with different values (by {first[1]} and "
                    f"by {where}); give each header once"
                )
        return self

    @property
    def primary_identity(self) -> str | None:
        """The identity the scan acts as by default: the first named one, if any."""
        return next(iter(self.identities), None)

    @field_validator("identities")
    @classmethod
    def _identity_names(cls, value: dict[str, Credential]) -> dict[str, Credential]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", name) or name in ("anonymous", "default"):
                raise UsageError(
                    f"identity name {name!r} is not allowed; use letters, digits, '_', '.' or '-' "
                    "(at most 40), and not 'anonymous' or 'default'"
                )
        return value

    @field_validator("include", "exclude")
    @classmethod
    def _patterns(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        from middlebrick.http.patterns import OperationPattern

        for text in value:
            OperationPattern.parse(text, flag=f"--{info.field_name}")
        return value

    @field_validator("spec")
    @classmethod
    def _spec_url_is_usable(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if not value or not value.lower().startswith(("http://", "https://")):
            return value  # a file
        if _has_userinfo(value):  # the URL is not echoed: it would print the password
            raise UsageError(
                "the spec URL holds a user name or password, which reports would print; "
                "download the document and give its file to --spec"
            )
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            parts, port = None, 0
        if parts is None or not parts.hostname or port == 0:
            raise UsageError(
                f"the spec URL {value!r} is not a valid http(s) URL with a host and a port "
                "from 1 to 65535"
            )
        return value

    @field_validator("target")
    @classmethod
    def _target_is_http_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if _has_userinfo(value):  # the URL is not echoed: it would print the password
            raise UsageError(
                "the target URL holds a user name or password; give the URL without them and "
                "the credentials with --auth basic:USER:PASSWORD"
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"target {value!r} is not an http(s) URL; give one like https://api.example.com/v1"
            )
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:
            raise UsageError(f"target {value!r} has no valid port; give one from 1 to 65535")
        return _ascii_host(value)


def _has_userinfo(url: str) -> bool:
    """Whether an http(s) URL carries ``user[:password]@`` before its host."""
    scheme, sep, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return bool(sep) and scheme.lower() in ("http", "https") and "@" in netloc


def _without_control_characters(
    pairs: tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str], ...]:
    """``pairs`` unchanged; a UsageError (not naming the value) when one holds CR, LF or NUL."""
    for name, value in pairs:
        if _CONTROL.search(name) or _CONTROL.search(value):
            raise UsageError(
                f"the value given for {_CONTROL.sub('?', name)!r} holds a line break or another "
                "control character; give it on one line"
            )
    return pairs


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is allowed, as HTTP allows it


def _ascii_host(url: str) -> str:
    """``url`` with a non-ASCII host in the form it is contacted by (IDNA, NFKC: fullwidth
    digits are digits), so every URL the scan builds from the target names the host it reaches.
    """
    from urllib.parse import urlsplit, urlunsplit

    from yarl import URL

    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.isascii():
        return url
    try:
        ascii_host = URL.build(scheme=parts.scheme, host=host).raw_host or host
    except ValueError as exc:
        raise UsageError(f"target host {host!r} is not a valid host name ({exc})") from None
    userinfo, at, hostport = parts.netloc.rpartition("@")
    start = hostport.lower().find(host)
    if start < 0:  # a host written in another case or form than urlsplit gives it
        return url
    netloc = userinfo + at + hostport[:start] + ascii_host + hostport[start + len(host) :]
    return urlunsplit(parts._replace(netloc=netloc))
