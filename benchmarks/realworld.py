"""Precision of middlebrick on real APIs that nobody here wrote, judged by hand.

Installs each app of ``benchmarks/realworld_apps.py`` from PyPI (pinned, one virtualenv per app
under a cache folder), starts it on 127.0.0.1 with fresh data (two ordinary users where it has
users, objects owned by each, something public, something shared), scans it with this
checkout's scanner (``python -m middlebrick scan``, as a user would: its served OpenAPI document
when it has one, every identity), stops it, and compares every finding above ``info`` with the
hand-made verdicts of ``benchmarks/realworld/verdicts.yaml``::

    .venv/bin/python benchmarks/realworld.py [--app kinto,datasette] [--mode safe|active|both]
        [--cache DIR] [--json FILE] [--keep DIR] [--recount DIR] [--unjudged] [--list]

A verdict is keyed by app × finding type × operation (× parameter where it matters), so it
survives a change of severity or the merging of duplicates; a finding no verdict matches is
"not yet judged". Every scan runs on a fresh data folder, so an active scan never sees what an
earlier one wrote. Prints per app and mode: operations, findings above info, true, false, not
yet judged, score and grade; then precision (true / judged above info) and the false findings
at high or critical. ``--keep DIR`` keeps each scan's JSON report there, for judging;
``--recount DIR`` judges those reports again (after editing the verdicts) without scanning.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
if str(_REPO) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(_REPO))

from benchmarks import realworld_apps as apps  # noqa: E402

VERDICTS = _HERE / "realworld" / "verdicts.yaml"
MODES = ("safe", "active")
_ABOVE_INFO = ("critical", "high", "medium", "low")
_SEVERE = ("critical", "high")
_FIELDS = {"finding", "operation", "parameter", "mode", "verdict", "reason", "curl"}


@dataclass(frozen=True)
class Verdict:
    """One hand-made judgement: is this finding type on this operation a real flaw?"""

    app: str
    finding: str
    operation: str
    true: bool
    reason: str
    curl: str
    parameter: str | None = None  # None: any parameter
    mode: str | None = None  # None: both modes

    def matches(self, app: str, mode: str, finding: Mapping[str, Any]) -> bool:
        """Whether this verdict judges ``finding`` (a report's finding as JSON) of ``app``."""
        return (
            self.app == app
            and self.finding == finding["type_id"]
            and self.operation == finding["operation"]
            and (self.parameter is None or self.parameter == finding.get("parameter"))
            and (self.mode is None or self.mode == mode)
        )


def load_verdicts(path: Path = VERDICTS) -> list[Verdict]:
    """The verdicts of ``path``: ``{app: [{finding, operation, verdict, reason, curl, ...}]}``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    verdicts = []
    for app, entries in data.items():
        for entry in entries or ():
            well_formed = (
                isinstance(entry, dict)
                and set(entry) <= _FIELDS
                and isinstance(entry.get("verdict"), bool)
                and all(entry.get(key) for key in ("finding", "operation", "reason", "curl"))
            )
            if not well_formed:
                raise ValueError(f"{path}: {app}: malformed verdict {entry!r}")
            verdicts.append(
                Verdict(
                    app=app,
                    finding=entry["finding"],
                    operation=entry["operation"],
                    true=entry["verdict"],
                    reason=entry["reason"],
                    curl=entry["curl"],
                    parameter=entry.get("parameter"),
                    mode=entry.get("mode"),
                )
            )
    return verdicts


def judge(
    verdicts: Sequence[Verdict], app: str, mode: str, finding: Mapping[str, Any]
) -> bool | None:
    """True or False per the most specific matching verdict; None when no verdict matches."""
    matching = [v for v in verdicts if v.matches(app, mode, finding)]
    if not matching:
        return None
    best = max(matching, key=lambda v: (v.parameter is not None, v.mode is not None))
    return best.true


@dataclass
class Tally:
    """What one scan (or all of them) found above info, and how it was judged."""

    findings: int = 0
    true: int = 0
    false: int = 0
    unjudged: int = 0
    false_severe: int = 0  # judged false at high or critical

    def add(self, other: Tally) -> None:
        """Add ``other``'s counts to this one."""
        self.findings += other.findings
        self.true += other.true
        self.false += other.false
        self.unjudged += other.unjudged
        self.false_severe += other.false_severe

    @property
    def precision(self) -> float | None:
        """True findings out of judged ones above info; None when none was judged."""
        judged = self.true + self.false
        return self.true / judged if judged else None


@dataclass
class Outcome:
    """One scan of one app in one mode, and its judged findings."""

    app: str
    mode: str
    operations: int = 0
    requests: int = 0
    score: int | None = None
    grade: str | None = None
    complete: bool = True
    scan_s: float = 0.0
    tally: Tally = field(default_factory=Tally)
    unjudged: list[dict[str, Any]] = field(default_factory=list)
    false_severe: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def count(verdicts: Sequence[Verdict], app: str, mode: str, report: Mapping[str, Any]) -> Outcome:
    """Judge every finding above info of ``report`` (a scan's JSON report) against ``verdicts``."""
    outcome = Outcome(
        app=app,
        mode=mode,
        operations=report.get("operations", 0),
        requests=report.get("requests", 0),
        score=report.get("score"),
        grade=report.get("grade"),
        complete=report.get("complete", True),
    )
    for finding in report.get("findings", ()):
        if finding["severity"] not in _ABOVE_INFO:
            continue
        outcome.tally.findings += 1
        verdict = judge(verdicts, app, mode, finding)
        key = _key(finding)
        if verdict is None:
            outcome.tally.unjudged += 1
            outcome.unjudged.append(key)
        elif verdict:
            outcome.tally.true += 1
        else:
            outcome.tally.false += 1
            if finding["severity"] in _SEVERE:
                outcome.tally.false_severe += 1
                outcome.false_severe.append(key)
    return outcome


def _key(finding: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "finding": finding["type_id"],
        "operation": finding["operation"],
        "parameter": finding.get("parameter"),
        "severity": finding["severity"],
    }


def totals(outcomes: Iterable[Outcome]) -> Tally:
    """The sum of the outcomes' tallies."""
    total = Tally()
    for outcome in outcomes:
        total.add(outcome.tally)
    return total


def to_json(outcomes: Sequence[Outcome], *, wall_s: float, install_s: float) -> dict[str, Any]:
    """The figures as JSON: one row per scan, the totals, precision and the timings."""
    total = totals(outcomes)
    return {
        "scans": [
            {
                "app": o.app,
                "mode": o.mode,
                "operations": o.operations,
                "requests": o.requests,
                "findings": o.tally.findings,
                "true": o.tally.true,
                "false": o.tally.false,
                "unjudged": o.tally.unjudged,
                "false_severe": o.tally.false_severe,
                "score": o.score,
                "grade": o.grade,
                "complete": o.complete,
                "scan_s": round(o.scan_s, 1),
                "unjudged_findings": o.unjudged,
                "false_severe_findings": o.false_severe,
                "error": o.error,
            }
            for o in outcomes
        ],
        "findings": total.findings,
        "true": total.true,
        "false": total.false,
        "unjudged": total.unjudged,
        "false_severe": total.false_severe,
        "precision": None if total.precision is None else round(total.precision, 3),
        "errors": [f"{o.app} ({o.mode}): {o.error}" for o in outcomes if o.error],
        "wall_s": round(wall_s, 1),
        "install_s": round(install_s, 1),
    }


def render(data: Mapping[str, Any]) -> str:
    """The figures as a Markdown table and a summary line."""
    lines = [
        "| app | mode | operations | above info | true | false | not judged "
        "| false high/crit | score | time |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in data["scans"]:
        score = "error" if row["error"] else _verdict(row["score"], row["grade"], row["complete"])
        if not row["complete"] and not row["error"] and row["score"] is not None:
            score += " (incomplete)"
        lines.append(
            f"| {row['app']} | {row['mode']} | {row['operations']} | {row['findings']} "
            f"| {row['true']} | {row['false']} | {row['unjudged']} | {row['false_severe']} "
            f"| {score} | {row['scan_s']:.0f} s |"
        )
    precision = data["precision"]
    lines.append("")
    lines.append(
        f"precision above info: {'n/a' if precision is None else f'{precision:.1%}'} "
        f"({data['true']} true of {data['true'] + data['false']} judged; "
        f"{data['unjudged']} not yet judged); false high/critical: {data['false_severe']}; "
        f"wall {data['wall_s']:.0f} s, of which {data['install_s']:.0f} s installing"
    )
    lines.extend(f"error: {e}" for e in data["errors"])
    return "\n".join(lines)


def scan(running: apps.Running, mode: str, report: Path) -> dict[str, Any]:
    """Scan ``running`` with this checkout's CLI; the JSON report."""
    argv = [sys.executable, "-m", "middlebrick", "scan", running.base_url, "--no-save", "-q"]
    argv += ["--no-color", "--format", f"json:{report}"]
    spec = running.spec_source()
    if spec:
        argv += ["--spec", spec]
    for name, profile in running.identities.items():
        argv += ["--identity", f"{name}={profile}"]
    if mode == "active":
        argv.append("--active")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode not in (0, 1) or not report.exists():
        raise RuntimeError(f"scan exited {done.returncode}: {done.stderr.strip()[-400:]}")
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


def recount(
    names: Sequence[str], modes: Sequence[str], reports: Path, verdicts: Sequence[Verdict]
) -> list[Outcome]:
    """Judge the reports an earlier run kept in ``reports`` again, without scanning."""
    outcomes = []
    for name in names:
        for mode in modes:
            path = reports / f"{name}-{mode}.json"
            if path.exists():
                data = json.loads(path.read_text(encoding="utf-8"))
                outcome = count(verdicts, name, mode, data)
                outcome.scan_s = data.get("duration_s", 0.0)
                outcomes.append(outcome)
    return outcomes


def run(
    names: Sequence[str],
    modes: Sequence[str],
    cache: Path,
    keep: Path | None,
    verdicts: Sequence[Verdict],
) -> tuple[list[Outcome], float]:
    """Install, start, scan and judge each app in each mode; (outcomes, seconds installing)."""
    outcomes = []
    install_s = 0.0
    for name in names:
        app = apps.APPS[name]
        started = time.monotonic()
        try:
            venv = apps.install(app, cache)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            outcomes += [Outcome(app=name, mode=mode, error=str(exc)) for mode in modes]
            continue
        finally:
            install_s += time.monotonic() - started
        for mode in modes:
            with tempfile.TemporaryDirectory(prefix=f"realworld-{name}-") as tmp:
                report = (keep or Path(tmp)) / f"{name}-{mode}.json"
                report.parent.mkdir(parents=True, exist_ok=True)
                report.unlink(missing_ok=True)
                began = time.monotonic()
                try:
                    with apps.start(app, venv, Path(tmp)) as running:
                        data = scan(running, mode, report)
                    outcome = count(verdicts, name, mode, data)
                except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                    outcome = Outcome(app=name, mode=mode, error=str(exc))
                outcome.scan_s = time.monotonic() - began
                outcomes.append(outcome)
                print(f"{name} ({mode}): {_line(outcome)}", file=sys.stderr, flush=True)
    return outcomes, install_s


def _line(outcome: Outcome) -> str:
    if outcome.error:
        return f"error: {outcome.error}"
    t = outcome.tally
    return (
        f"{outcome.operations} operations, {t.findings} above info: {t.true} true, "
        f"{t.false} false, {t.unjudged} not judged; "
        f"{_verdict(outcome.score, outcome.grade, outcome.complete)} in {outcome.scan_s:.0f} s"
    )


def _verdict(score: int | None, grade: str | None, complete: bool) -> str:
    """``79/C``, or ``incomplete`` for a scan that reached too little for a grade."""
    if score is not None:
        return f"{score}/{grade}"
    return "not scored" if complete else "incomplete"


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run the benchmark, print the table (and write JSON)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--app", help=f"comma-separated apps (default: all of {list(apps.APPS)})")
    parser.add_argument("--mode", choices=(*MODES, "both"), default="both")
    parser.add_argument("--cache", type=Path, default=apps.default_cache(), help="virtualenvs")
    parser.add_argument("--keep", type=Path, help="keep each scan's JSON report in DIR")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON to FILE")
    parser.add_argument("--list", action="store_true", help="list the apps and exit")
    parser.add_argument(
        "--recount", type=Path, metavar="DIR", help="judge the reports kept in DIR, no scans"
    )
    parser.add_argument(
        "--unjudged", action="store_true", help="also list the findings not yet judged"
    )
    args = parser.parse_args(argv)
    if args.list:
        for app in apps.APPS.values():
            print(f"{app.name}: {' '.join(app.requirements)} ({app.license})")
        return 0
    names = args.app.split(",") if args.app else list(apps.APPS)
    unknown = [n for n in names if n not in apps.APPS]
    if unknown:
        parser.error(f"unknown app(s) {unknown}; choose from {list(apps.APPS)}")
    modes = MODES if args.mode == "both" else (args.mode,)
    verdicts = load_verdicts()
    started = time.monotonic()
    if args.recount:
        outcomes, install_s = recount(names, modes, args.recount, verdicts), 0.0
    else:
        outcomes, install_s = run(names, modes, args.cache, args.keep, verdicts)
    data = to_json(outcomes, wall_s=time.monotonic() - started, install_s=install_s)
    print(render(data))
    if args.unjudged:
        for o in outcomes:
            for f in o.unjudged:
                print(
                    f"not judged: {o.app} {o.mode} {f['severity']} {f['finding']} "
                    f"{f['operation']} {f['parameter'] or ''}"
                )
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
