"""Webhook delivery to a receiver on loopback: signed, retried, logged, re-sent, disabled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from pydantic import ValidationError

from middlebrick.errors import UsageError
from middlebrick.webhooks import (
    HEADER,
    Deliverer,
    Endpoint,
    MemoryStore,
    RetryPolicy,
    SignatureError,
    new_secret,
    parse_event,
    scan_completed,
    scan_failed,
    verify,
)
from tests.render.sample import sample_report

FAST = RetryPolicy(attempts=4, first_delay=0.01, factor=2, max_delay=0.05, timeout=2)


@dataclass
class Receiver:
    """A webhook receiver: answers ``script`` statuses in turn (then 200), checks signatures."""

    secret: str
    script: list[int] = field(default_factory=list)
    delay: float = 0.0
    seen: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    accepted: list[bytes] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append(request)
        self.bodies.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        try:
            verify(body, request.headers.get(HEADER), self.secret)
        except SignatureError as exc:
            self.refused.append(str(exc))
            return web.Response(status=400)
        status = self.script.pop(0) if self.script else 200
        if status == 200:
            self.accepted.append(body)
        return web.Response(status=status, headers={"Retry-After": "0"} if status == 503 else {})


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(secret=new_secret())
    app = web.Application()
    app.router.add_post("/hooks/{name}", rec.handle)
    runner, base = await _serve(app)
    rec.url = f"{base}/hooks/main"
    yield rec
    await runner.cleanup()


def _endpoint(receiver: Receiver, **changes: object) -> Endpoint:
    values: dict[str, object] = {"id": "ep-1", "url": receiver.url, "secret": receiver.secret}
    return Endpoint.model_validate(values | changes)


def _deliverer(store: MemoryStore, **options: object) -> tuple[Deliverer, list[float]]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    deliverer = Deliverer(store, policy=FAST, sleep=sleep, allow_private=True, **options)  # type: ignore[arg-type]
    return deliverer, waits


async def test_receiver_verifies_a_signed_scan_completed_delivery(receiver: Receiver) -> None:
    store = MemoryStore()
    event = scan_completed(sample_report())
    deliverer, _ = _deliverer(store)
    async with deliverer:
        delivery = await deliverer.deliver(_endpoint(receiver), event)
    assert delivery is not None and delivery.state == "delivered"
    assert receiver.refused == [] and len(receiver.accepted) == 1
    assert parse_event(receiver.accepted[0]) == event
    request = receiver.seen[0]
    assert request.headers["Middlebrick-Event"] == "scan.completed"
    assert request.headers["Middlebrick-Event-Id"] == event.id
    assert request.headers["Middlebrick-Delivery"] == delivery.id
    assert request.headers["Content-Type"] == "application/json"
    assert (await store.log("ep-1"))[0].attempts[0].status == 200


async def test_receiver_refuses_a_tampered_body_and_an_old_timestamp(receiver: Receiver) -> None:
    store = MemoryStore()
    deliverer, _ = _deliverer(store)
    async with deliverer:
        first = await deliverer.deliver(_endpoint(receiver), scan_failed("http://x/", "down"))
    assert first is not None
    header = receiver.seen[0].headers[HEADER]
    body = receiver.bodies[0]
    with pytest.raises(SignatureError, match="does not match"):
        verify(body.replace(b"down", b"fine"), header, receiver.secret)
    timestamp = int(header.split(",")[0].removeprefix("t="))
    with pytest.raises(SignatureError, match="away from now"):
        verify(body, header, receiver.secret, now=timestamp + 301)
    wrong = _endpoint(receiver, secret=new_secret())
    async with deliverer:
        refused = await deliverer.deliver(wrong, scan_failed("http://x/", "down"))
    assert refused is not None and refused.state == "failed"
    assert len(refused.attempts) == 1 and refused.attempts[0].status == 400
    assert receiver.refused == ["the signature does not match the body and the secret"]


async def test_receiver_failing_twice_then_succeeding_gets_exactly_one_accepted_delivery(
    receiver: Receiver,
) -> None:
    receiver.script = [500, 503]
    store = MemoryStore()
    deliverer, waits = _deliverer(store)
    async with deliverer:
        delivery = await deliverer.deliver(_endpoint(receiver), scan_completed(sample_report()))
    assert delivery is not None and delivery.state == "delivered"
    assert len(receiver.accepted) == 1 and len(receiver.seen) == 3
    assert [a.status for a in delivery.attempts] == [500, 503, 200]
    assert [a.number for a in delivery.attempts] == [1, 2, 3]
    assert all(a.latency_ms >= 0 and a.error is None for a in delivery.attempts)
    assert waits == [0.01, 0.02]  # exponential backoff between attempts
    assert (await store.health("ep-1")).consecutive_failures == 0


async def test_delivery_gives_up_after_the_last_attempt_with_bounded_waits(
    receiver: Receiver,
) -> None:
    receiver.script = [500] * 10
    deliverer, waits = _deliverer(MemoryStore())
    async with deliverer:
        delivery = await deliverer.deliver(_endpoint(receiver), scan_completed(sample_report()))
    assert delivery is not None and delivery.state == "failed"
    assert len(receiver.seen) == FAST.attempts == len(delivery.attempts)
    assert waits == [0.01, 0.02, 0.04] and max(waits) <= FAST.max_delay


async def test_delivery_does_not_retry_a_client_error(receiver: Receiver) -> None:
    receiver.script = [410]
    deliverer, waits = _deliverer(MemoryStore())
    async with deliverer:
        delivery = await deliverer.deliver(_endpoint(receiver), scan_completed(sample_report()))
    assert delivery is not None and delivery.state == "failed"
    assert len(receiver.seen) == 1 and waits == []


async def test_delivery_times_out_on_a_receiver_that_does_not_answer(receiver: Receiver) -> None:
    receiver.delay = 5
    policy = FAST.model_copy(update={"attempts": 2, "timeout": 0.3})
    deliverer = Deliverer(MemoryStore(), policy=policy, allow_private=True)
    started = asyncio.get_running_loop().time()
    async with deliverer:
        delivery = await deliverer.deliver(_endpoint(receiver), scan_completed(sample_report()))
    assert asyncio.get_running_loop().time() - started < 3
    assert delivery is not None and delivery.state == "failed"
    assert [a.error for a in delivery.attempts] == ["no answer within 0.3 s"] * 2


async def test_delivery_records_a_connection_error_without_the_url() -> None:
    endpoint = Endpoint(id="ep-1", url="http://127.0.0.1:9/T00000000/B00000000/secretpath")
    deliverer, _ = _deliverer(MemoryStore())
    async with deliverer:
        delivery = await deliverer.deliver(endpoint, scan_completed(sample_report()))
    assert delivery is not None and delivery.state == "failed"
    assert len(delivery.attempts) == FAST.attempts
    error = delivery.attempts[0].error or ""
    assert error.startswith("cannot connect to the receiver") and "secretpath" not in error


async def _redirector(status: int, location: Callable[[str], str]) -> tuple[web.AppRunner, str]:
    app = web.Application()

    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": location(str(request.url))})

    app.router.add_post("/old", moved)
    return await _serve(app)


async def test_delivery_does_not_follow_a_redirect_to_another_host(receiver: Receiver) -> None:
    runner, base = await _redirector(307, lambda _url: receiver.url)
    try:
        endpoint = Endpoint(id="ep-1", url=f"{base}/old", secret=receiver.secret)
        deliverer, _ = _deliverer(MemoryStore())
        async with deliverer:
            delivery = await deliverer.deliver(endpoint, scan_completed(sample_report()))
    finally:
        await runner.cleanup()
    assert delivery is not None and delivery.state == "failed" and receiver.seen == []
    assert delivery.attempts[0].error == "HTTP 307 redirect to another origin not followed"


async def test_delivery_follows_a_same_origin_307_keeping_the_body(receiver: Receiver) -> None:
    app = web.Application()
    app.router.add_post("/hooks/{name}", receiver.handle)

    async def moved(_request: web.Request) -> web.Response:
        return web.Response(status=308, headers={"Location": "/hooks/new"})

    app.router.add_post("/old", moved)
    runner, base = await _serve(app)
    try:
        endpoint = Endpoint(id="ep-1", url=f"{base}/old", secret=receiver.secret)
        deliverer, _ = _deliverer(MemoryStore())
        async with deliverer:
            delivery = await deliverer.deliver(endpoint, scan_completed(sample_report()))
    finally:
        await runner.cleanup()
    assert delivery is not None and delivery.state == "delivered"
    assert len(receiver.accepted) == 1 and receiver.seen[0].path == "/hooks/new"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/", "http:///x", "x"]
)
def test_endpoint_refuses_a_url_that_is_not_http_or_https(url: str) -> None:
    with pytest.raises(ValidationError, match="http:// or https://"):
        Endpoint(id="ep", url=url)


async def test_an_endpoint_failing_again_and_again_is_disabled_with_a_notice(
    receiver: Receiver,
) -> None:
    receiver.script = [500] * 100
    notices: list[str] = []

    async def notice(endpoint: Endpoint, reason: str) -> None:
        notices.append(f"{endpoint.id}: {reason}")

    store = MemoryStore()
    policy = FAST.model_copy(update={"attempts": 1})
    deliverer = Deliverer(
        store, policy=policy, disable_after=3, on_disabled=notice, allow_private=True
    )
    endpoint = _endpoint(receiver)
    async with deliverer:
        states = [
            (await deliverer.deliver(endpoint, scan_failed("http://x/", "down"))).state  # type: ignore[union-attr]
            for _ in range(4)
        ]
    assert states == ["failed", "failed", "failed", "skipped"]
    assert len(receiver.seen) == 3  # nothing is sent to a disabled endpoint
    health = await store.health("ep-1")
    assert health.disabled and health.consecutive_failures == 3
    assert notices == [f"ep-1: {health.reason}"]
    assert "3 failed deliveries in a row (last: HTTP 500)" in (health.reason or "")
    assert [d.state for d in await store.log("ep-1")] == states[::-1]


async def test_a_manual_resend_sends_the_same_event_freshly_signed_and_re_enables(
    receiver: Receiver,
) -> None:
    receiver.script = [500]
    store = MemoryStore()
    policy = FAST.model_copy(update={"attempts": 1})
    deliverer = Deliverer(store, policy=policy, disable_after=1, allow_private=True)
    endpoint = _endpoint(receiver)
    event = scan_completed(sample_report())
    async with deliverer:
        failed = await deliverer.deliver(endpoint, event)
        assert failed is not None and failed.state == "failed"
        assert (await store.health("ep-1")).disabled
        again = await deliverer.resend(endpoint, failed.id)
        with pytest.raises(UsageError, match="no delivery"):
            await deliverer.resend(endpoint, "dlv_unknown")
    assert again.state == "delivered" and again.resent_from == failed.id
    assert again.event_id == event.id and again.id != failed.id
    assert receiver.accepted == [receiver.bodies[0]]
    assert receiver.seen[1].headers["Middlebrick-Delivery"] == again.id
    assert (await store.health("ep-1")).disabled is False


async def test_an_endpoint_gets_only_the_event_types_it_subscribed_to(receiver: Receiver) -> None:
    endpoint = _endpoint(receiver, events=frozenset({"scan.failed"}))
    deliverer, _ = _deliverer(MemoryStore())
    async with deliverer:
        assert await deliverer.deliver(endpoint, scan_completed(sample_report())) is None
        assert await deliverer.deliver(endpoint, scan_failed("http://x/", "down")) is not None
    assert len(receiver.seen) == 1


async def test_slack_deliveries_are_unsigned_without_a_secret(receiver: Receiver) -> None:
    endpoint = Endpoint(id="slack", url=receiver.url, format="slack")
    deliverer, _ = _deliverer(MemoryStore())
    async with deliverer:
        delivery = await deliverer.deliver(endpoint, scan_completed(sample_report()))
    assert delivery is not None and delivery.state == "failed"  # this receiver wants signatures
    assert HEADER not in receiver.seen[0].headers
    assert receiver.bodies[0].startswith(b'{"text":')


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
async def test_deliverer_refuses_a_receiver_that_is_not_public_unless_allowed(
    receiver: Receiver, host: str
) -> None:
    port = receiver.url.split(":")[2].split("/")[0]
    endpoint = _endpoint(receiver).model_copy(update={"url": f"http://{host}:{port}/hooks/main"})
    async with Deliverer(MemoryStore(), policy=FAST) as deliverer:
        delivery = await deliverer.deliver(endpoint, scan_completed(sample_report()))
    assert delivery is not None and delivery.state == "failed" and receiver.seen == []
    assert len(delivery.attempts) == 1  # not retried: it will not become public
    assert (delivery.attempts[0].error or "").startswith("the receiver is not at a public address")


async def test_memory_store_counts_each_failure_of_deliveries_running_together() -> None:
    store = MemoryStore()
    counted = await asyncio.gather(*(store.add_failure("ep-1") for _ in range(7)))
    assert sorted(h.consecutive_failures for h in counted) == list(range(1, 8))
    assert (await store.health("ep-1")).consecutive_failures == 7
