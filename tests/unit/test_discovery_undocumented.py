"""Probing for operations the surface lacks: what counts as live, what is never tried, the cap."""

from __future__ import annotations

import json
from typing import Any

from middlebrick.discovery import discover
from middlebrick.discovery.undocumented import (
    DEFAULT_MAX_REQUESTS,
    control_path,
    control_token,
    probe_undocumented,
)
from middlebrick.errors import BudgetExhausted
from middlebrick.http.exchange import Exchange, Request
from middlebrick.knowledge import discovery_paths
from middlebrick.spec.load import parse_spec
from middlebrick.spec.model import ApiSpec, Surface
from middlebrick.testing import BASE, FakeSender, response

EXPORT = {"Items": [{"id": {"S": "a1"}, "ssn": {"S": "123-45-6789"}}], "Count": 1}


def _spec(paths: dict[str, Any]) -> ApiSpec:
    return parse_spec(json.dumps({"openapi": "3.0.0", "paths": paths}), source="spec.json")


def _surface(*paths: str, base: str = BASE) -> Surface:
    spec = _spec({path: {"get": {}} for path in paths})
    return Surface(base_url=base, operations=spec.operations, spec=spec)


def _probed_paths(sender: FakeSender) -> list[str]:
    return [r.url.removeprefix(BASE) for r in sender.sent]


class AnswersEverything(FakeSender):
    """A catch-all API: every path answers 200 with the same small JSON document."""

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        self.sent.append(request)
        return Exchange(request, response(200, {"status": "ok", "path": "any"}, url=request.url))


async def test_probe_reports_an_export_route_missing_from_the_spec() -> None:
    sender = FakeSender({("GET", "/export"): response(200, EXPORT, url=BASE + "/export")})

    probed = await probe_undocumented(sender, _surface("/items", "/items/{item_id}"))

    assert [(op.key, op.source) for op in probed.operations] == [("GET /export", "probed")]
    control = f"/{control_token(BASE)}"
    assert control in _probed_paths(sender)  # the differential that confirmed it
    assert probed.note().endswith("1 answered with content and joined it: GET /export")


async def test_probe_stays_quiet_when_a_catch_all_answers_every_path() -> None:
    sender = AnswersEverything()

    probed = await probe_undocumented(sender, _surface("/items"))

    assert probed.operations == ()
    assert probed.note().endswith("none answered with content")


async def test_probe_stays_quiet_when_the_control_answers_the_same_json_shape() -> None:
    def echo(request: Request) -> Any:
        return response(200, {"path": request.url, "ok": True}, url=request.url)

    words = discovery_paths().words
    routes = {("GET", f"/{word}"): echo for word in words[:2]}
    routes[("GET", f"/{control_token(BASE)}")] = echo
    sender = FakeSender(routes)

    probed = await probe_undocumented(sender, _surface("/items"))

    assert probed.operations == ()


async def test_probe_stays_quiet_when_the_control_gets_no_answer() -> None:
    class ControlTimesOut(FakeSender):
        async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
            if control_token(BASE) in request.url:
                self.sent.append(request)
                return Exchange(request, None, "timed out")
            return await super().send(request, follow_redirects=follow_redirects)

    sender = ControlTimesOut({("GET", "/export"): response(200, EXPORT, url=BASE + "/export")})

    probed = await probe_undocumented(sender, _surface("/items"))

    assert probed.operations == ()


async def test_probe_stays_quiet_for_html_empty_json_redirects_and_the_root_body() -> None:
    root = response(200, {"service": "items"}, url=BASE + "/")
    sender = FakeSender(
        {
            ("GET", "/"): root,
            ("GET", "/admin"): response(
                200, "<!doctype html><div id=root></div>", {"Content-Type": "text/html"}
            ),
            ("GET", "/debug"): response(200, {"service": "items"}, url=BASE + "/debug"),
            ("GET", "/all"): response(200, [], url=BASE + "/all"),
            ("GET", "/internal"): response(200, {"form": "sign in"}, url=BASE + "/login"),
        }
    )

    probed = await probe_undocumented(sender, _surface("/items"))

    assert probed.operations == ()


