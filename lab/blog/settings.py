"""Django settings of the blog service, one set per variant (Django holds one per process)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def database(url: str) -> dict[str, Any]:
    """Django's DATABASES entry for a ``postgresql://user@host:port/name`` URL."""
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "postgres",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
        "CONN_MAX_AGE": 0,
    }


def for_variant(secure: bool, secret: str, database_url: str) -> dict[str, Any]:
    """The settings of the secure or the vulnerable twin."""
    return {
        "DEBUG": not secure,  # FLAW (vulnerable): technical 500 pages with the database's errors
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
        "SECRET_KEY": secret,
        "ROOT_URLCONF": "lab.blog.urls",
        "INSTALLED_APPS": [
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "rest_framework",
            "rest_framework.authtoken",
            "drf_spectacular",
            "lab.blog.apps.BlogConfig",
        ],
        "MIDDLEWARE": [
            "lab.blog.middleware.Hardening",
            *([] if secure else ["lab.blog.middleware.PoweredBy"]),
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        "DATABASES": {"default": database(database_url)},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "APPEND_SLASH": False,
        "USE_TZ": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "CSRF_COOKIE_SECURE": True,
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {},
            }
        ],
        "REST_FRAMEWORK": {
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "rest_framework.authentication.TokenAuthentication",
                "rest_framework.authentication.SessionAuthentication",
            ],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
            "PAGE_SIZE": 10,
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
            "UNAUTHENTICATED_USER": None,
        },
        "SPECTACULAR_SETTINGS": {
            "TITLE": "Blog API",
            "VERSION": "2.1.0",
            "SERVE_INCLUDE_SCHEMA": False,
            "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
            "SERVE_AUTHENTICATION": [],
        },
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"stderr": {"class": "logging.StreamHandler"}},
            "loggers": {"django.request": {"handlers": ["stderr"], "level": "ERROR"}},
        },
    }
