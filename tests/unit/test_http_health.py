"""Session health: an identity whose requests start failing is re-verified, then stopped."""

from __future__ import annotations

import pytest

from middlebrick.errors import SessionBroken
from middlebrick.http.exchange import Exchange, Request
from middlebrick.http.health import Health
from middlebrick.http.journal import RUNNING, Running
from middlebrick.testing import BASE, response


class _Target:
    """Answers 200 until ``broken`` names an identity; then 500 to it."""

    def __init__(self) -> None:
        self.broken: set[str | None] = set()
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Exchange:
        self.sent.append(request)
        return _answer(request, 500 if _who(request) in self.broken else 200)


def _who(request: Request) -> str | None:
    return None if request.identity in (None, "default") else request.identity


def _answer(request: Request, status: int) -> Exchange:
    return Exchange(request, response(status, {"ok": status == 200}, url=request.url))


def _get(path: str, identity: str | None = None) -> Request:
    return Request("GET", BASE + path, identity=identity)


async def test_health_reports_the_request_that_failed_and_the_write_before_it() -> None:
    target = _Target()
    health = Health(target.send)
    health.verify_with(None, _get("/me"), name="alice")
    await health.observe(_answer(_get("/items"), 200))
    token = RUNNING.set(Running("bola.cross_identity_writes", writes=True))
    try:
        await health.observe(_answer(Request("PATCH", BASE + "/me"), 200))
    finally:
        RUNNING.reset(token)
    target.broken.add(None)

    with pytest.raises(SessionBroken) as caught:
        await health.observe(_answer(_get("/items"), 500))

    (found,) = health.breaks
    assert found.identity == "identity 'alice'"
    assert found.failed == "GET /items answered 500 where it had answered 200"
    assert found.cause == (
        "its requests fail since GET /items (500), and the last write before it was PATCH /me "
        "(answered 200) by check bola.cross_identity_writes"
    )
    assert str(caught.value) == found.sentence()
    assert [r.url for r in target.sent] == [BASE + "/me"], "one re-verification"
    with pytest.raises(SessionBroken):
        health.guard(_get("/anything"))
    health.guard(_get("/anything").without_credentials())  # anonymous requests go on


async def test_health_clears_the_alarm_when_the_identity_still_works() -> None:
    target = _Target()
    health = Health(target.send)
    health.verify_with("bob", _get("/me"))
    await health.observe(_answer(_get("/items/1", "bob"), 200))

    await health.observe(_answer(_get("/items/1", "bob"), 403))  # that one object changed
    await health.observe(_answer(_get("/items/1", "bob"), 403))

    assert health.breaks == []
    assert len(target.sent) == 1, "the URL is no longer watched once cleared"


async def test_health_ignores_failures_of_requests_that_never_succeeded() -> None:
    target = _Target()
    health = Health(target.send)

    await health.observe(_answer(_get("/admin", "bob"), 403))
    await health.observe(_answer(_get("/items").without_credentials(), 200))
    await health.observe(_answer(_get("/items").without_credentials(), 401))

    assert health.breaks == [] and target.sent == []


async def test_health_without_a_verifier_retries_other_requests_that_had_succeeded() -> None:
    target = _Target()
    health = Health(target.send)
    for path in ("/items", "/orders", "/me"):
        await health.observe(_answer(_get(path, "bob"), 200))
    target.broken.add("bob")

    with pytest.raises(SessionBroken, match="identity 'bob'"):
        await health.observe(_answer(_get("/items", "bob"), 500))

    assert [r.url for r in target.sent] == [BASE + "/orders", BASE + "/me"]
    assert "no write preceded it" in health.breaks[0].cause
