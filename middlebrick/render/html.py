"""The HTML report: one self-contained file, readable offline, filterable, printable to PDF.

All CSS and JS are inline (``templates/report.css`` and ``report.js``), a Content-Security-Policy
forbids every fetch, and every string from the report goes through ``_html.el``, which escapes
it. The data the filter needs sits in ``data-*`` attributes of the findings, never in a script.
"""

from __future__ import annotations

import math
from datetime import datetime

from middlebrick.compliance import FrameworkView, compliance_view
from middlebrick.findings import Severity
from middlebrick.render import renderer
from middlebrick.render._html import Safe, asset, el, join
from middlebrick.render._html_finding import finding_article
from middlebrick.render._rich import plural
from middlebrick.render._text import one_line
from middlebrick.render._time import as_utc
from middlebrick.report import CategoryResult, Report

__all__ = ["CSP", "html_document", "render_html"]

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
_SEVERITIES = sorted(Severity, key=lambda s: s.rank, reverse=True)
_GAUGE_RADIUS = 52


@renderer("html")
def render_html(report: Report, *, color: bool) -> str:
    """The report as one self-contained HTML page; ``color`` is ignored."""
    return html_document(report)


def html_document(report: Report) -> str:
    """The full HTML page of ``report`` (also the source of the PDF)."""
    numbers = {f.fingerprint: index for index, f in enumerate(report.findings, start=1)}
    head = el(
        "head",
        el("meta", charset="utf-8"),
        el("meta", http_equiv="Content-Security-Policy", content=CSP),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("meta", name="referrer", content="no-referrer"),
        el("link", rel="icon", href="data:,"),
        el("title", f"{report.tool} report: {one_line(report.target)}"),
        el("style", asset("report.css")),
    )
    body = el(
        "body",
        _header(report),
        _not_restored(report),
        _overview(report),
        _categories(report),
        _findings(report, numbers),
        _compliance(compliance_view(report), numbers),
        _skipped(report),
        _notes(report),
        el("footer", f"{report.tool} {report.version} · scan {report.scan_id}"),
        el("script", asset("report.js")),
    )
    return "<!DOCTYPE html>\n" + el("html", head, body, lang="en") + "\n"


def _header(report: Report) -> Safe:
    facts = [
        f"started {_when(report.started_at)}",
        f"{report.duration_s:.1f} s",
        f"mode {report.mode}",
        f"tier {report.tier.value}",
        f"context {report.context.value}",
        plural(report.operations, "operation"),
        plural(report.requests, "request"),
    ]
    surface = [f"surface: {report.surface_origin}"]
    if report.spec is not None:
        spec = report.spec
        named = " ".join(p for p in (spec.title, spec.version) if p) or "API description"
        kind = f" ({spec.kind})" if spec.kind else ""
        surface = [f"spec: {named}{kind} from {spec.source}"]
    if report.framework:
        surface.append(f"framework: {report.framework}")
    return el(
        "header",
        el("h1", f"{report.tool} report"),
        el("p", el("strong", "Target "), el("code", one_line(report.target)), class_="target"),
        el("p", " · ".join(facts), class_="facts muted"),
        el("p", one_line(" · ".join(surface)), class_="facts muted"),
        el("p", "Partial scan: see the notes.", class_="partial")
        if not report.complete and report.graded
        else None,
        _coverage(report),
    )


def _coverage(report: Report) -> Safe | None:
    coverage = report.coverage_summary()
    if coverage is None:
        return None
    reasons = report.incomplete_reasons()
    return el(
        "div",
        el("p", el("strong", "Incomplete: no score or grade, too little was tested."))
        if reasons
        else None,
        el("ul", [el("li", one_line(why)) for why in reasons]) if reasons else None,
        el("p", one_line(coverage), class_="facts"),
        class_="partial" if reasons else "coverage",
        id="coverage",
    )


def _overview(report: Report) -> Safe:
    counts = [
        el("li", el("span", f"{n} {sev.value}", class_=f"badge sev-{sev.value}"))
        for sev, n in report.counts_by_severity().items()
    ]
    return el(
        "section",
        el("h2", "Overview"),
        el(
            "div",
            _gauge(report.score, report.grade, incomplete=not report.graded),
            el(
                "div",
                el("p", el("strong", plural(len(report.findings), "finding"))),
                el("ul", counts, class_="counts"),
            ),
            class_="overview",
        ),
        id="overview",
    )


def _gauge(score: int | None, grade: str | None, *, incomplete: bool = False) -> Safe:
    """A ring filled in proportion to the score, the score and grade in the middle."""
    circumference = 2 * math.pi * _GAUGE_RADIUS
    filled = circumference * (score or 0) / 100
    unscored = "incomplete" if incomplete else "not scored"
    label = unscored if score is None else f"Score {score} of 100, grade {grade}"
    return el(
        "svg",
        el("title", label),
        el("circle", class_="track", cx=60, cy=60, r=_GAUGE_RADIUS),
        el(
            "circle",
            class_=f"value {_tone(score)}",
            cx=60,
            cy=60,
            r=_GAUGE_RADIUS,
            stroke_dasharray=f"{filled:.1f} {circumference:.1f}",
            transform="rotate(-90 60 60)",
        )
        if score
        else None,
        el(
            "text",
            "n/a" if score is None else str(score),
            x=60,
            y=62,
            class_="score",
            text_anchor="middle",
            id="score",
        ),
        el(
            "text",
            unscored if score is None else f"grade {grade}",
            x=60,
            y=86,
            class_="grade",
            text_anchor="middle",
        ),
        class_="gauge",
        viewBox="0 0 120 120",
        role="img",
        aria_label=label,
    )


