"""Django settings of the tenants service, one set per variant (Django holds one per process)."""

from __future__ import annotations

from typing import Any

SECURE_ALLOWED_HOSTS = ["127.0.0.1", "localhost", ".localhost", "[::1]"]
_SECURE_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "lab.tenants": {"handlers": ["stderr"], "level": "ERROR"},
    },
}


def for_variant(secure: bool, secret: str) -> dict[str, Any]:
    """The settings of the secure or the vulnerable twin."""
    return {
        # FLAW (vulnerable): DEBUG on, every host accepted, a committed key.
        "DEBUG": not secure,
        "ALLOWED_HOSTS": SECURE_ALLOWED_HOSTS if secure else ["*"],
        "SECRET_KEY": secret if secure else "django-insecure-t3nants-l4b-k3y-do-not-use",
        "ROOT_URLCONF": "lab.tenants.urls",
        "INSTALLED_APPS": [],
        "DATABASES": {},
        "MIDDLEWARE": ["lab.tenants.middleware.Hardening"] if secure else [],
        "TEMPLATES": [],
        "APPEND_SLASH": False,
        "USE_TZ": True,
        "USE_I18N": False,
        "DEFAULT_CHARSET": "utf-8",
        # FIX (secure): the detail of an error goes to the log (stderr), never to the client.
        "LOGGING": _SECURE_LOGGING if secure else {"version": 1},
    }
