"""--no-spec-discovery: without a spec the scanner can be told to crawl and probe only."""

from __future__ import annotations

from middlebrick.discovery import WELL_KNOWN, discover
from middlebrick.testing import BASE, FakeSender, response

OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {"/items": {"get": {"responses": {"200": {"description": "ok"}}}}},
}


async def test_discover_without_spec_search_never_asks_the_usual_spec_locations() -> None:
    sender = FakeSender(
        {
            ("GET", "/openapi.json"): response(200, OPENAPI),
            ("GET", "/"): response(200, {"links": {"items": f"{BASE}/items"}}),
            ("GET", "/items"): response(200, [{"id": "i-1"}]),
        }
    )

    surface = await discover(sender, BASE + "/", probe=0, find_served=False)

    asked = {r.url.removeprefix(BASE) for r in sender.sent}
    assert not asked & set(WELL_KNOWN)
    assert surface.origin == "crawl" and surface.spec is None
    assert "no API description was looked for" in surface.notes[0]
