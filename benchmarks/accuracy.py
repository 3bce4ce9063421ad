"""Accuracy of middlebrick against the lab's ground truth (``lab/ground_truth.yaml``).

Starts the lab, scans every service × variant with and without its OpenAPI document, and prints
per category and overall: expected, found, true-positive rate, false-positive rate (findings
above ``info`` on the secure twins), Youden index (TPR − FPR), requests sent and wall time::

    .venv/bin/python benchmarks/accuracy.py [--services items,tenants,profiles]
        [--mode safe|active] [--tier quick|standard|deep] [--spec both|with|without|crawl|all]
        [--rate 50] [--json FILE] [--check] [--verbose]
    .venv/bin/python benchmarks/accuracy.py --known-misses [FILE]

"Without" the document, the scanner still finds the one each lab service serves at a usual
location; ``--spec crawl`` also forbids that, so the surface is what crawling and probing find.

How it counts. Each scan of a vulnerable variant is given the ground-truth entries it can show
(its mode, whether it has the spec, how many identities it has): each is *expected* once and
*found* when a finding of the same id names the same operation (``"*"`` on either side matches
any operation) at or above the severity the entry declares (``low`` by default: an ``info``
finding never finds an entry). A finding the Filter merged stands for each of its occurrences.
Every finding above ``info`` on a vulnerable variant is *true* when it (or one of its
occurrences) is an entry of the service or one of its listed ``extras``, else a *false
positive*: precision = true / findings above ``info``. The scan of the twin, under the same
conditions, has as many *negatives* as entries; each distinct (id, operation) it reports above
``info`` is a twin false positive; FPR = twin false positives / negatives (at most 1).
Categories with no check yet are reported as "not built" and left out of the overall figures.
A service's ``observations`` (shown at ``info`` by design) count in neither: each one a scan can
show must be reported (any severity), else it is a problem ("unobserved"); above ``info`` it is
a false positive like any finding that is not an entry or an extra.
Each target's store is compared before and after each scan (nothing is reseeded in between): a
change is a regression. ``--check`` exits 1 when an entry whose id a check emits is missed, a
vulnerable variant shows a finding that is neither expected nor a listed extra, a twin shows a
false positive, or a scan left the store changed: the regression gate CI runs.

``--known-misses`` runs both gates' scans instead (safe mode: spec, no spec, crawl; active mode:
spec, no spec; every service) and rewrites ``lab/known_misses.txt`` (or FILE) to list exactly
their problems, each keeping the reason its group gave it (``benchmarks/known_misses.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[1]
if str(_REPO) not in sys.path:  # the lab is not installed with the scanner
    sys.path.insert(0, str(_REPO))

from benchmarks import known_misses  # noqa: E402
from lab import runner  # noqa: E402
from lab.state import differences  # noqa: E402
from lab.truth import Expected, Extra, GroundTruth, Observation, load  # noqa: E402
from middlebrick.checks.rate_limiting.core import MAX_BURST  # noqa: E402
from middlebrick.checks.registry import load_all  # noqa: E402
from middlebrick.config import Credential, Limits, ScanRequest, Tier  # noqa: E402
from middlebrick.engine import scan  # noqa: E402
from middlebrick.errors import MiddlebrickError  # noqa: E402
from middlebrick.findings import Severity  # noqa: E402
from middlebrick.knowledge import categories  # noqa: E402
from middlebrick.report import Report  # noqa: E402

NOT_BUILT = "not built"
SPEC, SERVED, CRAWL = "spec", "no spec", "crawl"  # how a scan learns the surface
_SURFACES = {
    "both": (SPEC, SERVED),
    "with": (SPEC,),
    "without": (SERVED,),
    "crawl": (CRAWL,),
    "all": (SPEC, SERVED, CRAWL),
}


@dataclass
class Tally:
    """Counts of one category (or overall)."""

    expected: int = 0
    found: int = 0
    negatives: int = 0
    false_positives: int = 0  # on the secure twins
    reported: int = 0  # findings above info on the vulnerable variants
    true: int = 0  # of those, expected or listed as a true extra

    def add(self, other: Tally) -> None:
        """Add ``other``'s counts to this one."""
        self.expected += other.expected
        self.found += other.found
        self.negatives += other.negatives
        self.false_positives += other.false_positives
        self.reported += other.reported
        self.true += other.true

    def figures(self) -> dict[str, Any]:
        """The JSON figures: expected, found, tpr, precision, fpr, youden (and raw counts)."""
        tpr = self.found / self.expected if self.expected else None
        precision = self.true / self.reported if self.reported else None
        if self.negatives:
            fpr: float | None = min(1.0, self.false_positives / self.negatives)
        else:
            fpr = 1.0 if self.false_positives else (0.0 if tpr is not None else None)
        youden = None if tpr is None or fpr is None else tpr - fpr
        return {
            "expected": self.expected,
            "found": self.found,
            "tpr": _round(tpr),
            "precision": _round(precision),
            "fpr": _round(fpr),
            "youden": _round(youden),
            "negatives": self.negatives,
            "false_positives": self.false_positives,
            "reported": self.reported,
            "true": self.true,
        }


