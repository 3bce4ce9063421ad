"""GitHub-flavoured Markdown for pull-request comments and job summaries.

Score and grade, the categories, findings grouped by severity (a table, then a collapsible
block per finding with its evidence and curl), the compliance mapping and the notes. Text from
the target or the spec is escaped (HTML, ``|``, backticks, emphasis and link syntax, ``@``
mentions) or shown inside a code fence longer than any backtick run it holds. The output never
exceeds ``MAX_CHARS`` (GitHub's comment limit): findings that do not fit are left out with a
line saying how many.
"""

from __future__ import annotations

import html
import re

from middlebrick.compliance import compliance_view
from middlebrick.findings import Evidence, Finding, Severity
from middlebrick.render import renderer
from middlebrick.render._rich import mappings, plural, where
from middlebrick.render._text import clean, one_line, shorten
from middlebrick.report import Report

__all__ = ["MAX_CHARS", "render_markdown", "render_markdown_summary"]

MAX_CHARS = 65_536  # GitHub rejects longer comments (and job summaries are read like them)

_SEVERITIES = sorted(Severity, key=lambda s: s.rank, reverse=True)
_DETAIL_CHARS = 2_000
_EXCERPT_CHARS = 1_500
_CURL_CHARS = 4_000
_NOTE_CHARS = 500
_MAX_NOTES = 30
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_TABLE_HEAD = "| # | Finding | Operation | Confidence |\n|--:|---|---|---|\n"


@renderer("markdown")
def render_markdown(report: Report, *, color: bool) -> str:
    """The report as GitHub Markdown of at most ``MAX_CHARS`` characters; ``color`` is ignored."""
    head = _header(report) + _not_restored(report) + _categories(report)
    tail = _compliance(report) + _skipped(report) + _notes(report)
    return head + _findings(report, MAX_CHARS - len(head) - len(tail)) + tail


def render_markdown_summary(report: Report, *, limit: int = 20) -> str:
    """Score, grade, categories and a table of the ``limit`` worst findings, without evidence:
    the short form for a pull-request comment."""
    worst = sorted(report.findings, key=lambda f: -f.severity.rank)
    rows = "".join(
        f"| {f.severity.value} | {_inline(shorten(f.title, 200))} | "
        f"{_inline(shorten(where(f), 200))} | {f.confidence.value} |\n"
        for f in worst[:limit]
    )
    table = ""
    if rows:
        table = (
            "### Worst findings\n\n| Severity | Finding | Operation | Confidence |\n"
            "|---|---|---|---|\n" + rows + "\n"
        )
        if len(worst) > limit:
            table += f"…and {plural(len(worst) - limit, 'more finding')} in the full report.\n\n"
    return _header(report) + _categories(report) + table


def _header(report: Report) -> str:
    if report.score is None and not report.graded:
        score = "**Incomplete**: no score or grade, too little was tested"
    elif report.score is None:
        score = "**Not scored**: no category was checked"
    else:
        score = f"**Score {report.score}/100 · grade {report.grade}**"
    counts = ", ".join(f"{n} {sev.value}" for sev, n in report.counts_by_severity().items() if n)
    found = plural(len(report.findings), "finding") + (f" ({counts})" if counts else "")
    partial = " · **partial scan** (see the notes)" if not report.complete and report.graded else ""
    reasons = "".join(f"- {_inline(shorten(why, 400))}\n" for why in report.incomplete_reasons())
    coverage = report.coverage_summary()
    lines = (reasons + "\n" if reasons else "") + (
        f"{_inline(shorten(coverage, 400))}\n\n" if coverage else ""
    )
    facts = [
        f"mode {report.mode}",
        f"tier {report.tier.value}",
        f"context {report.context.value}",
        plural(report.operations, "operation"),
        plural(report.requests, "request"),
        f"{report.duration_s:.1f} s",
    ]
    if report.spec is not None:
        named = " ".join(p for p in (report.spec.title, report.spec.version) if p)
        facts.append(f"spec: {named or 'API description'} ({report.spec.source})")
    if report.framework:
        facts.append(f"framework: {report.framework}")
    return (
        f"## {report.tool} report for {_inline(shorten(report.target, 200))}\n\n"
        f"{score} · {found}{partial}\n\n"
        f"{lines}"
        f"{_inline(shorten(' · '.join(facts), 600))}\n\n"
    )


def _categories(report: Report) -> str:
    lines = [
        "### Categories\n\n",
        "| Category | OWASP | Score | Findings | Worst | Note |\n|---|---|--:|--:|---|---|\n",
    ]
    for c in report.categories:
        if c.score is None:
            score, count = "not checked", "-"
        else:
            score = f"{c.score}" + (" (partial)" if c.status == "partial" else "")
            count = str(c.findings)
        worst = c.worst.value if c.worst else "-"
        note = _inline(shorten(c.note, 200)) if c.note else ""
        lines.append(f"| {c.name} | {c.owasp} | {score} | {count} | {worst} | {note} |\n")
    return "".join(lines) + "\n"


