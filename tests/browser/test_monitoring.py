"""Monitoring in the dashboard, in a real Chromium: a domain verified by its file, a webhook
endpoint whose secret is shown once, a monitor run by the in-process scheduler and by hand with
each run's diff, the delivery log with a re-send, and the notice of a disabled endpoint.

Set ``MIDDLEBRICK_SCREENSHOTS=DIR`` to keep a screenshot of each page (docs/img/ holds them).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from aiohttp import web
from playwright.sync_api import Browser, Page, Route, expect

from middlebrick.domains import WELL_KNOWN_PATH, DomainVerifier
from middlebrick.store import Repository, open_store
from tests.browser.test_dashboard import Visit
from tests.integration.test_cli import _serve
from tests.server.conftest import (
    Hooks,
    Org,
    SwitchTarget,
    free_port,
    make_org,
    run_server,
    service_settings,
)

pytestmark = pytest.mark.browser


@dataclass
class Site:
    url: str
    repo: Repository
    org: Org
    target: SwitchTarget
    hooks: Hooks
    failing: Hooks
    file: dict[str, bytes]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database = f"sqlite:///{tmp_path_factory.mktemp('monitoring') / 'store.db'}"
    repo = open_store(database)
    org = make_org(repo, "Acme", verified=())
    target = SwitchTarget()
    target.serve(vulnerable=False)
    hooks, failing = Hooks(), Hooks(script=[400] * 1000)  # refuses every delivery
    content = {"token": b""}

    async def well_known(_request: web.Request) -> web.Response:
        return web.Response(body=content["token"])

    files = web.Application()
    files.router.add_get(WELL_KNOWN_PATH, well_known)
    for receiver in _serve(hooks.app()):
        for refuser in _serve(failing.app()):
            for file_url in _serve(files):
                hooks.url, failing.url = f"{receiver}/hooks", f"{refuser}/hooks"
                verifier = DomainVerifier(
                    nameserver="127.0.0.1",
                    port=free_port(),  # nothing answers: no DNS leaves the machine
                    timeout=1,
                    http_port=int(file_url.rsplit(":", 1)[1]),
                    schemes=("http",),
                )
                settings = service_settings(database, verifier=verifier, schedule_every=1.0)
                for url in run_server(settings):
                    yield Site(url, repo, org, target, hooks, failing, content)
    target.close()
    repo.close()


@pytest.fixture
def visit(site: Site, browser: Browser) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    state = Visit(page, site)  # type: ignore[arg-type]

    def route(route: Route) -> None:
        if route.request.url.startswith(site.url):
            route.continue_()
        else:
            state.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    state.login()
    yield state
    assert state.blocked == [], "the dashboard fetched something off the server"
    context.close()


def _until(page: Page, selector: str, count: int, timeout: float = 120) -> None:
    """Reload the page until ``selector`` matches ``count`` elements."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector!r} did not reach {count} on {page.url}")
        page.wait_for_timeout(500)
        page.reload()


def test_domain_is_verified_by_its_file_from_the_domains_page(visit: Visit, site: Site) -> None:
    page = visit.page
    page.goto(f"{site.url}/domains")
    token = page.locator("#token").inner_text().strip()
    assert token.startswith("middlebrick-verify-")
    page.fill("#new-domain input[name=domain]", "127.0.0.1")
    page.click("#new-domain button[type=submit]")
    page.click("tr[data-domain='127.0.0.1'] form.verify button")
    expect(page.locator("tr[data-domain='127.0.0.1']")).to_contain_text("not verified")
    expect(page.locator("tr[data-domain='127.0.0.1']")).to_contain_text("does not hold the token")
    site.file["token"] = token.encode()
    page.click("tr[data-domain='127.0.0.1'] form.verify button")
    expect(page.locator("tr[data-domain='127.0.0.1']")).to_contain_text("verified (file)")
    visit.shot("domains")


