"""Delivering events to endpoints: signed, retried with bounded backoff, logged, re-sendable.

A ``Deliverer`` posts one event to one ``Endpoint`` and records every attempt (status, latency,
error) through a ``DeliveryStore``: the service implements it with its database, and
``MemoryStore`` serves the CLI and the tests. Rules:

- only ``http`` and ``https`` URLs; a time limit on every attempt; the receiver's answer is not
  read; no proxy or ``.netrc`` from the environment and no cookies;
- unless ``allow_private``, a receiver must be at a public address: a URL whose host is, or
  resolves to, a loopback, private or link-local address fails without a connection (so the
  service cannot be aimed at its own network, even by DNS rebinding: the connection uses the
  checked addresses); the CLI allows them, the service only when an administrator does;
- redirects are not followed, except a 307/308 to the same scheme, host and port (at most 3);
- 2xx is delivered; a timeout, a connection error, 408, 425, 429 and 5xx are retried after
  ``first_delay × factor^n`` seconds (or the receiver's ``Retry-After``), capped at
  ``max_delay``, up to ``attempts`` tries; any other answer fails at once;
- an endpoint whose deliveries fail ``disable_after`` times in a row is disabled, with the reason
  kept in its ``EndpointHealth`` and passed to ``on_disabled`` (the notice); a disabled endpoint
  gets no more deliveries until a manual ``resend`` succeeds, which re-enables it.

Logged errors name what happened, never the endpoint's URL (a Slack or Teams URL is a secret).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from middlebrick import __version__
from middlebrick.errors import UsageError
from middlebrick.webhooks._transport import (
    NOT_PUBLIC,
    NotPublic,
    PublicOnly,
    origin,
    refuse_private_literal,
    seconds,
    transport_error,
)
from middlebrick.webhooks.chat import PayloadFormat, render_payload
from middlebrick.webhooks.events import EventType, WebhookEvent
from middlebrick.webhooks.signing import HEADER, sign

__all__ = [
    "Attempt",
    "Deliverer",
    "Delivery",
    "DeliveryStore",
    "Endpoint",
    "EndpointHealth",
    "MemoryStore",
    "RetryPolicy",
]

_MAX_REDIRECTS = 3
_RETRIED = frozenset({408, 425, 429})


class Endpoint(BaseModel):
    """Where events go: an http(s) URL, its signing secret, the payload format, the event types."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    url: str
    secret: SecretStr | None = None  # None: deliveries are not signed (Slack, Teams)
    format: PayloadFormat = "json"
    events: frozenset[EventType] | None = None  # None: every event type

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("a webhook URL must be an http:// or https:// URL with a host")
        return value

    def origin(self) -> str:
        """``scheme://host:port`` of the URL: what a message may show (the path may be secret)."""
        return origin(self.url)


class RetryPolicy(BaseModel):
    """How often and how patiently a delivery is tried."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = Field(5, ge=1, le=10)
    first_delay: float = Field(1.0, ge=0)
    factor: float = Field(2.0, ge=1)
    max_delay: float = Field(60.0, ge=0)
    timeout: float = Field(10.0, gt=0)  # seconds for one attempt, redirects included

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        wanted = self.first_delay * self.factor ** (attempt - 1)
        if retry_after is not None:
            wanted = max(wanted, retry_after)
        return min(wanted, self.max_delay)


class Attempt(BaseModel):
    """One try: when, the HTTP status (None without an answer), how long it took, what failed."""

    number: int
    at: datetime
    status: int | None = None
    latency_ms: float
    error: str | None = None


class Delivery(BaseModel):
    """One event sent to one endpoint, with every attempt; ``body`` is kept for a re-send."""

    id: str = Field(default_factory=lambda: f"dlv_{uuid.uuid4().hex}")
    endpoint_id: str
    event_id: str
    event_type: EventType
    body: str
    state: Literal["pending", "delivered", "failed", "skipped"] = "pending"
    attempts: list[Attempt] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    resent_from: str | None = None


class EndpointHealth(BaseModel):
    """An endpoint's failure streak and whether it was disabled (and why)."""

    consecutive_failures: int = 0
    disabled: bool = False
    reason: str | None = None


