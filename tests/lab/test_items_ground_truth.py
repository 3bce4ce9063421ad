"""The ground truth names real ids, real operations of the items service, and every category."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute

from lab.items.app import create_app
from lab.truth import load
from middlebrick.knowledge import categories

pytestmark = pytest.mark.lab


def _walk(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI keeps included routers whole
            yield from _walk(route.original_router.routes)


def _routes(variant: str) -> set[str]:
    app = create_app(variant, endpoint_url="http://127.0.0.1:9", prefix="unused_", secret="s")
    return {f"{method} {route.path}" for route in _walk(app.routes) for method in route.methods}


def test_ground_truth_ids_belong_to_known_categories():
    for service in load().services.values():
        for entry in [*service.expected, *service.observations]:
            assert entry.category in categories(), entry.finding


def test_items_ground_truth_names_only_operations_the_service_serves():
    served = _routes("vulnerable")
    truth = load()
    for entry in [*truth.entries("items"), *truth.observations("items")]:
        assert entry.operation == "*" or entry.operation in served, entry.operation


def test_items_twins_serve_the_same_routes():
    assert _routes("vulnerable") == _routes("secure")


def test_items_ground_truth_covers_every_category():
    covered = {entry.category for entry in load().entries("items")}
    assert covered == set(categories())


def test_ground_truth_loader_rejects_a_duplicate_entry(tmp_path):
    entry = "{finding: bola.unsigned-cursor, operation: GET /s, mode: safe, why: x}"
    path = tmp_path / "truth.yaml"
    path.write_text(f"services: {{s: {{framework: fastapi, expected: [{entry}, {entry}]}}}}")
    with pytest.raises(ValueError, match="more than once"):
        load(path)


def test_ground_truth_loader_rejects_an_observation_that_is_also_expected(tmp_path):
    entry = "{finding: encryption.hsts-missing, operation: '*', mode: safe, why: x}"
    path = tmp_path / "truth.yaml"
    path.write_text(
        f"services: {{s: {{framework: fastapi, expected: [{entry}], observations: [{entry}]}}}}"
    )
    with pytest.raises(ValueError, match="also expects it"):
        load(path)


def test_ground_truth_observations_say_why_they_stay_at_info():
    observations = [o for s in load().services.values() for o in s.observations]
    assert observations, "the ground truth keeps its by-design observations"
    assert all(len(o.why) >= 20 for o in observations)