@dataclass
class ScanOutcome:
    """One scan of one target."""

    service: str
    variant: str
    spec: bool
    mode: str
    score: int | None
    findings: list[Any]
    requests: int
    wall_s: float
    error: str | None = None
    crawl: bool = False  # no spec given and none looked for: crawling and probing only

    @property
    def label(self) -> str:
        """How the scan learned the surface: "spec", "no spec" (served spec found) or "crawl"."""
        return "spec" if self.spec else ("crawl" if self.crawl else "no spec")

    def row(self) -> dict[str, Any]:
        """The JSON record of the scan."""
        row = {
            "service": self.service,
            "variant": self.variant,
            "surface": self.label,
            "mode": self.mode,
            "score": self.score,
            "findings": len(self.findings),
            "requests": self.requests,
            "wall_s": round(self.wall_s, 2),
        }
        if self.error:
            row["error"] = self.error
        return row


@dataclass
class Evaluation:
    """Per-category tallies, the scans, and what was missed or wrongly reported."""

    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    scans: list[ScanOutcome] = field(default_factory=list)
    misses: list[tuple[str, str, Expected]] = field(default_factory=list)
    false_positives: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    unexplained: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # vulnerable
    observed: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # by category
    observable: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unobserved: list[tuple[str, str, Observation]] = field(default_factory=list)
    residue: list[tuple[str, str, str]] = field(default_factory=list)  # target, scan, change


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def built() -> tuple[set[str], set[str]]:
    """(categories that have a check, finding ids some check emits)."""
    checks = load_all().values()
    return {c.category for c in checks}, {type_id for c in checks for type_id in c.emits}


def lab_request(
    target: runner.Target, *, surface: str, mode: str, tier: str, rate: float
) -> ScanRequest:
    """The scan of one lab target as the benchmark makes it: every lab user as an identity."""
    users = list(target.tokens)
    return ScanRequest(
        target=target.url,
        spec=target.spec_url if surface == SPEC else None,
        find_served_spec=surface != CRAWL,
        headers=(("Authorization", f"{target.auth_scheme} {target.tokens[users[0]]}"),),
        identities={
            name: Credential(headers=(("Authorization", f"{target.auth_scheme} {token}"),))
            for name, token in target.tokens.items()
        },
        mode=mode,
        tier=Tier(tier),
        limits=Limits(rate=rate, burst=MAX_BURST),  # a burst that can show a missing limit
    )


@dataclass(frozen=True)
class Scanned:
    """One scan of one target: its outcome, its report (None after an error), and the target's
    store read whole before and after it."""

    outcome: ScanOutcome
    report: Report | None
    before: dict[str, Any]
    after: dict[str, Any]


Scanner = Callable[..., Awaitable[Scanned]]
"""``scanner(lab, target, surface=…, mode=…, tier=…, rate=…)``: how ``evaluate`` scans."""


