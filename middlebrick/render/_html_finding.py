"""One finding of the HTML report: where, detail, evidence with curl, remediation, mappings.

Every string goes through ``_html.el``; the match inside an excerpt is marked with ``<mark>``
after both sides were escaped.
"""

from __future__ import annotations

import re

from middlebrick.findings import Evidence, Finding
from middlebrick.render._html import Safe, el, esc, join
from middlebrick.render._rich import mappings, where
from middlebrick.render._text import one_line

__all__ = ["finding_article"]


def finding_article(finding: Finding, number: int, names: dict[str, str]) -> Safe:
    """One finding as an ``<article>`` whose ``data-*`` attributes drive the report's filter."""
    sev = finding.severity.value
    where_line = [
        el("code", where(finding)),
        f" · {finding.confidence.value} · {names.get(finding.category, finding.category)} · ",
        el("code", finding.type_id),
    ]
    evidence = [_evidence(item) for item in finding.evidence]
    refs = mappings(finding)
    return el(
        "article",
        el(
            "header",
            el("span", sev.upper(), class_=f"badge sev-{sev}"),
            " ",
            el("h3", f"{number}. {one_line(finding.title)}"),
        ),
        el("p", where_line, class_="where"),
        el("p", finding.detail.strip(), class_="detail"),
        el("details", el("summary", f"Evidence ({len(evidence)})"), evidence, open=True)
        if evidence
        else None,
        el(
            "div",
            el("h4", "Remediation"),
            el("p", _inline_code(finding.remediation.strip())),
            class_="fix",
        )
        if finding.remediation.strip()
        else None,
        el("p", refs, class_="refs") if refs else None,
        class_=f"finding {sev}",
        id=f"finding-{finding.fingerprint}",
        data_severity=sev,
        data_category=finding.category,
    )


def _evidence(item: Evidence) -> Safe:
    request = item.request
    rows: list[Safe] = [_pair("request", el("code", f"{request.method} {request.url}"))]
    if request.headers:
        rows.append(_pair("request headers", _headers(request.headers)))
    if request.body:
        rows.append(_pair("request body", el("pre", request.body)))
    if item.error:
        rows.append(_pair("response", f"no response: {item.error}"))
    else:
        status = f"HTTP {item.status}" if item.status is not None else "response"
        rows.append(_pair("status", status))
    if item.response_headers:
        rows.append(_pair("response headers", _headers(item.response_headers)))
    if item.excerpt.strip():
        rows.append(_pair("excerpt", el("pre", _highlight(item.excerpt, item.match))))
    elif item.match:
        rows.append(_pair("matched", el("code", item.match)))
    return el(
        "div",
        el("h4", item.label or "exchange"),
        el("dl", rows),
        el("h4", "Reproduce"),
        el("pre", el("code", one_line(item.curl)), class_="curl"),
        class_="evidence",
    )


def _pair(term: str, value: Safe | str) -> Safe:
    return join([el("dt", term), el("dd", value)])


def _headers(headers: dict[str, str]) -> Safe:
    return el("pre", "\n".join(f"{one_line(k)}: {one_line(v)}" for k, v in headers.items()))


def _highlight(excerpt: str, match: str | None) -> Safe:
    """The excerpt, escaped, with the first occurrence of ``match`` in a ``<mark>``."""
    if not match or match not in excerpt:
        return esc(excerpt)
    before, _, after = excerpt.partition(match)
    return join([before, el("mark", match), after])


def _inline_code(text: str) -> Safe:
    """Catalogue text with its `backticked` spans as ``<code>``, everything escaped."""
    parts = re.split(r"`([^`]+)`", text)  # odd items are the spans inside backticks
    return join(el("code", part) if index % 2 else part for index, part in enumerate(parts))
