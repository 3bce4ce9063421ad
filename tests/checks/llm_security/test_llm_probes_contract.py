"""knowledge/llm_probes.yaml: validated at load, every marker example holds, every probe renders."""

from __future__ import annotations

import base64
import codecs
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from middlebrick.checks.llm_security._request import canary_for, render
from middlebrick.checks.registry import load_all
from middlebrick.knowledge import catalogue, llm_probes
from middlebrick.knowledge.llm_models import LlmMarkers, LlmProbe, LlmProbePack

PACK = llm_probes()
PROBES = sorted(PACK.probes, key=lambda probe: probe.id)
GROUPS = ["refusal", "compliance", "prompt", "model", "model_claim", "secret", "markup"]
TECHNIQUES = {
    "system-prompt-extraction",
    "instruction-override",
    "jailbreak",
    "encoding-bypass",
    "delimiter-injection",
    "indirect-injection",
    "data-exfiltration",
    "tool-abuse",
    "cost-exploitation",
    "output-injection",
}


def _raw() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("middlebrick.knowledge").joinpath("llm_probes.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def test_pack_has_at_least_18_probes_covering_every_technique_in_three_nested_tiers() -> None:
    quick, standard, deep = (PACK.for_tier(t) for t in ("quick", "standard", "deep"))

    assert len(deep) == len(PACK.probes) >= 18
    assert set(quick) <= set(standard) <= set(deep)
    assert {p.technique for p in deep} >= TECHNIQUES


def test_quick_tier_covers_every_finding_the_probes_raise_in_the_lab() -> None:
    quick = {p.finding for p in PACK.for_tier("quick")}

    assert {
        "llm_security.system-prompt-leak",
        "llm_security.prompt-injection",
        "llm_security.jailbreak",
        "llm_security.data-exfiltration",
        "llm_security.output-injection",
        "llm_security.unbounded-output",
        "llm_security.model-disclosure",
    } <= quick


def test_every_probe_finding_is_in_the_catalogue_and_emitted_by_the_check() -> None:
    emitted = load_all()["llm_security.llm_endpoints"].emits

    assert {p.finding for p in PACK.probes} <= set(catalogue()) & emitted


def test_tier_limits_hold_their_probes_and_the_declared_cost_holds_the_deepest_tier() -> None:
    spec = load_all()["llm_security.llm_endpoints"]

    for tier in ("quick", "standard", "deep"):
        assert len(PACK.for_tier(tier)) <= getattr(PACK.limits, tier).max_requests
    assert spec.max_requests >= PACK.limits.deep.max_requests + len(PACK.paths) + 1


@pytest.mark.parametrize("group", GROUPS)
def test_marker_group_examples_match_and_do_not_match(group: str) -> None:
    markers: LlmMarkers = getattr(PACK.markers, group)
    patterns = markers.compiled()

    for text in markers.examples.match:
        assert any(p.search(text) for p in patterns), f"{group}: {text!r} should match"
    for text in markers.examples.no_match:
        assert not any(p.search(text) for p in patterns), f"{group}: {text!r} should not match"


@pytest.mark.parametrize("probe", PROBES, ids=lambda probe: probe.id)
def test_probe_renders_without_placeholders_and_hides_encoded_canaries(probe: LlmProbe) -> None:
    canary = canary_for(probe.id)
    message = render(probe, canary)

    assert "{canary}" not in message and "{payload}" not in message
    if probe.encoding in ("base64", "rot13"):
        assert canary not in message
        encoded = message.rsplit(" ", 1)[-1]
        decoded = (
            base64.b64decode(encoded).decode()
            if probe.encoding == "base64"
            else codecs.decode(encoded, "rot13")
        )
        assert canary in decoded or canary in codecs.decode(message, "rot13")
    elif probe.detector.kind in ("canary", "jailbreak", "markup", "tool_call"):
        assert canary in message
    if probe.encoding == "homoglyph":
        assert re.search(r"[\u0400-\u04ff]", message), "homoglyphs replace Latin letters"


def test_docs_and_docstring_name_every_probe_and_the_tier_sizes() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "checks" / "llm.md").read_text()
    doc = load_all()["llm_security.llm_endpoints"].doc
    sizes = [len(PACK.for_tier(t)) for t in ("quick", "standard", "deep")]

    assert [p.id for p in PROBES if f"`{p.id}`" not in docs] == []
    assert f"{sizes[0]} quick, {sizes[1]} standard, {sizes[2]} deep" in doc
    assert f"declared cost is {load_all()['llm_security.llm_endpoints'].max_requests}" in docs


def test_canaries_are_distinct_and_stable() -> None:
    canaries = [canary_for(p.id) for p in PACK.probes]

    assert len(set(canaries)) == len(canaries)
    assert canary_for("override-reply-canary") == canary_for("override-reply-canary")
    assert all(re.fullmatch(r"MBX-[A-Z2-9]{6}", c) for c in canaries)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda p: p["probes"][0].update(detector={"kind": "length"}), "min_tokens"),
        (lambda p: p["probes"][1].update(message="no placeholder here"), "canary"),
        (lambda p: p["probes"][1].update(payload="x {canary}"), "payload"),
        (lambda p: p["probes"][0].update(colour="red"), "colour"),
        (lambda p: p["probes"].append(dict(p["probes"][0])), "duplicate"),
        (lambda p: p["markers"]["refusal"].update(regex=["(unclosed"]), "compile"),
        (lambda p: p["limits"]["quick"].update(max_requests=2), "max_requests"),
    ],
)
def test_pack_model_rejects_bad_data_naming_the_problem(change: Any, error: str) -> None:
    raw = _raw()
    change(raw)

    with pytest.raises(ValidationError, match=error):
        LlmProbePack.model_validate(raw)
