"""Write ``lab/known_misses.txt``: exactly the problems the lab gates find, grouped by reason.

The file is what ``tests/lab/test_items_accuracy.py`` compares: the gate fails on a problem it
does not list and on a listed one that is gone. ``benchmarks/accuracy.py --known-misses`` runs
both gates' scans (safe mode with the spec, without it and crawling only; active mode with and
without the spec) and calls :func:`write` with what they found.

Reasons are kept from the file being replaced: a group is a run of ``## `` lines (its reason)
followed by its problem lines. A problem keeps the reason of the group it was listed in; a
problem no group listed goes to a last group saying it is new and not yet explained, for a human
to fix the check, correct the ground truth, or write its reason. Groups keep their order, lines
are sorted within a group, and a group left without problems is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

ACTIVE = "[active] "  # the prefix of the active-mode gate's lines
NEW_REASON = (
    "## New since the file was last written: not yet explained. Fix the check or the ground",
    "## truth, or replace these two lines with the reason.",
)
HEADER = """\
# Problems the lab gates (tests/lab/test_items_accuracy.py) find, exactly: ground-truth entries
# a built check misses ("missed": not reported at or above the entry's severity), observations
# no longer reported at all ("unobserved"), findings above info on a vulnerable variant that are
# neither an entry nor a listed extra ("unexplained"), twin false positives, and stores a scan
# left changed. The gate fails on a problem not listed here and on a listed one that is gone.
# Lines marked "[active] " belong to the active-mode gate, the others to the safe-mode gate
# (spec, no spec = the served spec found, crawl = no spec looked for).
#
# Written by `.venv/bin/python benchmarks/accuracy.py --known-misses` (see lab/README.md), which
# keeps each line's reason: a group is its "## " lines followed by its problems. Edit reasons
# here; never add or remove a problem line by hand.
"""
ACTIVE_HEADER = "# ---- active mode ----"


def parse(text: str) -> dict[str, tuple[str, ...]]:
    """Each listed problem line → the reason lines (``## …``) of the group that lists it."""
    reasons: dict[str, tuple[str, ...]] = {}
    current: list[str] = []
    in_problems = False
    for line in text.splitlines():
        if line.startswith("## "):
            if in_problems:
                current, in_problems = [], False
            current.append(line)
        elif line and not line.startswith("#"):
            in_problems = True
            reasons[line] = tuple(current)
    return reasons


def _section(lines: Iterable[str], reasons: dict[str, tuple[str, ...]]) -> list[str]:
    groups: dict[tuple[str, ...], list[str]] = {}
    order = list(dict.fromkeys(reasons.values()))
    for line in sorted(set(lines)):
        groups.setdefault(reasons.get(line, NEW_REASON), []).append(line)
    ranked = sorted(groups, key=lambda r: order.index(r) if r in order else len(order))
    out: list[str] = []
    for reason in ranked:
        out += ["", *reason, *groups[reason]]
    return out


def render(safe: Iterable[str], active: Iterable[str], previous: str = "") -> str:
    """The file's text for the safe gate's and the active gate's problems, with the reasons
    ``previous`` (the file's old text) gave their lines."""
    reasons = parse(previous)
    out = [HEADER.rstrip("\n")]
    out += _section(safe, reasons)
    out += ["", ACTIVE_HEADER]
    out += _section((ACTIVE + line for line in active), reasons)
    return "\n".join(out) + "\n"


def write(path: Path, safe: Iterable[str], active: Iterable[str]) -> int:
    """Rewrite ``path``; return how many problems have no reason yet."""
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    text = render(safe, active, previous)
    path.write_text(text, encoding="utf-8")
    return sum(1 for reason in parse(text).values() if reason == NEW_REASON)
