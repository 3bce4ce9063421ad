"""``scan --webhook URL``: post the scan's ``scan.completed`` (or ``scan.failed``) event."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError

from middlebrick.errors import UsageError
from middlebrick.webhooks import Deliverer, Endpoint, MemoryStore, WebhookEvent

_FORMATS = ("json", "slack", "teams")


def webhook_endpoint(url: str | None, secret_env: str | None, fmt: str) -> Endpoint | None:
    """The endpoint the flags describe (None without ``--webhook``); bad flags are usage errors."""
    if url is None:
        if secret_env is not None:
            raise UsageError("--webhook-secret-env needs --webhook URL")
        return None
    if fmt not in _FORMATS:
        raise UsageError(f"--webhook-format {fmt!r} is not one of {', '.join(_FORMATS)}")
    secret = None
    if secret_env is not None:
        secret = os.environ.get(secret_env)
        if not secret:
            raise UsageError(
                f"--webhook-secret-env names {secret_env!r}, which is not set; export the "
                "webhook's signing secret in that variable"
            )
    try:
        urlsplit(url).port  # noqa: B018 - raises on a port out of range
        return Endpoint.model_validate({"id": "cli", "url": url, "secret": secret, "format": fmt})
    except (ValidationError, ValueError):  # not echoed: a Slack or Teams URL is a secret
        raise UsageError(
            "--webhook needs an http:// or https:// URL with a host (and a port from 1 to 65535)"
        ) from None


def post(endpoint: Endpoint, event: WebhookEvent, *, quiet: bool) -> None:
    """Deliver ``event`` (with retries); say on stderr how it went. Never fails the command."""

    async def send() -> None:
        # the CLI's user picks the receiver, which may well be on their own network
        async with Deliverer(MemoryStore(), allow_private=True) as deliverer:
            delivery = await deliverer.deliver(endpoint, event)
        if delivery is None:
            return
        last = delivery.attempts[-1]
        if delivery.state == "delivered":
            if not quiet:
                typer.echo(
                    f"webhook: {event.type} delivered to {endpoint.origin()} (HTTP {last.status})",
                    err=True,
                )
            return
        why = last.error or f"HTTP {last.status}"
        typer.echo(
            f"warning: webhook {event.type} to {endpoint.origin()} failed after "
            f"{len(delivery.attempts)} attempt(s): {why}",
            err=True,
        )

    asyncio.run(send())
