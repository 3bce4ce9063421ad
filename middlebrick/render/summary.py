"""The terminal summary: grade (or "incomplete"), coverage, the 12 categories, the top findings
by root cause (one line per finding type, with the operations it affects), and where the full
report is. Every finding in full is in the other formats (``--format html:FILE``, ``json`` …).

Every string that came from the target or the spec is passed through ``_text.clean`` (or
``one_line``/``shorten``) and printed as a rich ``Text``, never parsed as markup.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from middlebrick.findings import Evidence, Finding
from middlebrick.render import renderer
from middlebrick.render._rich import (
    WIDTH,
    badge,
    category_bar,
    category_value,
    mappings,
    new_console,
    output,
    plural,
    score_text,
    where,
)
from middlebrick.render._text import clean, flatten, one_line, shorten
from middlebrick.report import Report

_INDENT = 4
_NAME_WIDTH = 26
_NOTE_INDENT = 2 + _NAME_WIDTH + 1 + 12  # under the bar
_EXCERPT_CONTEXT = 40  # characters shown either side of a match
_REMEDIATION_LINES = 2
_MAX_SKIPPED = 20  # operations listed as not tested (the JSON report lists all)
_TOP_CAUSES = 10  # root causes (finding types) shown; the full report has every finding
_OPERATIONS_SHOWN = 2  # operations named per root cause before "and N more"


@renderer("summary")
def render_summary(report: Report, *, color: bool) -> str:
    """The human-read terminal summary of a report."""
    console = new_console(color)
    _header(console, report)
    _not_restored(console, report)
    _categories(console, report)
    _findings(console, report)
    _skipped(console, report)
    _notes(console, report)
    return output(console)


def _header(console: Console, report: Report) -> None:
    console.print(
        Text.assemble((f"{report.tool} {report.version}", "bold"), " · ", one_line(report.target))
    )
    score = score_text(report)
    if not report.complete and report.graded:
        score.append("  · partial scan", style="bold yellow")
    console.print(score)
    for reason in report.incomplete_reasons():
        _indented(console, Text(f"- {one_line(reason)}", style="yellow"), 2)
    coverage = report.coverage_summary()
    if coverage is not None:
        console.print(Text(one_line(coverage)))
    facts = [
        f"mode {report.mode}",
        f"tier {report.tier.value}",
        f"context {report.context.value}",
        plural(report.operations, "operation"),
        plural(report.requests, "request"),
        f"{report.duration_s:.1f} s",
    ]
    console.print(Text(" · ".join(facts), style="dim"))
    cut = report.cut_summary()
    if cut is not None:
        console.print(Text(one_line(cut), style="yellow"))
    extra = []
    if report.spec is not None:
        spec = report.spec
        named = " ".join(p for p in (spec.title, spec.version) if p) or "API description"
        kind = f" ({spec.kind})" if spec.kind else ""
        extra.append(f"spec: {named}{kind} from {spec.source}")
    else:
        extra.append(f"surface: {report.surface_origin}")
    if report.framework:
        extra.append(f"framework: {report.framework}")
    console.print(Text(shorten(" · ".join(extra), WIDTH * 2), style="dim"))


def _categories(console: Console, report: Report) -> None:
    console.print()
    console.print(Text("Categories", style="bold underline"))
    for result in report.categories:
        line = Text("  ")
        line.append(f"{shorten(result.name, _NAME_WIDTH):<{_NAME_WIDTH}} ")
        line.append(f"{result.owasp:<11} ", style="dim")
        line.append_text(category_bar(result))
        line.append("  ")
        line.append_text(category_value(result))
        if result.score is not None:
            line.append(f"  {plural(result.findings, 'finding')}")
        note = Text(f"({one_line(result.note)})", style="dim") if result.note else None
        if note is not None and len(line) + 2 + len(note) <= WIDTH:
            line.append("  ").append_text(note)
            note = None
        console.print(line)
        if note is not None:
            _indented(console, note, _NOTE_INDENT)


def _findings(console: Console, report: Report) -> None:
    console.print()
    if not report.findings:
        console.print(Text("No findings in the categories that were checked.", style="bold"))
        return
    causes = _root_causes(report.findings)
    counts = [f"{n} {sev.value}" for sev, n in report.counts_by_severity().items() if n]
    console.print(
        Text.assemble(
            (f"Top findings by root cause ({len(causes)})", "bold underline"),
            "  ",
            f"{plural(len(report.findings), 'finding')}: " + ", ".join(counts),
        )
    )
    for index, group in enumerate(causes[:_TOP_CAUSES], start=1):
        console.print()
        _finding(console, index, group)
    console.print()
    rest = causes[_TOP_CAUSES:]
    if rest:
        hidden = sum(len(group) for group in rest)
        console.print(
            Text(f"… and {plural(len(rest), 'more root cause')} ({plural(hidden, 'finding')})")
        )
    console.print(
        Text(
            "Every finding with its evidence, curl and remediation is in the full report: "
            "scan with --format html:report.html (or json, markdown, sarif), or for a kept "
            f"scan: middlebrick results {report.scan_id} --format html:report.html",
            style="dim",
        )
    )


def _root_causes(findings: Sequence[Finding]) -> list[list[Finding]]:
    """The findings grouped by type (one root cause), each group worst first, worst group first."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.type_id, []).append(finding)
    ranked = [sorted(group, key=_weight) for group in groups.values()]
    return sorted(ranked, key=lambda group: (_weight(group[0]), -len(group), group[0].type_id))


def _weight(finding: Finding) -> tuple[int, int]:
    return (-finding.severity.rank, -finding.confidence.rank)