async def test_probe_never_tries_paths_a_documented_template_serves() -> None:
    sender = FakeSender()

    await probe_undocumented(sender, _surface("/users/me", "/users/{user_id}", "/orders"))

    tried = _probed_paths(sender)
    assert not any(path.startswith("/users/") for path in tried)
    assert "/orders" not in tried and "/export" in tried


async def test_probe_tries_the_words_beside_documented_folders() -> None:
    sender = FakeSender(
        {("GET", "/api/reports/dump"): response(200, EXPORT, url=BASE + "/api/reports/dump")}
    )

    probed = await probe_undocumented(sender, _surface("/api/reports/daily", "/api/reports/weekly"))

    assert [op.key for op in probed.operations] == ["GET /api/reports/dump"]
    assert f"/api/reports/{control_token(BASE)}" in _probed_paths(sender)


async def test_probe_finds_an_older_version_beside_a_documented_one() -> None:
    spec = _spec(
        {
            "/v2/users/{user_id}": {
                "get": {
                    "parameters": [
                        {"name": "user_id", "in": "path", "required": True, "example": "u-1"}
                    ]
                }
            }
        }
    )
    card = {"id": "u-1", "email": "alice@example.org", "role": "admin"}
    sender = FakeSender({("GET", "/v1/users/u-1"): response(200, card, url=BASE + "/v1/users/u-1")})

    probed = await probe_undocumented(
        sender, Surface(base_url=BASE, operations=spec.operations, spec=spec)
    )

    assert [op.key for op in probed.operations] == ["GET /v1/users/{user_id}"]
    assert [p.name for p in probed.operations[0].parameters] == ["user_id"]
    assert f"/{control_token(BASE)}/users/u-1" in _probed_paths(sender)


async def test_probe_sends_at_most_its_cap() -> None:
    sender = AnswersEverything()

    probed = await probe_undocumented(sender, _surface("/a/b", "/c/d"), max_requests=10)

    assert len(sender.sent) <= 10 and probed.requests == len(sender.sent)
    default = AnswersEverything()
    await probe_undocumented(default, _surface("/a/b", "/c/d", "/v2/e"))
    assert len(default.sent) <= DEFAULT_MAX_REQUESTS


async def test_probe_stops_with_what_it_has_when_the_budget_is_spent() -> None:
    class Exhausted(FakeSender):
        async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
            if len(self.sent) >= 3:
                raise BudgetExhausted("the request budget of 3 is spent")
            return await super().send(request, follow_redirects=follow_redirects)

    probed = await probe_undocumented(Exhausted(), _surface("/items"))

    assert probed.operations == ()
    assert probed.stopped == "the request budget of 3 is spent"
    assert "stopped early" in probed.note()


def test_control_path_replaces_where_the_path_leaves_the_documented_tree() -> None:
    documented = ["/users/me", "/v2/users/{id}"]

    assert control_path("/export", "/export", documented, "X") == "/X"
    assert control_path("/users/export", "/users/export", documented, "X") == "/users/X"
    assert control_path("/v1/users/{id}", "/v1/users/7", documented, "X") == "/X/users/7"
    beside_v1 = [*documented, "/v1/health"]
    assert control_path("/v1/users/{id}", "/v1/users/7", beside_v1, "X") == "/v1/X/7"


async def test_discover_adds_probed_operations_after_the_documented_ones() -> None:
    sender = FakeSender({("GET", "/export"): response(200, EXPORT, url=BASE + "/export")})
    spec = _spec({"/items": {"get": {}}})

    surface = await discover(sender, BASE, spec=spec)

    assert [(op.key, op.source) for op in surface.operations] == [
        ("GET /items", "spec"),
        ("GET /export", "probed"),
    ]
    assert surface.spec is spec and surface.spec.operations == spec.operations
    assert surface.notes[-1].startswith("probed ")


async def test_discover_probes_a_crawled_surface_too() -> None:
    sender = FakeSender(
        {
            ("GET", "/"): response(200, {"items": "/items"}),
            ("GET", "/items"): response(200, [{"id": 1}]),
            ("GET", "/export"): response(200, EXPORT, url=BASE + "/export"),
        }
    )

    surface = await discover(sender, BASE)

    assert surface.origin == "crawl"
    assert [(op.key, op.source) for op in surface.operations] == [
        ("GET /", "discovered"),
        ("GET /items", "discovered"),
        ("GET /export", "probed"),
    ]
