"""Flags and the config file into one validated ScanRequest, for ``scan`` and ``demo``."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from middlebrick.auth import header_name, parse_auth, parse_identity
from middlebrick.config import Credential, ScanRequest
from middlebrick.configfile import ScanConfig
from middlebrick.errors import UsageError
from middlebrick.files import check_regular
from middlebrick.spec.load import DEFAULT_MAX_BYTES


def parse_header(raw: str) -> tuple[str, str]:
    """``NAME:VALUE`` of ``--header`` or ``--spec-header`` as (name, value)."""
    name, sep, value = raw.partition(":")
    if not sep or not name.strip():  # the text is not echoed: it may hold a secret
        raise UsageError("a --header is not NAME:VALUE; write it like --header 'X-API-Key: abc'")
    return header_name(name), value.strip()


def check_local_spec(spec: str | None) -> None:
    """A local spec must be a regular file within the loader's cap (never a device or a FIFO)."""
    if spec and not spec.lower().startswith(("http://", "https://")):
        check_regular(Path(spec).expanduser(), cap=DEFAULT_MAX_BYTES, what="API description")


def identities_of(
    settings: ScanConfig, auth: str | None, named: list[str], owns: list[str]
) -> dict[str, Credential]:
    """The identities of a scan: ``--auth`` (as "primary"), the config file's, ``--identity``."""
    identities: dict[str, Credential] = {}
    if auth:
        identities["primary"] = parse_auth(auth)
    identities.update(settings.identities)
    for text in named:
        name, credential = parse_identity(text)
        if name in identities:
            raise UsageError(f"identity {name!r} is given twice; give each identity once")
        identities[name] = credential
    for text in owns:
        name, sep, ids = text.partition("=")
        if not sep or name.strip() not in identities:
            known = ", ".join(identities) or "none"
            raise UsageError(
                f"--owns {text!r} names no identity; write NAME=[RESOURCE:]ID[,…] with NAME "
                f"one of: {known}"
            )
        credential = identities[name.strip()]
        extra = tuple(i.strip() for i in ids.split(",") if i.strip())
        identities[name.strip()] = credential.model_copy(update={"owns": credential.owns + extra})
    return identities


def scan_request(**values: object) -> ScanRequest:
    """Validate flags into a ScanRequest; a bad value becomes one clear UsageError."""
    try:
        return ScanRequest.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(f"invalid value for {where}: {first['msg']}") from None
