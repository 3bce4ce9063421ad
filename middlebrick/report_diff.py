"""Two reports compared: new, resolved and unchanged findings (by fingerprint), score change."""

from __future__ import annotations

import json
from dataclasses import dataclass

from middlebrick.findings import Finding
from middlebrick.render._text import clean
from middlebrick.report import Report

__all__ = ["ReportDiff", "diff_reports", "render_diff"]


@dataclass(frozen=True)
class ReportDiff:
    """What changed from ``old`` to ``new``."""

    old: Report
    new: Report
    added: tuple[Finding, ...]
    resolved: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]

    @property
    def score_change(self) -> int | None:
        """New score minus old score, when both were scored."""
        if self.old.score is None or self.new.score is None:
            return None
        return self.new.score - self.old.score


def diff_reports(old: Report, new: Report) -> ReportDiff:
    """Compare two reports finding by finding (same fingerprint = same finding)."""
    before = {f.fingerprint: f for f in old.findings}
    after = {f.fingerprint: f for f in new.findings}
    order = _by_severity
    return ReportDiff(
        old=old,
        new=new,
        added=tuple(sorted((f for k, f in after.items() if k not in before), key=order)),
        resolved=tuple(sorted((f for k, f in before.items() if k not in after), key=order)),
        unchanged=tuple(sorted((f for k, f in after.items() if k in before), key=order)),
    )


def render_diff(diff: ReportDiff, fmt: str = "text") -> str:
    """The diff as plain text, JSON or Markdown."""
    if fmt == "json":
        return json.dumps(_as_dict(diff), indent=2) + "\n"
    if fmt == "markdown":
        return _markdown(diff)
    return _text(diff)


def _by_severity(finding: Finding) -> tuple[int, str, str]:
    return (-finding.severity.rank, finding.type_id, finding.operation)


def _score(report: Report) -> str:
    return report.verdict() if report.score is None else f"{report.score} ({report.grade})"


def _headline(diff: ReportDiff) -> str:
    change = diff.score_change
    delta = "" if change is None else f": {change:+d}"
    line = f"score {_score(diff.old)} -> {_score(diff.new)}{delta}"
    if diff.old.target != diff.new.target:
        line += (
            f"\nnote: the reports are of different targets ({diff.old.target}, {diff.new.target})"
        )
    return line


def _row(finding: Finding) -> str:
    return (
        f"  {finding.severity.value.upper():<8} {finding.type_id:<45} "
        f"{clean(finding.operation)}  [{finding.fingerprint}]"
    )


def _text(diff: ReportDiff) -> str:
    lines = [_headline(diff)]
    for title, found in (("new", diff.added), ("resolved", diff.resolved)):
        lines.append(f"{title} ({len(found)}):")
        lines += [_row(f) for f in found] or ["  none"]
    lines.append(f"unchanged: {len(diff.unchanged)}")
    return "\n".join(lines) + "\n"


def _markdown(diff: ReportDiff) -> str:
    lines = [f"**{_headline(diff)}**", ""]
    for title, found in (("New", diff.added), ("Resolved", diff.resolved)):
        lines.append(f"### {title} ({len(found)})")
        lines.append("")
        if found:
            lines += ["| severity | finding | operation |", "|---|---|---|"]
            lines += [
                f"| {f.severity.value} | `{f.type_id}` | `{_md(f.operation)}` |" for f in found
            ]
        else:
            lines.append("None.")
        lines.append("")
    lines.append(f"Unchanged: {len(diff.unchanged)}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return clean(text).replace("|", "\\|").replace("`", "'")


def _as_dict(diff: ReportDiff) -> dict[str, object]:
    def item(f: Finding) -> dict[str, str]:
        return {
            "fingerprint": f.fingerprint,
            "type_id": f.type_id,
            "severity": f.severity.value,
            "operation": f.operation,
            "title": f.title,
        }

    return {
        "old": {"scan_id": diff.old.scan_id, "target": diff.old.target, "score": diff.old.score},
        "new": {"scan_id": diff.new.scan_id, "target": diff.new.target, "score": diff.new.score},
        "score_change": diff.score_change,
        "new_findings": [item(f) for f in diff.added],
        "resolved": [item(f) for f in diff.resolved],
        "unchanged": [item(f) for f in diff.unchanged],
    }