class DeliveryStore(Protocol):
    """Where deliveries and endpoint health are kept (the service's store, or ``MemoryStore``)."""

    async def save(self, delivery: Delivery) -> None:
        """Insert or replace the delivery with this id."""

    async def get(self, delivery_id: str) -> Delivery | None:
        """The delivery with this id."""

    async def log(self, endpoint_id: str, limit: int = 50) -> list[Delivery]:
        """The endpoint's latest deliveries, newest first."""

    async def health(self, endpoint_id: str) -> EndpointHealth:
        """The endpoint's health (a fresh one for an endpoint never delivered to)."""

    async def set_health(self, endpoint_id: str, health: EndpointHealth) -> None:
        """Replace the endpoint's health."""

    async def add_failure(self, endpoint_id: str) -> EndpointHealth:
        """Count one more failed delivery in a row, atomically (deliveries to one endpoint may
        run at the same time); the health after it."""


class MemoryStore:
    """A ``DeliveryStore`` in memory, for the CLI and the tests."""

    def __init__(self) -> None:
        self._deliveries: dict[str, Delivery] = {}
        self._health: dict[str, EndpointHealth] = {}

    async def save(self, delivery: Delivery) -> None:
        """Insert or replace the delivery with this id."""
        self._deliveries[delivery.id] = delivery.model_copy(deep=True)

    async def get(self, delivery_id: str) -> Delivery | None:
        """The delivery with this id."""
        found = self._deliveries.get(delivery_id)
        return found.model_copy(deep=True) if found else None

    async def log(self, endpoint_id: str, limit: int = 50) -> list[Delivery]:
        """The endpoint's latest deliveries, newest first."""
        own = [d for d in self._deliveries.values() if d.endpoint_id == endpoint_id]
        return sorted(own, key=lambda d: d.created_at, reverse=True)[:limit]

    async def health(self, endpoint_id: str) -> EndpointHealth:
        """The endpoint's health."""
        return self._health.get(endpoint_id, EndpointHealth()).model_copy()

    async def set_health(self, endpoint_id: str, health: EndpointHealth) -> None:
        """Replace the endpoint's health."""
        self._health[endpoint_id] = health.model_copy()

    async def add_failure(self, endpoint_id: str) -> EndpointHealth:
        """Count one more failed delivery in a row."""
        health = self._health.setdefault(endpoint_id, EndpointHealth())
        health.consecutive_failures += 1
        return health.model_copy()


Notice = Callable[[Endpoint, str], Awaitable[None]]


@dataclass(frozen=True)
class _Outcome:
    attempt: Attempt
    delivered: bool
    retry: bool
    retry_after: float | None = None


