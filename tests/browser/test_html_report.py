"""The HTML report in a real browser: it renders, its filters work, it fetches nothing, and
hostile text from the target is shown as text, never run.

Needs Chromium (``apt install chromium``, or ``MIDDLEBRICK_CHROMIUM``) and the ``playwright``
package; no browser download (``playwright install``) is needed or used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, Request, Route

from middlebrick.render import render
from middlebrick.report import Report
from tests.render.sample import ATTRIBUTE_BREAK, SCRIPT, hostile_finding, sample_report

pytestmark = pytest.mark.browser


class _Opened:
    """A report page opened from a file, with every request and dialog it caused."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.dialogs: list[str] = []

    def visible(self) -> int:
        return self.page.locator("article.finding:visible").count()


@pytest.fixture
def report() -> Report:
    return sample_report(hostile_finding())


@pytest.fixture
def opened(browser: Browser, report: Report, tmp_path: Path) -> Iterator[_Opened]:
    path = tmp_path / "report.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    context = browser.new_context()
    page = context.new_page()
    state = _Opened(page, path.as_uri())

    def route(route: Route) -> None:
        if route.request.url == state.url:
            route.continue_()
        else:
            state.blocked.append(route.request.url)
            route.abort()

    def dialog(dialog: Dialog) -> None:
        state.dialogs.append(dialog.message)
        dialog.dismiss()

    def request(request: Request) -> None:
        state.requests.append(request.url)

    context.route("**/*", route)
    page.on("dialog", dialog)
    page.on("request", request)
    page.goto(state.url, wait_until="load")
    page.wait_for_timeout(300)  # give a late fetch or a timer the time to show itself
    yield state
    context.close()


def test_html_report_renders_the_score_and_every_finding(opened: _Opened, report: Report) -> None:
    page = opened.page

    assert page.locator("#score").text_content() == str(report.score)
    assert page.locator("#score").is_visible()
    assert opened.visible() == len(report.findings)
    assert page.locator("#shown-count").inner_text() == str(len(report.findings))


def test_html_report_severity_filter_hides_and_shows_findings(
    opened: _Opened, report: Report
) -> None:
    page = opened.page
    high = sum(1 for f in report.findings if f.severity.value == "high")

    page.locator("input[name=severity][value=high]").uncheck()

    assert opened.visible() == len(report.findings) - high
    assert page.locator("article.finding[data-severity=high]:visible").count() == 0
    assert page.locator("#shown-count").inner_text() == str(len(report.findings) - high)

    page.locator("input[name=severity][value=high]").check()

    assert opened.visible() == len(report.findings)


def test_html_report_category_filter_shows_one_category(opened: _Opened, report: Report) -> None:
    page = opened.page

    page.locator("select[name=category]").select_option("encryption")

    assert opened.visible() == 1
    assert page.locator("article.finding:visible").get_attribute("data-category") == "encryption"

    page.locator("select[name=category]").select_option("")

    assert opened.visible() == len(report.findings)


def test_html_report_makes_no_request_but_its_own_file(opened: _Opened) -> None:
    assert opened.requests == [opened.url]
    assert opened.blocked == []


def test_html_report_shows_script_payloads_as_text_and_runs_none(
    opened: _Opened, report: Report
) -> None:
    page = opened.page
    hostile = report.findings[[f.title for f in report.findings].index(f"Echo {SCRIPT}")]
    article = page.locator(f"#finding-{hostile.fingerprint}")

    assert SCRIPT in article.locator("h3").inner_text()
    assert ATTRIBUTE_BREAK in article.locator(".detail").inner_text()
    assert SCRIPT in article.locator(".evidence pre").nth(1).inner_text()
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 1
    assert opened.dialogs == []
