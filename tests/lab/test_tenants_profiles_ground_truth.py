"""The ground truth of the tenants and profiles services names real operations and valid ids."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from middlebrick.knowledge import categories

pytestmark = pytest.mark.lab

GROUND_TRUTH = Path(__file__).resolve().parents[2] / "lab" / "ground_truth.yaml"
FRAMEWORKS = {"tenants": "django", "profiles": "flask"}
NOT_IN_SPEC = {"tenants": {"GET /"}, "profiles": {"GET /admin", "GET /apidocs"}}
_ID = re.compile(r"^([a-z_]+)\.[a-z0-9]+(?:-[a-z0-9]+)*$")
_SAFE = {"GET", "HEAD", "OPTIONS"}


def _services() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(GROUND_TRUTH.read_text(encoding="utf-8"))
    return {name: svc for name, svc in data["services"].items() if name in FRAMEWORKS}


def _documented(http: Any, url: str) -> set[str]:
    spec = http("GET", url).json()
    return {f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item}


def test_ground_truth_entries_are_well_formed():
    services = _services()
    assert set(services) == set(FRAMEWORKS)
    known = set(categories())
    for name, service in services.items():
        assert service["framework"] == FRAMEWORKS[name]
        seen: set[tuple[str, str]] = set()
        for entry in [*service["expected"], *service.get("observations", [])]:
            assert set(entry) <= {"finding", "operation", "parameter", "mode", "needs", "why"}
            match = _ID.match(entry["finding"])
            assert match and match.group(1) in known, entry["finding"]
            assert entry["mode"] in ("safe", "active")
            assert set(entry.get("needs", [])) <= {"two-identities", "spec", "no-spec", "include"}
            assert entry["why"].strip()
            key = (entry["finding"], entry["operation"])
            assert key not in seen, key  # one entry per (finding, operation)
            seen.add(key)
            method = entry["operation"].split(" ")[0]
            if entry["mode"] == "safe" and entry["operation"] != "*":
                assert method in _SAFE or "spec" in entry.get("needs", []), key


@pytest.mark.parametrize("service", sorted(FRAMEWORKS))
def test_ground_truth_operations_are_in_the_vulnerable_services_spec(lab, http, service):
    documented = _documented(http, lab.target(service, "vulnerable").spec_url)
    truth = _services()[service]
    for entry in [*truth["expected"], *truth.get("observations", [])]:
        operation = entry["operation"]
        if operation == "*" or operation in NOT_IN_SPEC.get(service, set()):
            continue
        assert operation in documented, operation


def test_undocumented_admin_route_is_really_missing_from_the_vulnerable_spec(lab, http):
    documented = _documented(http, lab.target("profiles", "vulnerable").spec_url)
    assert not documented & NOT_IN_SPEC["profiles"]
