"""Signature packs: every example behaves as written, every signature belongs to a check."""

from __future__ import annotations

import pytest

from middlebrick.checks._signatures import example_hits, signatures_for
from middlebrick.checks._validators import VALIDATORS
from middlebrick.checks.registry import load_all
from middlebrick.knowledge import Signature, catalogue, signatures

SIGNATURES = sorted(signatures().values(), key=lambda sig: sig.id)
EXAMPLES = [
    pytest.param(sig.id, text, expected, id=f"{sig.id}-{'match' if expected else 'no_match'}-{n}")
    for sig in SIGNATURES
    for expected, texts in ((True, sig.examples.match), (False, sig.examples.no_match))
    for n, text in enumerate(texts)
]


@pytest.mark.parametrize(("signature_id", "text", "expected"), EXAMPLES)
def test_signature_example_behaves_as_written(signature_id: str, text: str, expected: bool) -> None:
    hits = example_hits(signature_id, text)

    if expected:
        assert hits, f"{signature_id} should match {text!r}"
    else:
        assert not hits, f"{signature_id} should not match {text!r}, found {hits[0].match!r}"


@pytest.mark.parametrize("sig", SIGNATURES, ids=lambda sig: sig.id)
def test_signature_has_a_false_alarm_example(sig: Signature) -> None:
    assert sig.examples.no_match, f"{sig.id}: add a no_match example (a look-alike it must ignore)"


def test_every_validator_names_a_signature() -> None:
    assert not set(VALIDATORS) - set(signatures())


def test_every_signature_marks_a_finding_that_a_check_emits() -> None:
    emitted = {type_id for spec in load_all().values() for type_id in spec.emits}
    orphans = {sig.id: sig.finding for sig in SIGNATURES if sig.finding not in emitted}

    assert not orphans, f"signatures whose finding no check emits: {orphans}"
    assert all(sig.finding in catalogue() for sig in SIGNATURES)


def test_signatures_are_compiled_once() -> None:
    findings = {sig.finding for sig in SIGNATURES}

    first, second = signatures_for(findings), signatures_for(findings)

    assert len(first) == len(SIGNATURES)
    assert all(a.patterns is b.patterns for a, b in zip(first, second, strict=True))
