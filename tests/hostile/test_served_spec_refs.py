"""A served spec whose references the target will not give: each warning says why, once."""

from __future__ import annotations

from middlebrick.discovery import discover
from middlebrick.testing import BASE, FakeSender, response


async def test_a_reference_the_target_refuses_says_why_without_repeating_itself() -> None:
    doc = {
        "openapi": "3.0.0",
        "paths": {"/items": {"get": {"parameters": [{"$ref": "common.json#/limit"}]}}},
    }
    sender = FakeSender(
        {("GET", "/openapi.json"): response(200, doc), ("GET", "/common.json"): response(404, {})}
    )

    surface = await discover(sender, BASE)

    assert surface.spec is not None
    assert surface.spec.warnings == (
        "could not resolve $ref 'common.json#/limit': it answered HTTP 404",
    )
