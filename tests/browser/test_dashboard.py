"""The dashboard in a real Chromium: log-in, submit and watch, history and trend, filters, diff,
PDF export, and a hostile target's text shown as text with nothing run and nothing fetched
off the server.

Set ``MIDDLEBRICK_SCREENSHOTS=DIR`` to keep a screenshot of each page (docs/img/ holds them).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, Route, expect

from middlebrick.store import Repository, open_store
from middlebrick.store.records import now
from tests.integration.test_cli import _serve
from tests.integration.twin_app import TOKEN, make_app
from tests.render.sample import ATTRIBUTE_BREAK, SCRIPT, hostile_finding, sample_report
from tests.server.conftest import PASSWORD, Org, make_org, run_server, service_settings, slow_app

pytestmark = pytest.mark.browser


@dataclass
class Site:
    url: str
    repo: Repository
    org: Org
    target: str
    slow: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database = f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'store.db'}"
    repo = open_store(database)
    org = make_org(repo, "Acme")
    for target in _serve(make_app(vulnerable=True)):
        for slow in _serve(slow_app(vulnerable=True, delay=0.2)):
            for url in run_server(service_settings(database)):
                yield Site(url=url, repo=repo, org=org, target=target, slow=slow)
    repo.close()


class Visit:
    """A browser context on the site that records dialogs and blocks requests off the server."""

    def __init__(self, page: Page, site: Site) -> None:
        self.page, self.site = page, site
        self.dialogs: list[str] = []
        self.blocked: list[str] = []

    def login(self, password: str = PASSWORD) -> None:
        self.page.goto(f"{self.site.url}/login")
        self.page.fill("input[name=email]", self.site.org.email)
        self.page.fill("input[name=password]", password)
        self.page.click("#login button[type=submit]")

    def shot(self, name: str) -> None:
        folder = os.environ.get("MIDDLEBRICK_SCREENSHOTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def visit(site: Site, browser: Browser) -> Iterator[Visit]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    state = Visit(page, site)

    def route(route: Route) -> None:
        if route.request.url.startswith(site.url):
            route.continue_()
        else:
            state.blocked.append(route.request.url)
            route.abort()

    def dialog(dialog: Dialog) -> None:
        state.dialogs.append(dialog.message)
        dialog.dismiss()

    context.route("**/*", route)
    page.on("dialog", dialog)
    yield state
    assert state.blocked == [], "the dashboard fetched something off the server"
    context.close()


def _submit(visit: Visit, url: str, identities: str = "") -> str:
    page = visit.page
    page.goto(f"{visit.site.url}/scans")
    page.fill("#new-scan input[name=url]", url)
    page.fill("#new-scan textarea[name=identities]", identities)
    page.click("#new-scan button[type=submit]")
    page.wait_for_url(f"{visit.site.url}/scans/*")
    return page.url.rsplit("/", 1)[1]


def test_login_refuses_a_wrong_password_and_lets_the_right_one_in(visit: Visit) -> None:
    visit.page.goto(f"{visit.site.url}/scans")
    expect(visit.page).to_have_url(f"{visit.site.url}/login")
    visit.shot("login")
    visit.login("not the password at all")
    expect(visit.page.locator(".error")).to_have_text("Wrong e-mail address or password.")
    visit.login()
    expect(visit.page).to_have_url(f"{visit.site.url}/scans")
    expect(visit.page.locator(".who")).to_contain_text(visit.site.org.email)


def test_submit_and_watch_a_scan_until_its_score_shows(visit: Visit) -> None:
    visit.login()
    scan_id = _submit(visit, visit.site.slow, f"alice=bearer:{TOKEN}")
    page = visit.page
    expect(page.locator("#lines li").nth(1)).to_be_visible(timeout=30_000)  # lines, live
    assert int(page.locator("#progress").get_attribute("value") or 0) > 0
    visit.shot("scan-running")
    expect(page.locator("#score")).to_be_visible(timeout=90_000)  # reloaded at the end event
    body = page.locator("body").inner_text()
    assert TOKEN not in body and TOKEN not in page.content()
    assert page.locator("article.finding").count() > 0
    visit.shot("scan")
    lines = [e.text for e in visit.site.repo.events(visit.site.org.id, scan_id)]
    assert any(line.startswith("scanning ") for line in lines)


def test_history_shows_the_trend_and_diffs_two_scans(visit: Visit) -> None:
    visit.login()
    for _ in range(2):
        _submit(visit, visit.site.target)
        expect(visit.page.locator("#score")).to_be_visible(timeout=90_000)
    visit.page.click("h1 a")  # the target's page
    page = visit.page
    expect(page.locator("#trend circle").first).to_be_visible()
    assert page.locator("#trend circle").count() >= 2
    visit.shot("target")
    page.click("#diff-form button[type=submit]")
    expect(page.locator("#diff h1")).to_have_text("Diff")
    expect(page.locator("#diff-added")).to_be_visible()
    expect(page.locator("#diff-resolved")).to_be_visible()
    visit.shot("diff")


def test_findings_filter_by_severity_and_category(visit: Visit) -> None:
    visit.login()
    _submit(visit, visit.site.target)
    page = visit.page
    expect(page.locator("#score")).to_be_visible(timeout=90_000)
    total = page.locator("article.finding").count()
    high = page.locator("article.finding[data-severity=high]").count()
    assert 0 < high < total
    page.select_option("#filter-severity", "high")
    assert page.locator("article.finding:visible").count() == high
    assert page.locator("#shown").inner_text() == str(high)
    page.select_option("#filter-severity", "")
    page.select_option("#filter-category", "encryption")
    visible = page.locator("article.finding:visible")
    assert visible.count() > 0
    assert {visible.nth(i).get_attribute("data-category") for i in range(visible.count())} == {
        "encryption"
    }
    page.select_option("#filter-category", "")
    assert page.locator("article.finding:visible").count() == total
    page.locator("article.finding summary").first.click()
    expect(page.locator("article.finding pre.curl").first).to_be_visible()
    visit.shot("findings")


def test_pdf_and_html_export_download_the_report(visit: Visit) -> None:
    visit.login()
    _submit(visit, visit.site.target)
    page = visit.page
    expect(page.locator("#score")).to_be_visible(timeout=90_000)
    with page.expect_download() as pdf:
        page.click("#export-pdf")
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    with page.expect_download() as html:
        page.click("#export-html")
    assert b"<!doctype html>" in Path(html.value.path()).read_bytes()[:200].lower()


def test_hostile_target_text_is_shown_as_text_and_never_runs(visit: Visit) -> None:
    repo, org = visit.site.repo, visit.site.org
    scan = repo.add_scan(
        org.id,
        scan_id=uuid.uuid4().hex,
        url=f"http://127.0.0.1:9/{SCRIPT}",
        key_id=None,
        options={},
        spec_document=None,
        sealed=None,
    )
    attempt = repo.claim(scan.id, stale_before=now())
    assert attempt is not None
    report = sample_report(hostile_finding()).model_copy(update={"scan_id": scan.id})
    assert repo.finish(scan.id, attempt, report, {})
    visit.login()
    page = visit.page
    page.goto(f"{visit.site.url}/scans/{scan.id}")
    page.locator("article.finding summary").first.wait_for()
    for summary in page.locator("article.finding summary").all():
        summary.click()
    page.wait_for_timeout(300)
    text = page.locator("body").inner_text()
    assert SCRIPT in text and ATTRIBUTE_BREAK in text
    assert page.locator("main script, main img").count() == 0
    assert visit.dialogs == []
    page.goto(f"{visit.site.url}/scans")
    assert SCRIPT in page.locator("#scans").inner_text()
    page.goto(f"{visit.site.url}/targets")
    assert SCRIPT in page.locator("#targets").inner_text()
    assert visit.dialogs == []
