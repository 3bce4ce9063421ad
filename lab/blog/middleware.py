"""The blog's middleware: the hardening both twins share, and the vulnerable one's header."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Callable

import rest_framework
from django.http import HttpRequest, HttpResponse, JsonResponse

from lab.items.middleware import RateLimiter

LIMITER = RateLimiter(1000, 10.0)
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Hardening:
    """Rate limiting (429 with ``Retry-After``), ``RateLimit-*`` and security headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        credential = request.headers.get("Authorization", "")
        key = f"{request.META.get('REMOTE_ADDR')}/{hashlib.sha256(credential.encode()).hexdigest()}"
        allowed, remaining, reset = LIMITER.hit(key)
        if allowed:
            response = self.get_response(request)
        else:
            response = JsonResponse({"detail": "too many requests"}, status=429)
            response["Retry-After"] = str(reset)
        for name, value in SECURITY_HEADERS.items():
            response[name] = value
        response["RateLimit-Limit"] = str(LIMITER.limit)
        response["RateLimit-Remaining"] = str(remaining)
        response["RateLimit-Reset"] = str(reset)
        return response


class PoweredBy:
    """FLAW: the framework and the runtime, with their versions, in a free-text header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["X-Powered-By"] = (
            f"Django REST framework {rest_framework.__version__}, "
            f"Python {platform.python_version()}"
        )
        return response