async def scan_target(
    lab: runner.Lab, target: runner.Target, *, surface: str, mode: str, tier: str, rate: float
) -> Scanned:
    """Scan ``target`` as the benchmark does, reading its store before and after."""
    before = lab.snapshot(target.service, target.variant)
    started = time.perf_counter()
    spec, crawl = surface == SPEC, surface == CRAWL
    try:
        report = await scan(lab_request(target, surface=surface, mode=mode, tier=tier, rate=rate))
    except MiddlebrickError as exc:
        wall = time.perf_counter() - started
        failed = ScanOutcome(
            target.service, target.variant, spec, mode, None, [], 0, wall, str(exc), crawl
        )
        return Scanned(failed, None, before, lab.snapshot(target.service, target.variant))
    wall = time.perf_counter() - started
    outcome = ScanOutcome(
        target.service,
        target.variant,
        spec,
        mode,
        report.score,
        list(report.findings),
        report.requests,
        wall,
        crawl=crawl,
    )
    return Scanned(outcome, report, before, lab.snapshot(target.service, target.variant))


def instances(finding: Any) -> list[tuple[str, str, str]]:
    """(type id, operation, severity) of a finding and of each occurrence merged into it."""
    own = (finding.type_id, finding.operation, Severity(finding.severity).value)
    merged = getattr(finding, "occurrences", ())
    return [own, *((o.type_id, o.operation, Severity(o.severity).value) for o in merged)]


def score_pair(
    entries: Iterable[Expected],
    vulnerable: ScanOutcome,
    secure: ScanOutcome,
    *,
    identities: int,
    built_categories: set[str],
    into: Evaluation,
    extras: Iterable[Extra] = (),
    observations: Iterable[Observation] = (),
) -> None:
    """Count one vulnerable/secure pair of scans (same service, mode and spec) into ``into``.

    Observations (shown at ``info`` by design) are checked apart: each one the scan can show is
    *observable*, and *observed* when a finding of its id names its operation; they count in
    neither recall nor precision."""
    entries = list(entries)
    applicable = [
        e
        for e in entries
        if e.applies(mode=vulnerable.mode, spec=vulnerable.spec, identities=identities)
    ]
    shown = [i for f in vulnerable.findings for i in instances(f)]
    for entry in applicable:
        tally = into.tallies[entry.category]
        tally.expected += 1
        tally.negatives += 1
        if any(entry.matched_by(*instance) for instance in shown):
            tally.found += 1
        elif entry.category in built_categories:
            into.misses.append((vulnerable.service, vulnerable.label, entry))
    for observation in observations:
        if not observation.applies(
            mode=vulnerable.mode, spec=vulnerable.spec, identities=identities
        ):
            continue
        into.observable[observation.category] += 1
        if any(observation.matched_by(*instance) for instance in shown):
            into.observed[observation.category] += 1
        elif observation.category in built_categories:
            into.unobserved.append((vulnerable.service, vulnerable.label, observation))
    explained: list[Expected | Extra] = [*entries, *extras]
    for finding in vulnerable.findings:
        if finding.severity == Severity.info:
            continue
        tally = into.tallies[finding.category]
        tally.reported += 1
        if any(
            known.matched_by(type_id, operation)
            for type_id, operation, _ in instances(finding)
            for known in explained
        ):
            tally.true += 1
        else:
            into.unexplained.append(
                (
                    vulnerable.service,
                    vulnerable.label,
                    finding.type_id,
                    finding.operation,
                    finding.category,
                )
            )
    reported = {
        (f.type_id, f.operation, f.category) for f in secure.findings if f.severity != Severity.info
    }
    for type_id, operation, category in sorted(reported):
        into.tallies[category].false_positives += 1
        into.false_positives.append((secure.service, secure.label, type_id, operation, category))


