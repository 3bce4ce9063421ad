"""The loopback canary: where it listens, what it records, what it answers, how long it waits."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from middlebrick.checks._canary import CANARY_HOST, Canary, reachable_from


async def _get(url: str, **headers: str) -> tuple[int, str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers) as answer,
    ):
        return answer.status, answer.headers.get("Content-Type", ""), await answer.text()


async def test_canary_listens_on_loopback_only() -> None:
    async with Canary() as canary:
        assert canary.origin.startswith(f"http://{CANARY_HOST}:")
        assert canary.probe().url.startswith(canary.origin + "/mb/")


async def test_canary_records_a_hit_for_the_token_of_its_probe() -> None:
    async with Canary() as canary:
        first, second = canary.probe(), canary.probe()
        status, _, body = await _get(first.url + "/image.png?size=2", **{"User-Agent": "fetcher/1"})

        assert status == 200 and first.marker in body
        assert [(h.method, h.path) for h in canary.hits(first)] == [
            ("GET", f"/mb/{first.token}/image.png?size=2")
        ]
        assert canary.hits(first)[0].header("user-agent") == "fetcher/1"
        assert canary.hits(second) == ()
        assert first.token != second.token and first.token not in first.marker


async def test_canary_answers_unknown_tokens_with_404_and_records_nothing() -> None:
    async with Canary() as canary:
        probe = canary.probe()
        status, _, _ = await _get(f"{canary.origin}/mb/{'0' * 32}")

        assert status == 404
        assert canary.hits(probe) == ()


async def test_canary_serves_an_html_page_with_a_script_marker() -> None:
    async with Canary() as canary:
        probe = canary.probe("html")
        _, content_type, body = await _get(probe.url)

        assert content_type.startswith("text/html")
        assert probe.marker.startswith("<script>") and probe.marker in body


async def test_canary_evidence_names_credentials_without_their_values() -> None:
    async with Canary() as canary:
        probe = canary.probe()
        await _get(probe.url, Authorization="Bearer s3cret-token")
        evidence = canary.evidence(canary.hits(probe)[0])

        assert evidence.label == "canary hit"
        assert evidence.request.headers["Authorization"] == "[redacted]"
        assert "s3cret" not in evidence.model_dump_json()


async def test_canary_settle_returns_as_soon_as_every_probe_was_hit() -> None:
    async with Canary() as canary:
        probe = canary.probe()
        await _get(probe.url)
        started = time.monotonic()
        await canary.settle(5.0)

        assert time.monotonic() - started < 1.0


async def test_canary_settle_waits_for_a_late_hit_then_gives_up() -> None:
    async with Canary() as canary:
        late, never = canary.probe(), canary.probe()

        async def fetch_later() -> None:
            await asyncio.sleep(0.1)
            await _get(late.url)

        task = asyncio.create_task(fetch_later())
        started = time.monotonic()
        await canary.settle(0.5)
        await task

        assert canary.hits(late) and not canary.hits(never)
        assert 0.3 <= time.monotonic() - started < 2.0


def test_canary_is_reachable_from_loopback_targets_only() -> None:
    assert reachable_from("http://127.0.0.1:8000")
    assert reachable_from("http://localhost:8000/api")
    assert not reachable_from("https://api.example.test")