def _findings(report: Report, budget: int) -> str:
    """Findings grouped by severity, as many as fit in ``budget`` characters."""
    if not report.findings:
        return "### Findings\n\nNo findings in the categories that were checked.\n\n"
    numbered = list(enumerate(report.findings, start=1))
    ordered = sorted(numbered, key=lambda item: (-item[1].severity.rank, item[0]))
    title = "### Findings\n\n"
    left_out_reserve = 200
    used = len(title) + left_out_reserve
    kept: dict[Severity, list[tuple[str, str]]] = {}
    for number, finding in ordered:
        row, block = _row(number, finding), _details(number, finding)
        cost = len(row) + len(block)
        if finding.severity not in kept:
            cost += len(_group_head(finding.severity, 0)) + len(_TABLE_HEAD) + 4
        if used + cost > budget:
            break
        used += cost
        kept.setdefault(finding.severity, []).append((row, block))
    parts = [title]
    for severity in _SEVERITIES:
        if severity not in kept:
            continue
        group = kept[severity]
        parts.append(_group_head(severity, len(group)) + _TABLE_HEAD)
        parts.extend(row for row, _ in group)
        parts.append("\n")
        parts.extend(block for _, block in group)
    shown = sum(len(group) for group in kept.values())
    if shown < len(report.findings):
        left = len(report.findings) - shown
        parts.append(
            f"**{plural(left, 'more finding')} left out** to stay within GitHub's "
            f"{MAX_CHARS}-character limit; the JSON, SARIF or HTML report has them all.\n\n"
        )
    return "".join(parts)


def _group_head(severity: Severity, count: int) -> str:
    return f"#### {severity.value.capitalize()} ({count})\n\n"


def _row(number: int, finding: Finding) -> str:
    title = _inline(shorten(finding.title, 200))
    operation = _inline(shorten(where(finding), 200))
    return f"| {number} | {title} | {operation} | {finding.confidence.value} |\n"


def _details(number: int, finding: Finding) -> str:
    summary = _html(f"{number}. {shorten(finding.title, 150)} · {shorten(where(finding), 150)}")
    parts = [
        f"<details><summary>{summary}</summary>\n\n",
        f"**Detail:** {_inline(shorten(finding.detail, _DETAIL_CHARS))}\n\n",
        f"**Type:** {_inline(finding.type_id)} · **confidence:** {finding.confidence.value}\n\n",
    ]
    for item in finding.evidence:
        parts.append(_evidence(item))
    fix = clean(finding.remediation).strip()
    if fix:
        parts.append(f"**Fix:** {_html(one_line(fix))}\n\n")
    refs = mappings(finding)
    if refs:
        parts.append(f"{_inline(refs)}\n\n")
    parts.append("</details>\n\n")
    return "".join(parts)


def _evidence(item: Evidence) -> str:
    label = f" ({_inline(shorten(item.label, 80))})" if item.label else ""
    if item.error:
        outcome = f"no response: {_inline(shorten(item.error, 200))}"
    else:
        outcome = f"HTTP {item.status}" if item.status is not None else "response"
    request = _inline(shorten(f"{item.request.method} {item.request.url}", 300))
    line = f"**Evidence{label}:** {request} → {outcome}"
    if item.match:
        line += f" · matched {_inline(shorten(item.match, 120))}"
    parts = [line + "\n\n"]
    excerpt = clean(item.excerpt).strip()
    if excerpt:
        if len(excerpt) > _EXCERPT_CHARS:
            excerpt = excerpt[:_EXCERPT_CHARS] + "…"
        parts.append(_fence(excerpt, "text"))
    curl = one_line(item.curl)
    if len(curl) <= _CURL_CHARS:
        parts.append(_fence(curl, "sh"))
    else:
        parts.append(f"_The curl command ({len(curl)} characters) is in the JSON report._\n\n")
    return "".join(parts)


def _compliance(report: Report) -> str:
    rows = [
        f"| {view.name} | {row.requirement} | {_inline(row.title or '')} | {row.findings} | "
        f"{row.worst.value} |\n"
        for view in compliance_view(report)
        for row in view.rows
    ]
    if not rows:
        return ""
    return (
        "### Compliance\n\nRequirements with findings against them (an unlisted requirement "
        "had no finding; that does not show it is met).\n\n"
        "| Framework | Requirement | Title | Findings | Worst |\n|---|---|---|--:|---|\n"
        + "".join(rows)
        + "\n"
    )


def _not_restored(report: Report) -> str:
    items = [f"{item.detail} ({item.check})" for item in report.not_restored]
    lead = (
        f"> **Not restored ({len(items)})**: the scan changed these and could not undo it; set "
        "them back by hand."
    )
    return _listed(lead, items)


def _skipped(report: Report) -> str:
    items = [f"{item.operation}: {item.reason}" for item in report.skipped]
    lead = (
        f"### Not tested ({len(items)})\n\nThe safety policy kept the scan from calling these; "
        "`--include` names one to test."
    )
    return _listed(lead, items)


def _listed(lead: str, items: list[str]) -> str:
    """A lead paragraph and at most ``_MAX_NOTES`` items of target text, or nothing."""
    if not items:
        return ""
    shown = [f"- {_inline(shorten(item, _NOTE_CHARS))}\n" for item in items[:_MAX_NOTES]]
    if len(items) > _MAX_NOTES:
        shown.append(f"- … and {len(items) - _MAX_NOTES} more\n")
    return f"{lead}\n\n" + "".join(shown) + "\n"


def _notes(report: Report) -> str:
    if not report.notes:
        return ""
    notes = [f"- {_inline(shorten(note, _NOTE_CHARS))}\n" for note in report.notes[:_MAX_NOTES]]
    if len(report.notes) > _MAX_NOTES:
        notes.append(f"- … and {len(report.notes) - _MAX_NOTES} more notes\n")
    return "### Notes\n\n" + "".join(notes) + "\n"


def _html(text: str) -> str:
    """Text for an HTML context (``<summary>``): escaped, one line, no mentions."""
    return html.escape(one_line(text), quote=False).replace("@", "&#64;")


def _inline(text: str) -> str:
    """Target text for a Markdown line or table cell: no HTML, markup, pipes or mentions."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _html(text))


def _fence(text: str, lang: str) -> str:
    """A fenced code block that ``text`` cannot close: the fence outnumbers its backtick runs."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}\n\n"
