"""The Django app factory of the tenants service (``create_app``)."""

from __future__ import annotations

from typing import Any, Literal

from lab.dynamo import resource
from lab.items.middleware import RateLimiter
from lab.tenants import middleware
from lab.tenants.assets import FakeRoot
from lab.tenants.seed import table_name
from lab.tenants.service import Service, install
from lab.tenants.settings import for_variant

_CONFIGURED: list[bool] = []


def create_app(
    variant: Literal["vulnerable", "secure"],
    *,
    endpoint_url: str,
    prefix: str,
    secret: str,
    rate_limit: tuple[int, float] = (1000, 10.0),
) -> Any:
    """Build the tenants service's ``variant`` (a Django ASGI app) on ``prefix`` + ``records``.

    Django keeps one set of settings per process, so one process serves one variant: asking for
    the other variant afterwards raises ``RuntimeError``. ``rate_limit`` (requests, seconds) is
    the secure variant's limit per client address and credential.
    """
    if variant not in ("vulnerable", "secure"):
        raise ValueError(f"variant must be 'vulnerable' or 'secure', not {variant!r}")
    secure = variant == "secure"
    import django
    from django.conf import settings
    from django.core.asgi import get_asgi_application

    if _CONFIGURED and _CONFIGURED[0] != secure:
        raise RuntimeError("this process already serves the other variant of the tenants service")
    if not settings.configured:
        settings.configure(**for_variant(secure, secret))
        django.setup(set_prefix=False)
    _CONFIGURED[:] = [secure]
    middleware.LIMITER[:] = [RateLimiter(*rate_limit)]
    install(
        Service(
            secure=secure,
            secret=secret,
            table=resource(endpoint_url).Table(table_name(prefix)),
            root=FakeRoot(),
        )
    )
    return get_asgi_application()