def test_webhook_endpoint_shows_its_secret_once(visit: Visit, site: Site) -> None:
    page = visit.page
    secrets = []
    for name, url in (("SIEM", site.hooks.url), ("broken", site.failing.url)):
        page.goto(f"{site.url}/webhooks")
        page.fill("#new-webhook input[name=name]", name)
        page.fill("#new-webhook input[name=url]", url)
        page.click("#new-webhook button[type=submit]")
        secrets.append(page.locator("#secret").inner_text().strip())
    assert all(secret.startswith("whsec_") for secret in secrets)
    visit.shot("webhook-created")
    page.goto(f"{site.url}/webhooks")
    shown = page.content()
    assert not [s for s in secrets if s in shown]  # shown once, never again
    assert site.hooks.url not in shown and site.failing.url not in shown  # the origin only
    assert page.locator("#endpoints tbody tr").count() == 2


def test_monitor_runs_by_schedule_and_by_hand_and_shows_each_run_s_diff(
    visit: Visit, site: Site
) -> None:
    page = visit.page
    page.goto(f"{site.url}/monitors")
    page.fill("#new-monitor input[name=name]", "staging")
    page.fill("#new-monitor input[name=url]", site.target.url)
    page.select_option("#new-monitor select[name=schedule]", "cron")
    page.fill("#new-monitor input[name=cron]", "30 2 * * *")
    page.select_option("#new-monitor select[name=new_finding_at]", "medium")
    page.click("#new-monitor button[type=submit]")
    expect(page.locator("#monitor h1")).to_have_text("staging")
    assert "30 2 * * *" in page.locator("#monitor").inner_text()
    _until(page, "#runs tr[data-status=completed]", 1)  # the scheduler's first run
    assert "schedule" in page.locator("#runs tbody tr").first.inner_text()
    site.target.serve(vulnerable=True)
    page.click("#run-now button")
    _until(page, "#runs tr[data-status=completed]", 2)
    first = page.locator("#runs tbody tr").first
    assert "manual" in first.inner_text() and "monitor.regression" in first.inner_text()
    visit.shot("monitor")
    first.locator("a", has_text="diff").click()
    expect(page.locator("#run h1")).to_contain_text("Run of")
    assert page.locator("#run-added li:not(.none)").count() > 0
    assert "monitor.new_findings" in page.locator("#events").inner_text()
    assert page.locator("#score-change").inner_text().startswith("-")
    visit.shot("run")


def test_delivery_log_shows_attempts_and_re_sends(visit: Visit, site: Site) -> None:
    page = visit.page
    page.goto(f"{site.url}/webhooks")
    page.click("#endpoints a:text('SIEM')")
    _until(page, "#deliveries tr[data-state=delivered]", 3)
    rows = page.locator("#deliveries tbody tr")
    text = page.locator("#deliveries").inner_text()
    assert "scan.completed" in text and "monitor.regression" in text and "200" in text
    before, logged = len(site.hooks.got), rows.count()
    rows.first.locator("form.resend button").click()
    _until(page, "#deliveries tbody tr", logged + 1, timeout=30)
    expect(page.locator("#deliveries tbody tr").first).to_contain_text("(re-sent)")
    assert len(site.hooks.wait(before + 1)) == before + 1
    visit.shot("deliveries")


def test_endpoint_that_keeps_failing_is_disabled_with_a_notice(visit: Visit, site: Site) -> None:
    with httpx.Client(base_url=site.url, headers=site.org.headers, timeout=30) as http:
        for _ in range(5):  # each unreachable scan fails at once: a scan.failed delivery each
            http.post("/api/v1/scans", json={"url": "http://127.0.0.1:9/"})
    page = visit.page
    page.goto(f"{site.url}/scans")
    _until(page, "p.notice", 1, timeout=60)
    notice = page.locator("p.notice").inner_text()
    assert "broken" in notice  # 5 or more: deliveries of the monitor's runs failed there too
    assert re.search(r"disabled after \d+ failed deliveries in a row \(last: HTTP 400\)", notice)
    page.locator("p.notice a").click()
    expect(page.locator("#disabled")).to_contain_text("HTTP 400")
    visit.shot("webhook-disabled")
