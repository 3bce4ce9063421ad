"""Webhooks: signed JSON events about scans and monitors, delivered with retries.

A receiver verifies each delivery with ``verify(body, header, secret)`` before trusting it::

    from middlebrick.webhooks import SignatureError, parse_event, verify

    try:
        verify(request.body, request.headers.get("Middlebrick-Signature"), SECRET)
    except SignatureError:
        return 400
    event = parse_event(request.body)   # ScanCompleted, ScanFailed, MonitorRegression, …

A sender builds events (``scan_completed``, ``scan_failed``, ``monitor_events``) and hands them
to a ``Deliverer``. The events, the signature and the delivery rules are documented in
``docs/monitoring.md``.
"""

from __future__ import annotations

from middlebrick.errors import SignatureError
from middlebrick.webhooks.chat import PayloadFormat, render_payload
from middlebrick.webhooks.delivery import (
    Attempt,
    Deliverer,
    Delivery,
    DeliveryStore,
    Endpoint,
    EndpointHealth,
    MemoryStore,
    RetryPolicy,
)
from middlebrick.webhooks.events import (
    EVENT_TYPES,
    AlertRules,
    EventType,
    MonitorRef,
    WebhookEvent,
    encode_event,
    json_schema,
    monitor_events,
    parse_event,
    scan_completed,
    scan_failed,
)
from middlebrick.webhooks.signing import HEADER, new_secret, sign, verify

__all__ = [
    "EVENT_TYPES",
    "HEADER",
    "AlertRules",
    "Attempt",
    "Deliverer",
    "Delivery",
    "DeliveryStore",
    "Endpoint",
    "EndpointHealth",
    "EventType",
    "MemoryStore",
    "MonitorRef",
    "PayloadFormat",
    "RetryPolicy",
    "SignatureError",
    "WebhookEvent",
    "encode_event",
    "json_schema",
    "monitor_events",
    "new_secret",
    "parse_event",
    "render_payload",
    "scan_completed",
    "scan_failed",
    "sign",
    "verify",
]