async def evaluate(
    lab: runner.Lab,
    truth: GroundTruth,
    *,
    mode: str = "safe",
    tier: str = "standard",
    surfaces: tuple[str, ...] = (SPEC, SERVED),
    rate: float = Limits().rate,
    on_scan: Callable[[ScanOutcome], None] | None = None,
    scanner: Scanner = scan_target,
) -> Evaluation:
    """Scan every service of ``lab`` (vulnerable, then secure) for each surface choice; count.

    The target's store is read whole before and after each scan: whatever a scan left changed
    (a safe scan, or an active one after its own cleanup) is kept in ``residue`` and the lab is
    reseeded. ``scanner`` scans one target (the lab tests pass one that reuses the scans other
    tests already made of the same target with the same request).
    """
    result = Evaluation()
    built_categories, _ = built()
    services = list(dict.fromkeys(t.service for t in lab.targets))
    for service in services:
        for surface in surfaces:
            pair: dict[str, ScanOutcome] = {}
            for variant in ("vulnerable", "secure"):
                target = lab.target(service, variant)
                done = await scanner(lab, target, surface=surface, mode=mode, tier=tier, rate=rate)
                outcome, changed = done.outcome, differences(done.before, done.after)
                if changed:
                    scan_name = f"{mode} scan ({outcome.label})"
                    result.residue += [(target.name, scan_name, change) for change in changed]
                    lab.reseed()
                pair[variant] = outcome
                result.scans.append(outcome)
                if on_scan is not None:
                    on_scan(outcome)
            score_pair(
                truth.entries(service),
                pair["vulnerable"],
                pair["secure"],
                identities=len(lab.target(service, "vulnerable").tokens),
                built_categories=built_categories,
                into=result,
                extras=truth.extras(service),
                observations=truth.observations(service),
            )
    return result


def to_json(result: Evaluation, *, wall_s: float) -> dict[str, Any]:
    """The benchmark's JSON: overall, categories, observations, scans, requests, wall_s."""
    built_categories, _ = built()
    overall = Tally()
    per_category: dict[str, Any] = {}
    for cid in categories():
        tally = result.tallies.get(cid, Tally())
        figures = tally.figures()
        if cid in built_categories:
            overall.add(tally)
            figures["status"] = "built"
        else:
            figures.update(tpr=None, precision=None, fpr=None, youden=None, status=NOT_BUILT)
        per_category[cid] = figures
    return {
        "overall": overall.figures(),
        "categories": per_category,
        "observations": {
            "observable": sum(result.observable.values()),
            "observed": sum(result.observed.values()),
        },
        "scans": [s.row() for s in result.scans],
        "requests": sum(s.requests for s in result.scans),
        "wall_s": round(wall_s, 2),
    }


def regressions(result: Evaluation) -> list[str]:
    """What the CI gate fails on: misses of ids a check emits, findings of a vulnerable variant
    that are neither expected nor a listed extra, and any twin false positive."""
    _, emitted = built()
    problems = [
        f"missed {e.finding} on {service} {e.operation} ({label})"
        for service, label, e in result.misses
        if e.finding in emitted
    ]
    problems += [
        f"unobserved {o.finding} on {service} {o.operation} ({label})"
        for service, label, o in result.unobserved
        if o.finding in emitted
    ]
    problems += [
        f"unexplained {type_id} on {service} (vulnerable) {operation} ({label})"
        for service, label, type_id, operation, _ in result.unexplained
    ]
    problems += [
        f"false positive {type_id} on {service} (secure) {operation} ({label})"
        for service, label, type_id, operation, _ in result.false_positives
    ]
    problems += [
        f"{scan} left {target} changed: {change}" for target, scan, change in result.residue
    ]
    return problems


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:5.1f}%"