def _categories(report: Report) -> Safe:
    rows = [
        el(
            "tr",
            el("td", result.name),
            el("td", result.owasp),
            el("td", _bar(result)),
            el("td", _category_value(result), class_="num"),
            el("td", "-" if result.score is None else str(result.findings), class_="num"),
            el("td", result.worst.value if result.worst else "-"),
            el("td", one_line(result.note or ""), class_="muted"),
        )
        for result in report.categories
    ]
    head = el(
        "tr", [el("th", h) for h in ("Category", "OWASP", "", "Score", "Findings", "Worst", "Note")]
    )
    return el(
        "section",
        el("h2", "Categories"),
        el("table", el("thead", head), el("tbody", rows)),
        id="categories",
    )


def _bar(result: CategoryResult) -> Safe:
    width = 0 if result.score is None else result.score
    return el(
        "svg",
        el("rect", class_="track", width=100, height=10),
        el("rect", class_=_tone(result.score), width=width, height=10) if width else None,
        class_="bar",
        viewBox="0 0 100 10",
        preserveAspectRatio="none",
        aria_hidden="true",
    )


def _category_value(result: CategoryResult) -> str:
    if result.score is None:
        return "not checked"
    return f"{result.score}" + (" (partial)" if result.status == "partial" else "")


def _findings(report: Report, numbers: dict[str, int]) -> Safe:
    if not report.findings:
        return el(
            "section",
            el("h2", "Findings"),
            el("p", "No findings in the categories that were checked."),
            id="findings",
        )
    names = {c.id: c.name for c in report.categories}
    present = dict.fromkeys(f.category for f in report.findings)
    counts = report.counts_by_severity()
    severity_boxes = [
        el(
            "label",
            el("input", type="checkbox", name="severity", value=sev.value, checked=True),
            f" {sev.value} ({counts[sev]})",
        )
        for sev in _SEVERITIES
    ]
    options = [el("option", "all categories", value="")] + [
        el("option", names.get(cid, cid), value=cid) for cid in present
    ]
    filters = el(
        "form",
        el("fieldset", el("legend", "Severity"), severity_boxes),
        el("label", "Category ", el("select", options, name="category")),
        el(
            "span",
            "showing ",
            el("span", len(report.findings), id="shown-count"),
            f" of {len(report.findings)}",
        ),
        id="filters",
        class_="filters",
    )
    articles = [finding_article(f, numbers[f.fingerprint], names) for f in report.findings]
    return el("section", el("h2", "Findings"), filters, articles, id="findings")


def _compliance(views: list[FrameworkView], numbers: dict[str, int]) -> Safe:
    tables: list[Safe] = []
    for view in views:
        tables.append(el("h3", view.name))
        if not view.rows:
            tables.append(el("p", "No finding maps to this framework.", class_="muted"))
            continue
        head = el(
            "tr",
            [
                el("th", h)
                for h in ("Requirement", "Title", "Findings", "Worst", "Finding types", "See")
            ],
        )
        rows = [
            el(
                "tr",
                el("td", el("code", row.requirement)),
                el("td", row.title or ""),
                el("td", row.findings, class_="num"),
                el("td", el("span", row.worst.value, class_=f"badge sev-{row.worst.value}")),
                el("td", join((el("code", t) for t in row.type_ids), sep=" ")),
                el(
                    "td",
                    join(
                        (
                            el("a", f"#{numbers[fp]}", href=f"#finding-{fp}")
                            for fp in row.fingerprints
                        ),
                        sep=" ",
                    ),
                ),
            )
            for row in view.rows
        ]
        tables.append(el("table", el("thead", head), el("tbody", rows), data_framework=view.id))
    note = el(
        "p",
        "Requirements with findings against them. A requirement that is not listed had no "
        "finding; that does not show it is met.",
        class_="muted",
    )
    return el("section", el("h2", "Compliance"), note, tables, id="compliance")


def _not_restored(report: Report) -> Safe | None:
    if not report.not_restored:
        return None
    return el(
        "section",
        el("h2", f"Not restored ({len(report.not_restored)})"),
        el("p", "The scan changed these and could not undo it; set them back by hand."),
        el("ul", [el("li", one_line(f"{i.detail} ({i.check})")) for i in report.not_restored]),
        id="not-restored",
        class_="partial",
    )


def _skipped(report: Report) -> Safe | None:
    if not report.skipped:
        return None
    return el(
        "section",
        el("h2", f"Not tested ({len(report.skipped)})"),
        el(
            "p",
            "The safety policy kept the scan from calling these; --include names one to test.",
            class_="muted",
        ),
        el("ul", [el("li", one_line(f"{i.operation}: {i.reason}")) for i in report.skipped]),
        id="skipped",
    )


def _notes(report: Report) -> Safe | None:
    if not report.notes:
        return None
    return el(
        "section",
        el("h2", "Notes"),
        el("ul", [el("li", one_line(note)) for note in report.notes]),
        id="notes",
    )


def _tone(score: int | None) -> str:
    if score is None:
        return "none"
    if score >= 80:
        return "good"
    return "fair" if score >= 60 else "poor"


def _when(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")
