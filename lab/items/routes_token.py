"""The items service's OAuth 2.0 password grant: ``POST /token``, FastAPI's own idiom.

A form-encoded ``username`` and ``password`` (``OAuth2PasswordRequestForm``, RFC 6749 §4.3)
are exchanged for an ``access_token``, the lab JWT of that user. Every lab user's password is
``lab-password-<name>``, as in the shop. Every deliberate flaw is marked ``# FLAW:`` and its fix
``# FIX:``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Annotated, Any

from boto3.dynamodb.conditions import Attr
from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm

from lab.identities import USERS, mint
from lab.items.service import Service

_SALT = b"lab-items"
_LIMIT, _WINDOW_S = 5, 60.0  # the secure twin's failed attempts per username and minute


def _digest(password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), _SALT, 1000)


_PASSWORDS = {name: _digest(f"lab-password-{name}") for name in USERS}


class _Attempts:
    """Login attempts per submitted username over the last minute."""

    def __init__(self) -> None:
        self.seen: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def allow(self, username: str) -> bool:
        """Count one attempt; False once the username had ``_LIMIT`` in the window."""
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.seen.get(username, []) if now - t < _WINDOW_S]
            self.seen[username] = [*recent, now]
            return len(recent) < _LIMIT


def build(svc: Service) -> APIRouter:
    """The token route of ``svc``'s variant."""
    router = svc.router()
    attempts = _Attempts()
    refused = {"WWW-Authenticate": "Bearer"}

    @router.post("/token", tags=["auth"], summary="Exchange a username and password for a token")
    def token(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Any:
        # FLAW (vulnerable): any number of attempts; FIX: five a minute per username
        if svc.secure and not attempts.allow(form.username):
            raise HTTPException(429, "too many login attempts", {"Retry-After": "60"})
        found = svc.users.scan(FilterExpression=Attr("name").eq(form.username)).get("Items")
        if not found and not svc.secure:  # FLAW: says which usernames exist
            raise HTTPException(404, "no such user")
        # FIX: one answer for an unknown user and a wrong password
        stored = _PASSWORDS.get(form.username) if found else None
        if stored is None or not hmac.compare_digest(stored, _digest(form.password)):
            raise HTTPException(401, "incorrect username or password", refused)
        lifetime = 3600 if svc.secure else None  # the vulnerable tokens never expire
        access = mint(form.username, secret=svc.secret, exp_seconds=lifetime)
        return {"access_token": access, "token_type": "bearer"}

    return router