def _operations(group: list[Finding]) -> str:
    named = list(dict.fromkeys(one_line(f.operation) for f in group))
    if len(named) == 1:
        return where(group[0])  # with its parameter
    named = [name if name != "*" else "whole target" for name in named]
    shown = ", ".join(named[:_OPERATIONS_SHOWN])
    more = len(named) - _OPERATIONS_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _finding(console: Console, index: int, group: list[Finding]) -> None:
    finding = group[0]
    operations = len({f.operation for f in group})
    head = Text(f"{index:>2} ")
    head.append_text(badge(finding.severity))
    head.append(" ")
    head.append(one_line(finding.title), style="bold")
    head.append(f" · {plural(operations, 'operation')}")
    console.print(head)
    lines: list[Text] = [
        Text.assemble(
            _operations(group), (f" · {finding.confidence.value} · {finding.type_id}", "dim")
        ),
        Text(clean(finding.detail).strip()),
    ]
    evidence = _shown_evidence(finding)
    if evidence is not None:
        lines.extend(_evidence_lines(evidence))
    for line in lines:
        _indented(console, line, _INDENT)
    for item in finding.evidence[:1]:
        # One line however long, so that the command can be copied whole.
        curl = Text.assemble(" " * _INDENT, ("$ ", "dim"), one_line(item.curl))
        if item.label and len(finding.evidence) > 1:
            curl.append(f"  # {one_line(item.label)}", style="dim")
        console.print(curl, soft_wrap=True)
    fix = _first_lines(finding.remediation, _REMEDIATION_LINES)
    if fix:
        _indented(console, Text.assemble(("fix: ", "bold green"), fix), _INDENT)
    refs = mappings(finding)
    if refs:
        _indented(console, Text(refs, style="dim"), _INDENT)


def _shown_evidence(finding: Finding) -> Evidence | None:
    with_match = [e for e in finding.evidence if e.match]
    candidates = with_match or list(finding.evidence)
    return candidates[0] if candidates else None


def _evidence_lines(evidence: Evidence) -> list[Text]:
    label = f"evidence ({one_line(evidence.label)})" if evidence.label else "evidence"
    head = Text.assemble((f"{label}: ", "bold"))
    if evidence.error:
        head.append(f"no response: {shorten(evidence.error, 120)}")
        return [head]
    head.append(f"HTTP {evidence.status}" if evidence.status is not None else "response")
    lines = [head]
    if evidence.match:
        head.append(" · matched ")
        head.append(shorten(evidence.match, 80), style="bold yellow")
    excerpt = _excerpt(evidence)
    if excerpt is not None:
        lines.append(excerpt)
    return lines


def _excerpt(evidence: Evidence) -> Text | None:
    excerpt = evidence.excerpt
    match = evidence.match
    if match and match in excerpt:
        start = excerpt.index(match)
        end = start + len(match)
        before = flatten(excerpt[max(0, start - _EXCERPT_CONTEXT) : start]).lstrip()
        after = flatten(excerpt[end : end + _EXCERPT_CONTEXT]).rstrip()
        lead = "…" if start > _EXCERPT_CONTEXT else ""
        tail = "…" if end + _EXCERPT_CONTEXT < len(excerpt) else ""
        text = Text(f"  {lead}{before}", style="dim")
        text.append(shorten(match, 80), style="bold yellow")
        text.append(f"{after}{tail}", style="dim")
        return text
    if not excerpt.strip():
        return None
    return Text(f"  {shorten(excerpt, 2 * _EXCERPT_CONTEXT + 40)}", style="dim")


def _first_lines(text: str, count: int) -> str:
    width = WIDTH - _INDENT - len("fix: ")
    lines: list[str] = []
    for paragraph in clean(text).strip().splitlines():
        lines += textwrap.wrap(paragraph, width) or [""]
    shown = [line for line in lines if line.strip()][:count]
    more = len([line for line in lines if line.strip()]) > count
    return ("\n" + " " * len("fix: ")).join(shown) + (" …" if more else "")


def _indented(console: Console, text: Text, indent: int) -> None:
    console.print(Padding(text, (0, 0, 0, indent), expand=False))


def _not_restored(console: Console, report: Report) -> None:
    """What an active scan wrote and could not restore: first, so that nobody misses it."""
    if report.restored and not report.not_restored:
        console.print(
            Text(f"{plural(report.restored, 'object')} written and restored", style="dim")
        )
    if not report.not_restored:
        return
    console.print()
    console.print(
        Text(
            f"NOT RESTORED ({len(report.not_restored)}): the scan changed these and could not "
            "undo it; set them back by hand",
            style="bold red",
        )
    )
    for item in report.not_restored:
        _indented(console, Text(f"- {one_line(item.detail)} ({one_line(item.check)})"), 2)


def _skipped(console: Console, report: Report) -> None:
    if not report.skipped:
        return
    console.print()
    console.print(
        Text.assemble(
            (f"Not tested ({len(report.skipped)})", "bold underline"),
            "  the safety policy kept the scan from calling these; --include names one to test",
        )
    )
    for item in report.skipped[:_MAX_SKIPPED]:
        _indented(console, Text(f"- {one_line(item.operation)}: {one_line(item.reason)}"), 2)
    if len(report.skipped) > _MAX_SKIPPED:
        _indented(console, Text(f"- … and {len(report.skipped) - _MAX_SKIPPED} more"), 2)


def _notes(console: Console, report: Report) -> None:
    if not report.notes:
        return
    console.print()
    console.print(Text("Notes", style="bold underline"))
    for note in report.notes:
        _indented(console, Text(f"- {one_line(note)}"), 2)
