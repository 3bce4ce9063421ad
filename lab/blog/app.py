"""The Django app factory of the blog service (``create_app``)."""

from __future__ import annotations

from typing import Any, Literal

_CONFIGURED: list[bool] = []


def configure(variant: Literal["vulnerable", "secure"], *, database_url: str, secret: str) -> None:
    """Configure Django for ``variant`` on the database at ``database_url`` (once per process)."""
    if variant not in ("vulnerable", "secure"):
        raise ValueError(f"variant must be 'vulnerable' or 'secure', not {variant!r}")
    secure = variant == "secure"
    import django
    from django.conf import settings

    from lab.blog.settings import for_variant

    if _CONFIGURED and _CONFIGURED[0] != secure:
        raise RuntimeError("this process already serves the other variant of the blog service")
    if not settings.configured:
        settings.configure(**for_variant(secure, secret, database_url))
        django.setup(set_prefix=False)
    _CONFIGURED[:] = [secure]
    from lab.blog import views

    views.SECURE[:] = [secure]


def create_app(variant: Literal["vulnerable", "secure"], *, database_url: str, secret: str) -> Any:
    """Build the blog's ``variant`` (a Django ASGI app) on the PostgreSQL database given."""
    configure(variant, database_url=database_url, secret=secret)
    from django.core.asgi import get_asgi_application

    return get_asgi_application()
