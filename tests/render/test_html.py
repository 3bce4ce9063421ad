"""The HTML renderer: one self-contained page, everything from the target escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from middlebrick.render import render
from middlebrick.render._html import Safe, el, esc, join
from middlebrick.render.html import CSP
from tests.render.sample import ATTRIBUTE_BREAK, SCRIPT, hostile_finding, sample_report


class _Page(HTMLParser):
    """Collects the tags, attributes and script bodies of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_html_never_lets_target_text_become_markup() -> None:
    out = render(sample_report(hostile_finding()), "html")
    page = _parse(out)

    assert SCRIPT not in out and "<img" not in out
    assert ATTRIBUTE_BREAK not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in out
    assert [tag for tag, _ in page.tags].count("script") == 1  # ours, at the end
    assert [tag for tag, _ in page.tags].count("img") == 0
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    assert "alert" not in "".join(page.scripts)
    assert "\x1b" not in out


def test_html_is_self_contained_and_forbids_every_fetch() -> None:
    out = render(sample_report(), "html")
    page = _parse(out)

    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv")]
    assert csp == [CSP]
    assert "default-src 'none'" in CSP and "img-src data:" in CSP
    for tag, attrs in page.tags:
        for name in ("src", "href", "action"):
            value = attrs.get(name)
            assert value is None or value.startswith(("#", "data:")), (tag, name, value)
    assert not [t for t, a in page.tags if t == "link" and a.get("rel") != "icon"]


def test_html_findings_carry_their_filter_data_as_attributes() -> None:
    report = sample_report()
    page = _parse(render(report, "html"))

    articles = [a for t, a in page.tags if t == "article"]

    assert [(a["data-severity"], a["data-category"]) for a in articles] == [
        (f.severity.value, f.category) for f in report.findings
    ]
    assert [a["id"] for a in articles] == [f"finding-{f.fingerprint}" for f in report.findings]
    boxes = [a["value"] for t, a in page.tags if t == "input" and a.get("name") == "severity"]
    assert boxes == ["critical", "high", "medium", "low", "info"]
    options = [a["value"] for t, a in page.tags if t == "option"]
    assert options == ["", "data_exposure", "authentication", "encryption"]


def test_html_shows_score_categories_evidence_and_compliance() -> None:
    report = sample_report()
    out = render(report, "html")

    assert re.search(r'<text[^>]*id="score"[^>]*>59</text>', out)
    assert "grade F" in out
    assert out.count(">not checked<") == 7  # the unchecked categories
    for f in report.findings:
        for item in f.evidence:
            assert esc(item.curl) in out
    for framework in (
        "OWASP API Security Top 10 (2023)",
        "PCI DSS 4.0",
        "SOC 2 (Trust Services Criteria 2017)",
    ):
        assert f"<h3>{framework}</h3>" in out
    assert "PAN is rendered unreadable wherever it is stored" in out
    assert "<mark>123-45-6789</mark>" in out
    assert "partial scan: time budget of 120 s reached" in out


def test_html_builder_escapes_plain_strings_and_keeps_safe_ones() -> None:
    assert el("p", "<b>", Safe("<i>x</i>"), 3) == "<p>&lt;b&gt;<i>x</i>3</p>"
    assert el("a", "x", href='"><script>', data_x="1") == (
        '<a href="&quot;&gt;&lt;script&gt;" data-x="1">x</a>'
    )
    assert el("input", checked=True, hidden=False, value=None) == "<input checked>"
    assert join(["<", Safe("&amp;")], sep=" & ") == "&lt; &amp; &amp;"


@pytest.mark.parametrize(("tag", "attr"), [("sc ript", "x"), ("p", "on click"), ("p", "a=b")])
def test_html_builder_refuses_names_that_are_not_plain(tag: str, attr: str) -> None:
    with pytest.raises(ValueError, match="bad"):
        el(tag, **{attr: "1"})