def render(data: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    lines = [
        f"{'category':<24}{'expected':>9}{'found':>7}{'TPR':>8}{'above info':>11}{'true':>6}"
        f"{'precision':>10}{'twin FP':>8}{'FPR':>8}{'Youden':>8}",
    ]
    rows = [*data["categories"].items(), ("overall", data["overall"])]
    for cid, f in rows:
        if f.get("status") == NOT_BUILT:
            lines.append(f"{cid:<24}{f['expected']:>9}{'':>7}  {NOT_BUILT}")
            continue
        youden = "-" if f["youden"] is None else f"{f['youden']:+.3f}"
        lines.append(
            f"{cid:<24}{f['expected']:>9}{f['found']:>7}{_pct(f['tpr']):>8}"
            f"{f['reported']:>11}{f['true']:>6}{_pct(f['precision']):>10}"
            f"{f['false_positives']:>8}{_pct(f['fpr']):>8}{youden:>8}"
        )
    seen = data.get("observations")
    if seen:
        lines.append(
            f"observations (info by design, outside the figures): {seen['observed']} of "
            f"{seen['observable']} still reported"
        )
    lines.append(f"requests {data['requests']}, wall time {data['wall_s']:.1f} s")
    return "\n".join(lines)


def _describe(outcome: ScanOutcome) -> str:
    spec = outcome.label
    if outcome.error:
        return f"{outcome.service}/{outcome.variant} ({spec}): failed: {outcome.error}"
    return (
        f"{outcome.service}/{outcome.variant} ({spec}, {outcome.mode}): score {outcome.score}, "
        f"{len(outcome.findings)} findings, {outcome.requests} requests, {outcome.wall_s:.1f} s"
    )


def _write_known_misses(path: Path, *, tier: str, rate: float) -> int:
    """Run the safe and the active gate as the lab tests do; rewrite ``path`` with their
    problems; print each gate's table. 1 when a problem has no reason yet."""
    started = time.perf_counter()
    problems: dict[str, list[str]] = {}
    with runner.start() as lab:
        truth = load(services=sorted({t.service for t in lab.targets}))
        for mode, surfaces in (("safe", (SPEC, SERVED, CRAWL)), ("active", (SPEC, SERVED))):
            begun = time.perf_counter()
            result = asyncio.run(
                evaluate(
                    lab,
                    truth,
                    mode=mode,
                    tier=tier,
                    surfaces=surfaces,
                    rate=rate,
                    on_scan=lambda outcome: print(_describe(outcome), file=sys.stderr),
                )
            )
            print(f"{mode} mode ({', '.join(surfaces)}):")
            print(render(to_json(result, wall_s=time.perf_counter() - begun)))
            problems[mode] = regressions(result)
    unexplained = known_misses.write(path, problems["safe"], problems["active"])
    print(
        f"{path}: {len(problems['safe'])} safe and {len(problems['active'])} active problems, "
        f"{unexplained} without a reason yet ({time.perf_counter() - started:.0f} s)",
        file=sys.stderr,
    )
    return 1 if unexplained else 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", help="comma-separated services (default: all)")
    parser.add_argument("--mode", choices=("safe", "active"), default="safe")
    parser.add_argument("--tier", choices=[t.value for t in Tier], default=Tier.standard.value)
    parser.add_argument(
        "--spec",
        choices=tuple(_SURFACES),
        default="both",
        help="with: the spec is given; without: not given (a served one is found); crawl: "
        "not given and not looked for; both: with and without; all: the three",
    )
    parser.add_argument("--rate", type=float, default=Limits().rate, help="requests/s per scan")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to FILE")
    parser.add_argument("--check", action="store_true", help="exit 1 on any regression")
    parser.add_argument("--verbose", action="store_true", help="list misses and false positives")
    parser.add_argument(
        "--known-misses",
        type=Path,
        nargs="?",
        const=_REPO / "lab" / "known_misses.txt",
        help="run both gates (safe: spec, no spec, crawl; active: spec, no spec) on every "
        "service and rewrite FILE (default lab/known_misses.txt) with their problems",
    )
    args = parser.parse_args(argv)
    if args.known_misses:
        return _write_known_misses(args.known_misses, tier=args.tier, rate=args.rate)
    surfaces = _SURFACES[args.spec]
    services = args.services.split(",") if args.services else None
    truth = load(services=services)
    started = time.perf_counter()
    with runner.start(services) as lab:
        print(f"lab up in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        result = asyncio.run(
            evaluate(
                lab,
                truth,
                mode=args.mode,
                tier=args.tier,
                surfaces=surfaces,
                rate=args.rate,
                on_scan=lambda outcome: print(_describe(outcome), file=sys.stderr),
            )
        )
    data = to_json(result, wall_s=time.perf_counter() - started)
    print(render(data))
    if args.verbose:
        for service, where, entry in result.misses:
            print(f"  missed  {entry.finding} {entry.operation} [{service}, {where}]")
        for service, where, seen in result.unobserved:
            print(f"  unseen  {seen.finding} {seen.operation} [{service}, {where}]")
        for service, where, type_id, operation, _ in result.unexplained:
            print(f"  extra?  {type_id} {operation} [{service} vulnerable, {where}]")
        for service, where, type_id, operation, _ in result.false_positives:
            print(f"  FP      {type_id} {operation} [{service} secure, {where}]")
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    if args.check:
        problems = regressions(result)
        for problem in problems:
            print(f"REGRESSION: {problem}", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
