"""The repository's queries about webhook endpoints, their deliveries and their health.

The delivery methods take and give the ``middlebrick.webhooks`` models, so the jobs layer can
hand the library's ``Deliverer`` a ``DeliveryStore`` over this store.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC

from sqlalchemy import delete, select, update

from middlebrick.store._base import Store
from middlebrick.store.models import WebhookDelivery, WebhookEndpoint
from middlebrick.store.records import EndpointInfo, now
from middlebrick.webhooks import Attempt, Delivery, EndpointHealth


class Webhooks(Store):
    """Endpoints per organisation, the delivery log per endpoint, and endpoint health."""

    def add_endpoint(
        self,
        org_id: int,
        *,
        name: str,
        origin: str,
        sealed: bytes,
        format: str,
        events: list[str] | None,
    ) -> EndpointInfo:
        """Record an endpoint; its URL and secret come sealed."""
        with self._tx() as s:
            row = WebhookEndpoint(
                org_id=org_id,
                name=name,
                origin=origin,
                sealed=sealed,
                format=format,
                events=None if events is None else json.dumps(sorted(events)),
                failures=0,
                disabled=False,
                created_at=now(),
            )
            s.add(row)
            s.flush()
            return _endpoint(row)

    def endpoints(self, org_id: int) -> list[EndpointInfo]:
        """The organisation's endpoints, oldest first."""
        with self._tx() as s:
            rows = s.scalars(
                select(WebhookEndpoint)
                .where(WebhookEndpoint.org_id == org_id)
                .order_by(WebhookEndpoint.id)
            )
            return [_endpoint(r) for r in rows]

    def endpoint(self, org_id: int, endpoint_id: int) -> EndpointInfo | None:
        """One of the organisation's endpoints."""
        with self._tx() as s:
            row = s.scalar(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.org_id == org_id, WebhookEndpoint.id == endpoint_id
                )
            )
            return None if row is None else _endpoint(row)

    def endpoint_for_delivery(self, endpoint_id: int) -> EndpointInfo | None:
        """The endpoint a delivery job was handed (by the service itself)."""
        with self._tx() as s:
            row = s.get(WebhookEndpoint, endpoint_id)
            return None if row is None else _endpoint(row)

    def delete_endpoint(self, org_id: int, endpoint_id: int) -> bool:
        """Delete one of the organisation's endpoints and its delivery log."""
        with self._tx() as s:
            row = s.scalar(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.org_id == org_id, WebhookEndpoint.id == endpoint_id
                )
            )
            if row is None:
                return False
            s.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
            s.delete(row)
            return True

    def save_delivery(self, delivery: Delivery) -> None:
        """Insert or replace a delivery (its endpoint's id is the text of the row's id)."""
        attempts = json.dumps([a.model_dump(mode="json") for a in delivery.attempts])
        with self._tx() as s:
            row = s.get(WebhookDelivery, delivery.id)
            if row is None:
                s.add(
                    WebhookDelivery(
                        id=delivery.id,
                        endpoint_id=int(delivery.endpoint_id),
                        event_id=delivery.event_id,
                        event_type=delivery.event_type,
                        body=delivery.body,
                        state=delivery.state,
                        attempts=attempts,
                        resent_from=delivery.resent_from,
                        created_at=delivery.created_at.astimezone(UTC).replace(tzinfo=None),
                    )
                )
            else:
                row.state, row.attempts = delivery.state, attempts

    def delivery(self, delivery_id: str) -> Delivery | None:
        """The delivery with this id."""
        with self._tx() as s:
            row = s.get(WebhookDelivery, delivery_id)
            return None if row is None else _delivery(row)

    def deliveries(self, endpoint_id: int, *, limit: int = 50) -> list[Delivery]:
        """The endpoint's latest deliveries, newest first."""
        with self._tx() as s:
            rows = s.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
                .limit(limit)
            )
            return [_delivery(r) for r in rows]

    def endpoint_health(self, endpoint_id: int) -> EndpointHealth:
        """The endpoint's failure streak and whether it is disabled."""
        with self._tx() as s:
            row = s.get(WebhookEndpoint, endpoint_id)
            if row is None:
                return EndpointHealth()
            return EndpointHealth(
                consecutive_failures=row.failures,
                disabled=row.disabled,
                reason=row.disabled_reason,
            )

    def set_endpoint_health(self, endpoint_id: int, health: EndpointHealth) -> None:
        """Set whether the endpoint is disabled (and why); a health without failures also ends
        the failure streak, which otherwise only ``add_endpoint_failure`` moves."""
        values: dict[str, object] = {"disabled": health.disabled, "disabled_reason": health.reason}
        if health.consecutive_failures == 0:
            values["failures"] = 0
        with self._tx() as s:
            s.execute(
                update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(**values)
            )

    def add_endpoint_failure(self, endpoint_id: int) -> EndpointHealth:
        """Count one more failed delivery in a row (one UPDATE: concurrent deliveries each
        count); the health after it."""
        with self._tx() as s:
            s.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == endpoint_id)
                .values(failures=WebhookEndpoint.failures + 1)
            )
        return self.endpoint_health(endpoint_id)


def _endpoint(row: WebhookEndpoint) -> EndpointInfo:
    return EndpointInfo(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        origin=row.origin,
        format=row.format,
        events=None if row.events is None else tuple(json.loads(row.events)),
        failures=row.failures,
        disabled=row.disabled,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
        sealed=row.sealed,
    )


def _delivery(row: WebhookDelivery) -> Delivery:
    return Delivery(
        id=row.id,
        endpoint_id=str(row.endpoint_id),
        event_id=row.event_id,
        event_type=row.event_type,
        body=row.body,
        state=row.state,
        attempts=[Attempt.model_validate(a) for a in json.loads(row.attempts)],
        created_at=row.created_at.replace(tzinfo=UTC),
        resent_from=row.resent_from,
    )


class DeliveryLog:
    """The ``middlebrick.webhooks.DeliveryStore`` protocol on the service's store."""

    def __init__(self, repo: Webhooks) -> None:
        self.repo = repo

    async def save(self, delivery: Delivery) -> None:
        """Insert or replace the delivery with this id."""
        await asyncio.to_thread(self.repo.save_delivery, delivery)

    async def get(self, delivery_id: str) -> Delivery | None:
        """The delivery with this id."""
        return await asyncio.to_thread(self.repo.delivery, delivery_id)

    async def log(self, endpoint_id: str, limit: int = 50) -> list[Delivery]:
        """The endpoint's latest deliveries, newest first."""
        return await asyncio.to_thread(self.repo.deliveries, int(endpoint_id), limit=limit)

    async def health(self, endpoint_id: str) -> EndpointHealth:
        """The endpoint's health."""
        return await asyncio.to_thread(self.repo.endpoint_health, int(endpoint_id))

    async def set_health(self, endpoint_id: str, health: EndpointHealth) -> None:
        """Replace the endpoint's health."""
        await asyncio.to_thread(self.repo.set_endpoint_health, int(endpoint_id), health)

    async def add_failure(self, endpoint_id: str) -> EndpointHealth:
        """Count one more failed delivery in a row, atomically."""
        return await asyncio.to_thread(self.repo.add_endpoint_failure, int(endpoint_id))
