"""The Flask app factory of the profiles service (``create_app``)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from lab.dynamo import client, resource
from lab.items.middleware import RateLimiter
from lab.profiles import routes_data, routes_misc
from lab.profiles.seed import table_names
from lab.profiles.service import Service, json_response

SERVER_NAME = "profiles"
_SECURE_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(
    variant: Literal["vulnerable", "secure"],
    *,
    endpoint_url: str,
    prefix: str,
    secret: str,
    rate_limit: tuple[int, float] = (1000, 10.0),
) -> Flask:
    """Build the profiles service's ``variant`` on the tables ``prefix`` + … at ``endpoint_url``.

    ``rate_limit`` (requests, seconds) is the secure variant's limit per client address and
    credential. The vulnerable app runs in debug mode; ``lab.serve`` adds Werkzeug's debugger.
    """
    if variant not in ("vulnerable", "secure"):
        raise ValueError(f"variant must be 'vulnerable' or 'secure', not {variant!r}")
    secure = variant == "secure"
    names = table_names(prefix)
    app = Flask("lab.profiles")
    app.debug = not secure  # FLAW (vulnerable): debug mode in production
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["lab_profiles"] = Service(
        secure=secure,
        secret=secret,
        resource=resource(endpoint_url),
        client=client(endpoint_url),
        users_table=names["users"],
        orders_table=names["orders"],
        table_prefix=prefix,
    )
    app.register_blueprint(routes_data.blueprint)
    app.register_blueprint(routes_misc.blueprint)
    if secure:
        _harden(app, RateLimiter(*rate_limit))
    else:
        app.register_error_handler(Exception, _error_text)
    return app


def _error_text(exc: Exception) -> Any:
    """FLAW: the global error handler answers with the exception's own text."""
    if isinstance(exc, HTTPException):
        return exc
    return json_response({"error": str(exc), "type": type(exc).__name__}, 500)


def _harden(app: Flask, limiter: RateLimiter) -> None:
    """FIX: rate limiting, security headers, generic errors, no server version."""

    def _client_key() -> str:
        credential = request.headers.get("Authorization", "")
        digest = hashlib.sha256(credential.encode()).hexdigest()[:16]
        return f"{request.remote_addr}/{digest}"

    @app.before_request
    def _limit() -> Any:
        allowed, remaining, reset = limiter.hit(_client_key())
        request.environ["lab.ratelimit"] = (remaining, reset)
        if not allowed:
            response = json_response({"error": "too many requests"}, 429)
            response.headers["Retry-After"] = str(reset)
            return response
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.update(_SECURE_HEADERS)
        response.headers["Server"] = SERVER_NAME  # replaces Werkzeug's "Werkzeug/x Python/y"
        remaining, reset = request.environ.get("lab.ratelimit", (limiter.limit, 1))
        response.headers["RateLimit-Limit"] = str(limiter.limit)
        response.headers["RateLimit-Remaining"] = str(remaining)
        response.headers["RateLimit-Reset"] = str(reset)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if exc.response is not None:  # abort(response): already generic
            return exc.response
        response = json_response({"error": (exc.name or "error").lower()}, exc.code or 500)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    app.register_error_handler(Exception, routes_data.log_and_hide)
