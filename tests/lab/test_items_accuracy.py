"""How benchmarks/accuracy.py counts, and the CI gate: no regression against the ground truth.

The counting tests use stand-in findings; the gate scans the running lab (every service ×
variant, with and without spec, safe mode) and fails on a missed entry whose id a check emits,
an observation no longer reported, or any finding above info on a secure twin, unless
lab/known_misses.txt lists it (written by ``benchmarks/accuracy.py --known-misses``).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from benchmarks import accuracy, known_misses
from lab.truth import Expected, Extra, Observation, load
from middlebrick.findings import Occurrence, Severity

pytestmark = pytest.mark.lab


def _entry(finding: str, operation: str, **extra: object) -> Expected:
    return Expected(finding=finding, operation=operation, mode="safe", why="x", **extra)


def _finding(
    type_id: str,
    operation: str,
    severity: Severity = Severity.high,
    occurrences: tuple[Occurrence, ...] = (),
) -> SimpleNamespace:
    return SimpleNamespace(
        type_id=type_id,
        operation=operation,
        category=type_id.split(".")[0],
        severity=severity,
        occurrences=occurrences,
    )


def _outcome(variant: str, findings: list[SimpleNamespace], *, spec: bool = True):
    return accuracy.ScanOutcome("items", variant, spec, "safe", 50, findings, 10, 0.1)


def _score(
    entries, vulnerable, secure, *, spec: bool = True, extras=(), observations=()
) -> accuracy.Evaluation:
    result = accuracy.Evaluation()
    accuracy.score_pair(
        entries,
        _outcome("vulnerable", vulnerable, spec=spec),
        _outcome("secure", secure, spec=spec),
        identities=4,
        built_categories={"bola", "encryption"},
        into=result,
        extras=extras,
        observations=observations,
    )
    return result


def test_accuracy_counts_a_match_on_the_same_id_and_operation():
    entries = [
        _entry("bola.unsigned-cursor", "GET /search"),
        _entry("encryption.hsts-missing", "*"),
    ]
    result = _score(
        entries,
        [_finding("bola.unsigned-cursor", "GET /search"), _finding("encryption.hsts-missing", "*")],
        [],
    )
    figures = accuracy.Tally()
    for tally in result.tallies.values():
        figures.add(tally)
    assert figures.figures() | {} == {
        "expected": 2,
        "found": 2,
        "tpr": 1.0,
        "precision": 1.0,
        "fpr": 0.0,
        "youden": 1.0,
        "negatives": 2,
        "false_positives": 0,
        "reported": 2,
        "true": 2,
    }


def test_accuracy_never_counts_an_info_finding_as_finding_an_entry():
    entries = [_entry("bola.unsigned-cursor", "GET /search")]
    result = _score(entries, [_finding("bola.unsigned-cursor", "GET /search", Severity.info)], [])
    assert result.tallies["bola"].found == 0
    assert result.tallies["bola"].reported == 0


def test_accuracy_needs_the_severity_an_entry_declares():
    entries = [_entry("bola.unsigned-cursor", "GET /search", severity="high")]
    low = _score(entries, [_finding("bola.unsigned-cursor", "GET /search", Severity.medium)], [])
    high = _score(entries, [_finding("bola.unsigned-cursor", "GET /search", Severity.high)], [])
    assert (low.tallies["bola"].found, high.tallies["bola"].found) == (0, 1)


def test_accuracy_lets_a_merged_finding_find_each_of_its_occurrences():
    entries = [_entry("bola.unsigned-cursor", "GET /a"), _entry("bola.unsigned-cursor", "GET /b")]
    merged = _finding(
        "bola.unsigned-cursor",
        "GET /a",
        occurrences=(
            Occurrence(type_id="bola.unsigned-cursor", operation="GET /b", severity=Severity.high),
        ),
    )
    result = _score(entries, [merged], [])
    assert result.tallies["bola"].found == 2
    assert (result.tallies["bola"].reported, result.tallies["bola"].true) == (1, 1)


def test_accuracy_counts_an_unexplained_vulnerable_finding_against_precision():
    entries = [_entry("bola.unsigned-cursor", "GET /search")]
    vulnerable = [
        _finding("bola.unsigned-cursor", "GET /search"),
        _finding("bola.predictable-id", "GET /items/{id}", Severity.low),
    ]
    result = _score(entries, vulnerable, [])
    assert result.tallies["bola"].figures()["precision"] == 0.5
    assert result.unexplained == [
        ("items", "spec", "bola.predictable-id", "GET /items/{id}", "bola")
    ]
    assert accuracy.regressions(result) == [
        "unexplained bola.predictable-id on items (vulnerable) GET /items/{id} (spec)"
    ]


def test_accuracy_takes_a_listed_true_extra_as_true():
    entries = [_entry("bola.unsigned-cursor", "GET /search")]
    extra = Extra(
        finding="bola.predictable-id", operation="GET /items/{id}", why="ids are sequential"
    )
    vulnerable = [
        _finding("bola.unsigned-cursor", "GET /search"),
        _finding("bola.predictable-id", "GET /items/{id}", Severity.low),
    ]
    result = _score(entries, vulnerable, [], extras=[extra])
    assert result.tallies["bola"].figures()["precision"] == 1.0
    assert result.unexplained == []


def test_accuracy_reports_a_miss_when_the_operation_differs():
    entries = [_entry("bola.unsigned-cursor", "GET /search")]
    result = _score(entries, [_finding("bola.unsigned-cursor", "GET /items")], [])
    assert result.tallies["bola"].found == 0
    assert [e.finding for _, _, e in result.misses] == ["bola.unsigned-cursor"]


def test_accuracy_lets_a_star_match_any_operation_both_ways():
    entries = [_entry("encryption.hsts-missing", "*"), _entry("bola.unsigned-cursor", "GET /s")]
    result = _score(
        entries,
        [_finding("encryption.hsts-missing", "GET /x"), _finding("bola.unsigned-cursor", "*")],
        [],
    )
    assert result.tallies["encryption"].found == 1
    assert result.tallies["bola"].found == 1


def test_accuracy_counts_twin_findings_above_info_as_false_positives():
    entries = [_entry("encryption.hsts-missing", "*")]
    secure = [
        _finding("encryption.hsts-missing", "*"),
        _finding("encryption.plain-http", "*", Severity.info),
    ]
    result = _score(entries, [], secure)
    assert result.tallies["encryption"].false_positives == 1
    assert result.tallies["encryption"].figures()["fpr"] == 1.0


def test_accuracy_skips_entries_the_scan_cannot_show():
    entries = [
        _entry("bola.unsigned-cursor", "GET /s", needs=("spec",)),
        Expected(finding="bola.id-traversal", operation="GET /t", mode="active", why="x"),
    ]
    result = _score(entries, [], [], spec=False)
    assert result.tallies["bola"].expected == 0


def test_accuracy_json_marks_categories_without_checks_as_not_built():
    data = accuracy.to_json(accuracy.Evaluation(), wall_s=1.0)
    built, _ = accuracy.built()
    assert set(data) == {"overall", "categories", "observations", "scans", "requests", "wall_s"}
    for cid, figures in data["categories"].items():
        assert figures["status"] == ("built" if cid in built else accuracy.NOT_BUILT)
        assert {"expected", "found", "tpr", "precision", "fpr", "youden"} <= set(figures)


def _seen(finding: str = "encryption.hsts-missing", operation: str = "*") -> Observation:
    return Observation(finding=finding, operation=operation, mode="safe", why="plain HTTP")


def test_accuracy_counts_an_observation_reported_at_info_outside_recall_and_precision():
    result = _score(
        [], [_finding("encryption.hsts-missing", "*", Severity.info)], [], observations=[_seen()]
    )
    assert (result.observable["encryption"], result.observed["encryption"]) == (1, 1)
    assert result.tallies["encryption"].expected == 0
    assert accuracy.regressions(result) == []


def test_accuracy_fails_on_an_observation_no_longer_reported():
    result = _score([], [], [], observations=[_seen()])
    assert accuracy.regressions(result) == ["unobserved encryption.hsts-missing on items * (spec)"]


def test_accuracy_counts_an_observation_reported_above_info_as_unexplained():
    result = _score(
        [], [_finding("encryption.hsts-missing", "*", Severity.medium)], [], observations=[_seen()]
    )
    assert result.observed["encryption"] == 1
    assert accuracy.regressions(result) == [
        "unexplained encryption.hsts-missing on items (vulnerable) * (spec)"
    ]


def test_known_misses_keeps_each_line_under_the_reason_its_group_gave_it():
    previous = (
        "# header\n"
        "## crawling only\n"
        "missed a on s GET /x (crawl)\n"
        "missed b on s GET /y (crawl)\n"
        "\n## own data\n"
        "missed c on s GET /z (spec)\n"
        "[active] missed c on s GET /z (spec)\n"
    )
    text = known_misses.render(
        ["missed c on s GET /z (spec)", "missed a on s GET /x (crawl)", "missed d on s * (spec)"],
        ["missed c on s GET /z (spec)"],
        previous,
    )
    reasons = known_misses.parse(text)
    assert reasons["missed a on s GET /x (crawl)"] == ("## crawling only",)
    assert reasons["missed c on s GET /z (spec)"] == ("## own data",)
    assert reasons["[active] missed c on s GET /z (spec)"] == ("## own data",)
    assert reasons["missed d on s * (spec)"] == known_misses.NEW_REASON
    assert "missed b on s GET /y (crawl)" not in reasons
    assert text.index("## crawling only") < text.index("## own data") < text.index("## New")
    assert text.index("## New") < text.index(known_misses.ACTIVE_HEADER)
    assert (
        known_misses.render(
            [
                "missed c on s GET /z (spec)",
                "missed a on s GET /x (crawl)",
                "missed d on s * (spec)",
            ],
            ["missed c on s GET /z (spec)"],
            text,
        )
        == text
    )


def test_known_misses_file_is_what_the_tool_writes():
    path = Path(__file__).parents[2] / "lab" / "known_misses.txt"
    text = path.read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    safe = [line for line in lines if not line.startswith(known_misses.ACTIVE)]
    active = [line.removeprefix(known_misses.ACTIVE) for line in lines if line not in safe]
    assert known_misses.render(safe, active, text) == text, "regenerate: accuracy.py --known-misses"
    assert known_misses.NEW_REASON not in set(known_misses.parse(text).values())


_LISTED = [
    line
    for line in (Path(__file__).parents[2] / "lab" / "known_misses.txt").read_text().splitlines()
    if line and not line.startswith("#")
]
_ACTIVE = "[active] "
KNOWN_MISSES = {line for line in _LISTED if not line.startswith(_ACTIVE)}
KNOWN_ACTIVE_MISSES = {line.removeprefix(_ACTIVE) for line in _LISTED if line.startswith(_ACTIVE)}


async def test_accuracy_gate_finds_no_regression_on_the_lab(lab, shared_scans):
    """Safe mode, with the spec, without it (served spec found), and crawling only; every
    target's store is the same after each scan as before it. A safe scan another lab test
    already made is not made twice (``shared_scans``)."""
    services = sorted({t.service for t in lab.targets})
    surfaces = (accuracy.SPEC, accuracy.SERVED, accuracy.CRAWL)
    result = await accuracy.evaluate(
        lab, load(services=services), surfaces=surfaces, scanner=shared_scans.scanner
    )
    problems = set(accuracy.regressions(result))
    assert (sorted(problems - KNOWN_MISSES), sorted(KNOWN_MISSES - problems)) == ([], []), (
        "(new problems, listed ones gone): fix them, or rerun accuracy.py --known-misses"
    )


async def test_accuracy_gate_in_active_mode_finds_every_entry_and_no_false_positive(
    lab, shared_scans
):
    """Active mode adds its own entries; every target's store is the same after each scan (and
    the scan's own cleanup) as before it: nothing is reseeded in between. Its accepted misses
    are the lines of lab/known_misses.txt marked ``[active]``; a scan another lab test already
    made is not made twice (``shared_scans``)."""
    services = sorted({t.service for t in lab.targets})
    truth = load(services=services)
    result = await accuracy.evaluate(lab, truth, mode="active", scanner=shared_scans.scanner)
    problems = set(accuracy.regressions(result))
    assert (sorted(problems - KNOWN_ACTIVE_MISSES), sorted(KNOWN_ACTIVE_MISSES - problems)) == (
        [],
        [],
    ), "(new problems, listed ones gone): fix them, or rerun accuracy.py --known-misses"
    active = [e for e in load(services=services).entries("items") if e.mode == "active"]
    assert active, "the ground truth has active-mode entries to prove"
