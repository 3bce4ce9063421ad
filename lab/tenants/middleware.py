"""The secure twin's middleware: rate limiting and security headers on every response."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from lab.items.middleware import RateLimiter
from lab.tenants.service import json_response

SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
LIMITER: list[RateLimiter] = [RateLimiter(1000, 10.0)]
"""The limiter in use; ``lab.tenants.app.create_app`` replaces it with its ``rate_limit``."""


class Hardening:
    """FIX: 429 + ``Retry-After`` past the limit, ``RateLimit-*`` and security headers always."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limiter = LIMITER[0]
        credential = request.headers.get("Authorization", "")
        key = f"{request.META.get('REMOTE_ADDR')}/{hashlib.sha256(credential.encode()).hexdigest()}"
        allowed, remaining, reset = limiter.hit(key)
        if allowed:
            response = self.get_response(request)
        else:
            response = json_response({"error": "too many requests"}, 429)
            response["Retry-After"] = str(reset)
        for name, value in SECURITY_HEADERS.items():
            response[name] = value
        response["RateLimit-Limit"] = str(limiter.limit)
        response["RateLimit-Remaining"] = str(remaining)
        response["RateLimit-Reset"] = str(reset)
        return response
