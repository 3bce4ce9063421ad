"""What every registered check promises: documentation, declared mode and cost, declared ids."""

from __future__ import annotations

import contextlib

import pytest

from middlebrick.checks.context import CheckContext
from middlebrick.checks.registry import CheckSpec, load_all
from middlebrick.config import ScanRequest
from middlebrick.errors import NotApplicable
from middlebrick.findings import Finding
from middlebrick.http.exchange import Exchange, Request
from middlebrick.knowledge import categories
from middlebrick.spec.model import ApiSpec, Operation, RequestBody, SecurityScheme, Surface
from middlebrick.testing import BASE, FakeSender, exchange, make_baseline, response

CHECKS = sorted(load_all().values(), key=lambda spec: spec.name)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
BEARER = ({"bearer": ()},)


class _AnswersEverything(FakeSender):
    """Answers every request with a small JSON list, like a permissive API."""

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        self.sent.append(request)
        return Exchange(request, response(200, [{"id": "u-1", "name": "Alice"}], url=request.url))


def _context(spec: CheckSpec, sender: FakeSender) -> CheckContext:
    body = RequestBody("application/json", {"type": "object", "properties": {"name": {}}})
    operations = (
        Operation(method="GET", path="/users", security=BEARER),
        Operation(method="GET", path="/users/{user_id}", security=BEARER),
        Operation(method="GET", path="/health", security=()),
        Operation(method="PATCH", path="/users/{user_id}", request_body=body, security=BEARER),
        Operation(method="POST", path="/users", request_body=body, security=BEARER),
    )
    pairs = [
        (operations[0], exchange("GET", "/users", response(200, [{"id": "u-1"}]))),
        (operations[1], exchange("GET", "/users/u-1", response(200, {"id": "u-1"}))),
        (operations[2], exchange("GET", "/health", response(200, {"ok": True}))),
    ]
    api = ApiSpec(
        source="openapi.json",
        spec_version="3.0.3",
        operations=operations,
        security_schemes={"bearer": SecurityScheme("bearer", "http", "bearer")},
    )
    return CheckContext(
        scan=ScanRequest(target=BASE, headers=(("Authorization", "Bearer t0ken"),)),
        surface=Surface(base_url=BASE, operations=operations, spec=api),
        baseline=make_baseline(pairs, root=exchange("GET", "/", response(200, {"hello": "api"}))),
        client=sender,
        spec=spec,
    )


@pytest.mark.parametrize("spec", CHECKS, ids=lambda spec: spec.name)
def test_check_is_documented_and_declares_mode_cost_and_ids(spec: CheckSpec) -> None:
    first_line = spec.doc.strip().splitlines()[0]
    assert first_line.endswith("."), f"{spec.name}: the docstring's first line is a sentence"
    assert spec.mode in ("safe", "active")
    assert spec.category in categories()
    assert spec.emits and all(i.startswith(spec.category + ".") for i in spec.emits)
    assert spec.max_requests >= 0 and spec.per_operation >= 0


@pytest.mark.parametrize("spec", CHECKS, ids=lambda spec: spec.name)
async def test_check_stays_within_its_mode_cost_and_declared_ids(spec: CheckSpec) -> None:
    sender = _AnswersEverything()
    ctx = _context(spec, sender)

    found: list[Finding] = []
    with contextlib.suppress(NotApplicable):
        found += [finding async for finding in spec.func(ctx)]

    assert {f.type_id for f in found} <= spec.emits
    assert len(sender.sent) <= (ctx.request_cap or 0)
    if spec.mode == "safe":
        assert {r.method for r in sender.sent} <= SAFE_METHODS


@pytest.mark.parametrize("spec", CHECKS, ids=lambda spec: spec.name)
async def test_a_check_that_writes_in_active_mode_declares_it(spec: CheckSpec) -> None:
    sender = _AnswersEverything()
    ctx = _context(spec, sender)
    ctx.scan = ctx.scan.model_copy(update={"mode": "active"})

    with contextlib.suppress(NotApplicable):
        [finding async for finding in spec.func(ctx)]

    if {r.method for r in sender.sent} - SAFE_METHODS - {"TRACE"}:
        assert spec.writes, f"{spec.name} sends writes: declare writes=True so they are undone"


@pytest.mark.parametrize("spec", CHECKS, ids=lambda spec: spec.name)
def test_check_lives_in_its_category_package(spec: CheckSpec) -> None:
    assert spec.func.__module__.startswith(f"middlebrick.checks.{spec.category}."), (
        f"{spec.name} is defined in {spec.func.__module__}: checks live in "
        f"middlebrick/checks/{spec.category}/"
    )


def test_a_check_cannot_build_a_finding_it_did_not_declare() -> None:
    spec = load_all()["encryption.hsts"]
    ctx = _context(spec, FakeSender())

    with pytest.raises(ValueError, match="does not declare"):
        ctx.finding("encryption.plain-http", "*", detail="not mine")
