"""Served API descriptions at the places real frameworks put them, and docs pages naming them."""

from __future__ import annotations

import pytest

from middlebrick.discovery import discover
from middlebrick.discovery.wellknown import candidate_urls, find_spec
from middlebrick.http.exchange import Exchange, Request
from middlebrick.knowledge import discovery_paths
from middlebrick.testing import BASE, FakeSender, response

YAML_DOC = "openapi: 3.0.3\ninfo: {title: Blog, version: '1'}\npaths:\n  /api/posts/: {get: {}}\n"
SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "t", "version": "1"},
    "paths": {"/ping": {"get": {}}},
}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def test_every_spec_location_says_which_framework_serves_it_there() -> None:
    locations = discovery_paths().spec_locations

    assert all(len(location.source) > 20 for location in locations)
    paths = [location.path for location in locations]
    for framework_default in ("api/schema/", "swagger/?format=openapi", "v3/api-docs"):
        assert framework_default in paths
    assert len(paths) == len(set(paths))


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        # drf-spectacular: YAML by default at api/schema/
        ("/api/schema/", YAML_DOC, {"Content-Type": "application/vnd.oai.openapi"}),
        ("/api/v2/schema/", YAML_DOC, {"Content-Type": "application/vnd.oai.openapi"}),
        ("/swagger/?format=openapi", SWAGGER, {}),  # drf-yasg
        ("/apispec_1.json", SWAGGER, {}),  # flasgger
        ("/v3/api-docs", SWAGGER, {}),  # springdoc
        ("/api-json", SWAGGER, {}),  # NestJS
    ],
)
async def test_find_spec_reports_a_document_at_a_framework_location(
    path: str, body: object, headers: dict[str, str]
) -> None:
    sender = FakeSender({("GET", path): response(200, body, headers)})

    found = (await find_spec(sender, BASE)).found

    assert found is not None and found.url == BASE + path


async def test_find_spec_reads_the_target_page_for_the_spec_it_fetches() -> None:
    # httpbin's flasgger page: the root is the docs, and names /spec.json in a fetch() call
    page = '<div id="swagger-ui"></div><script>fetch("/spec.json").then(r => r.json())</script>'
    sender = FakeSender(
        {
            ("GET", ""): response(200, page, HTML, url=BASE + "/"),
            ("GET", "/spec.json"): response(200, SWAGGER),
        }
    )

    search = await find_spec(sender, BASE)
    found, tried = search.found, search.tried

    assert found is not None and found.url == BASE + "/spec.json"
    assert [r.url for r in sender.sent] == [BASE, BASE + "/spec.json"]
    assert tried == 1


@pytest.mark.parametrize(
    "page",
    [
        # drf-yasg: JSON settings with a null url; the document is the page's ?format=openapi
        '<script id="swagger-settings" type="application/json">{"url": null}</script>'
        '<script src="/static/drf-yasg/swagger-ui-init.js"></script>',
        # flasgger: `urls: [{"name": …, "url": …}]` written as JSON
        '<script>SwaggerUIBundle({urls: [{"name": "v1", "url": "/api/docs/?format=openapi"}]})'
        "</script>",
        '<elements-api apiDescriptionUrl="/api/docs/?format=openapi" router="hash" />',
    ],
)
async def test_find_spec_follows_a_docs_page_that_names_its_document(page: str) -> None:
    sender = FakeSender(
        {
            ("GET", "/api/docs/"): response(200, page, HTML, url=BASE + "/api/docs/"),
            ("GET", "/api/docs/?format=openapi"): response(200, SWAGGER),
        }
    )

    found = (await find_spec(sender, BASE + "/api/docs/")).found

    assert found is not None and found.url == BASE + "/api/docs/?format=openapi"


async def test_find_spec_looks_below_the_folder_the_target_redirected_to() -> None:
    # Kinto: / redirects to /v1/, and cornice_swagger serves /v1/__api__
    sender = FakeSender(
        {
            ("GET", ""): response(200, {"project_name": "kinto"}, url=BASE + "/v1/"),
            ("GET", "/v1/__api__"): response(200, {**SWAGGER, "basePath": "/v1"}),
        }
    )

    surface = await discover(sender, BASE, probe=0)

    assert surface.origin == f"spec served at {BASE}/v1/__api__"
    assert surface.base_url == BASE + "/v1"


class Everywhere(FakeSender):
    """A single-page app: every path answers its HTML shell."""

    async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
        self.sent.append(request)
        shell = '<html><script src="/static/app.js"></script><div id="root"></div></html>'
        return Exchange(request, response(200, shell, HTML, url=request.url))


async def test_find_spec_stays_quiet_and_bounded_on_a_catch_all() -> None:
    sender = Everywhere()

    search = await find_spec(sender, BASE)
    found, tried = search.found, search.tried

    assert found is None
    assert tried == len(candidate_urls(BASE))
    assert len(sender.sent) == 1 + tried  # the target, then each location once


async def test_find_spec_does_not_take_an_api_root_naming_its_document_for_the_document() -> None:
    sender = FakeSender(
        {
            ("GET", ""): response(200, {"service": "items", "openapi": "/openapi.json"}),
            ("GET", "/openapi.json"): response(200, SWAGGER),
        }
    )

    found = (await find_spec(sender, BASE)).found

    assert found is not None and found.url == BASE + "/openapi.json"