class Deliverer:
    """Sends events to endpoints; use as ``async with Deliverer(store) as deliverer``."""

    def __init__(
        self,
        store: DeliveryStore,
        *,
        policy: RetryPolicy | None = None,
        disable_after: int = 5,
        on_disabled: Notice | None = None,
        allow_private: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.allow_private = allow_private
        self.policy = policy or RetryPolicy()
        self.disable_after = disable_after
        self._on_disabled = on_disabled
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Deliverer:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(self, endpoint: Endpoint, event: WebhookEvent) -> Delivery | None:
        """Send ``event`` to ``endpoint`` (None when the endpoint does not take this type)."""
        if endpoint.events is not None and event.type not in endpoint.events:
            return None
        body = render_payload(event, endpoint.format).decode()
        delivery = Delivery(
            endpoint_id=endpoint.id, event_id=event.id, event_type=event.type, body=body
        )
        return await self._run(endpoint, delivery, manual=False)

    async def resend(self, endpoint: Endpoint, delivery_id: str) -> Delivery:
        """Send a logged delivery's body again, freshly signed, as a new delivery."""
        old = await self.store.get(delivery_id)
        if old is None or old.endpoint_id != endpoint.id:
            raise UsageError(f"no delivery {delivery_id!r} for endpoint {endpoint.id!r} to re-send")
        delivery = Delivery(
            endpoint_id=endpoint.id,
            event_id=old.event_id,
            event_type=old.event_type,
            body=old.body,
            resent_from=old.id,
        )
        return await self._run(endpoint, delivery, manual=True)

    async def _run(self, endpoint: Endpoint, delivery: Delivery, *, manual: bool) -> Delivery:
        health = await self.store.health(endpoint.id)
        if health.disabled and not manual:
            delivery.state = "skipped"
            await self.store.save(delivery)
            return delivery
        await self.store.save(delivery)
        for number in range(1, self.policy.attempts + 1):
            outcome = await self._attempt(endpoint, delivery, number)
            delivery.attempts.append(outcome.attempt)
            await self.store.save(delivery)
            if outcome.delivered or not outcome.retry or number == self.policy.attempts:
                delivery.state = "delivered" if outcome.delivered else "failed"
                break
            await self._sleep(self.policy.delay(number, outcome.retry_after))
        await self.store.save(delivery)
        await self._record_health(endpoint, delivery)
        return delivery

    async def _record_health(self, endpoint: Endpoint, delivery: Delivery) -> None:
        if delivery.state == "delivered":
            await self.store.set_health(endpoint.id, EndpointHealth())
            return
        health = await self.store.add_failure(endpoint.id)
        if health.consecutive_failures >= self.disable_after and not health.disabled:
            last = delivery.attempts[-1]
            why = f"HTTP {last.status}" if last.error is None else last.error
            health.disabled = True
            health.reason = (
                f"disabled after {health.consecutive_failures} failed deliveries in a row "
                f"(last: {why}); fix the receiver, then re-send a delivery to enable it again"
            )
            await self.store.set_health(endpoint.id, health)
            if self._on_disabled is not None:
                await self._on_disabled(endpoint, health.reason)

    async def _attempt(self, endpoint: Endpoint, delivery: Delivery, number: int) -> _Outcome:
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"middlebrick-webhooks/{__version__}",
            "Middlebrick-Event": delivery.event_type,
            "Middlebrick-Event-Id": delivery.event_id,
            "Middlebrick-Delivery": delivery.id,
        }
        if endpoint.secret is not None:
            headers[HEADER] = sign(body, endpoint.secret.get_secret_value())
        at, start = datetime.now(UTC), time.monotonic()

        def outcome(
            status: int | None,
            error: str | None,
            *,
            delivered: bool = False,
            retry: bool,
            retry_after: float | None = None,
        ) -> _Outcome:
            latency = round((time.monotonic() - start) * 1000, 1)
            attempt = Attempt(number=number, at=at, status=status, latency_ms=latency, error=error)
            return _Outcome(attempt, delivered=delivered, retry=retry, retry_after=retry_after)

        try:
            async with asyncio.timeout(self.policy.timeout):
                status, retry_after, error = await self._post(endpoint.url, body, headers)
        except TimeoutError:
            return outcome(None, f"no answer within {self.policy.timeout:g} s", retry=True)
        except NotPublic:
            return outcome(None, NOT_PUBLIC, retry=False)
        except aiohttp.ClientError as exc:
            if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(
                exc.os_error, NotPublic
            ):
                return outcome(None, NOT_PUBLIC, retry=False)
            return outcome(None, transport_error(exc), retry=True)
        if error is not None:
            return outcome(status, error, retry=False)
        assert status is not None
        if 200 <= status < 300:
            return outcome(status, None, delivered=True, retry=False)
        retry = status in _RETRIED or status >= 500
        return outcome(status, None, retry=retry, retry_after=retry_after)

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, float | None, str | None]:
        """POST, following same-origin 307/308 only: (status, Retry-After, error)."""
        if self._session is None:
            resolver = None if self.allow_private else PublicOnly()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver),
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        for _hop in range(_MAX_REDIRECTS + 1):
            if not self.allow_private:
                refuse_private_literal(url)
            async with self._session.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as resp:
                status, location = resp.status, resp.headers.get("Location")
                retry_after = seconds(resp.headers.get("Retry-After"))
                resp.close()  # the receiver's answer is not read: only its status counts
            if status not in (301, 302, 303, 307, 308):
                return status, retry_after, None
            target = urljoin(url, location or "")
            if status not in (307, 308) or not location:
                return status, None, f"HTTP {status} redirect not followed (it would drop the body)"
            if origin(target) != origin(url):
                return status, None, f"HTTP {status} redirect to another origin not followed"
            url = target
        return None, None, f"more than {_MAX_REDIRECTS} redirects"
