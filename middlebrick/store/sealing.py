"""Scan credentials sealed for the store with Fernet (AES-128-CBC + HMAC-SHA256).

The key is ``MIDDLEBRICK_SECRET_KEY`` (a Fernet key; make one with ``middlebrick keys secret``).
Without it the embedded service makes a key that lives only in its own memory: credentials of
a queued scan then cannot outlive a restart, and such a scan ends ``failed`` with that reason.
Separate workers (Celery) need the same key as the service, so there it is required.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from middlebrick.config import Credential
from middlebrick.errors import UsageError

__all__ = ["SECRET_ENV", "Sealed", "Sealer", "new_secret"]

SECRET_ENV = "MIDDLEBRICK_SECRET_KEY"

Sealed = tuple[tuple[tuple[str, str], ...], dict[str, Credential]]
"""What is sealed: the scan's headers and its identities (with their objects)."""


def new_secret() -> str:
    """A new key for ``MIDDLEBRICK_SECRET_KEY``."""
    return Fernet.generate_key().decode("ascii")


class Sealer:
    """Seals and opens scan credentials with one key."""

    def __init__(self, key: str | None = None, *, required: bool = False) -> None:
        configured = key if key is not None else os.environ.get(SECRET_ENV, "").strip()
        if not configured and required:
            raise UsageError(
                f"{SECRET_ENV} is not set; workers and the service must share it: create one "
                "with `middlebrick keys secret` and set it in the environment of both"
            )
        self.ephemeral = not configured
        try:
            self._fernet = Fernet(configured or Fernet.generate_key())
        except ValueError:
            raise UsageError(
                f"{SECRET_ENV} is not a Fernet key (32 url-safe base64-encoded bytes); "
                "create one with `middlebrick keys secret`"
            ) from None

    def seal(
        self, headers: tuple[tuple[str, str], ...], identities: dict[str, Credential]
    ) -> bytes:
        """The credentials as a token only this key opens."""
        payload = {
            "headers": [list(pair) for pair in headers],
            "identities": {name: c.model_dump(mode="json") for name, c in identities.items()},
        }
        return self.seal_value(payload)

    def open(self, token: bytes) -> Sealed:
        """The credentials sealed in ``token``; a ``UsageError`` when this key cannot open it."""
        payload = self.open_value(
            token, what="the scan's credentials", remedy="submit the scan again"
        )
        headers = tuple((str(n), str(v)) for n, v in payload["headers"])
        identities = {
            name: Credential.model_validate(value) for name, value in payload["identities"].items()
        }
        return headers, identities

    def seal_value(self, value: dict[str, Any]) -> bytes:
        """Any JSON object (a webhook endpoint's URL and secret) as a token."""
        return self._fernet.encrypt(json.dumps(value).encode("utf-8"))

    def open_value(self, token: bytes, *, what: str, remedy: str) -> dict[str, Any]:
        """The object sealed in ``token``; a ``UsageError`` naming ``what`` and the ``remedy``
        when this key cannot open it."""
        try:
            payload: dict[str, Any] = json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise UsageError(
                f"{what} cannot be opened with this key "
                f"({'a key of a process that has since stopped' if self.ephemeral else SECRET_ENV}"
                f"); {remedy}"
            ) from None
        return payload
