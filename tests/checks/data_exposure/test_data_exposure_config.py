"""Secrets in served configuration files and scripts: fetched, compared with a control, judged."""

from __future__ import annotations

from middlebrick.checks.data_exposure.config import CONTROL_FILE, MAX_CONFIG_REQUESTS
from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Request, Response
from middlebrick.spec.model import Surface
from middlebrick.testing import (
    BASE,
    FakeSender,
    Responder,
    exchange,
    make_baseline,
    response,
    run_check,
)

STRIPE = "sk_live_" + "9f8e7d6c5b4a39281706f5e4"
JS = {"Content-Type": "application/javascript"}
HTML = {"Content-Type": "text/html"}


async def _config(
    routes: dict[tuple[str, str], Responder],
    *,
    root: Exchange | None = None,
    target: str = BASE,
    sender: FakeSender | None = None,
) -> list[Finding]:
    sender = sender or FakeSender(routes)
    baseline = make_baseline([], root=root)
    return await run_check(
        "data_exposure.config_files",
        baseline=baseline,
        sender=sender,
        scan=ScanRequest(target=target),
        surface=Surface(base_url=target.rstrip("/"), operations=()),
    )


async def test_config_files_check_reports_a_live_key_in_env_js() -> None:
    env_js = response(200, f'window.env = {{ stripeSecret: "{STRIPE}" }};', JS)
    sender = FakeSender({("GET", "/env.js"): env_js})

    found = await _config({}, sender=sender)

    assert [(f.type_id, f.operation, f.parameter, f.severity) for f in found] == [
        ("data_exposure.config-file-secret", "GET /env.js", "stripeSecret", Severity.critical)
    ]
    assert f"control request for {CONTROL_FILE} answered 404" in found[0].detail
    assert [e.label for e in found[0].evidence] == ["probe", "control"]
    assert sender.sent[0].url == f"{BASE}/{CONTROL_FILE}"


async def test_config_files_check_reports_a_secret_key_in_a_served_dotenv() -> None:
    dotenv = response(200, "DEBUG=false\nSECRET_KEY=zq8Jv3tPpW4LrNfX9aKdYc2Hm6EgTs1B\n", {})

    found = await _config({("GET", "/.env"): dotenv})

    assert [(f.operation, f.parameter, f.confidence) for f in found] == [
        ("GET /.env", "SECRET_KEY", Confidence.firm)
    ]


async def test_config_files_check_stays_quiet_on_public_configuration() -> None:
    routes: dict[tuple[str, str], Responder] = {
        ("GET", "/config.json"): response(
            200, {"apiBase": "https://api.example.test/v1", "stripeKey": "pk_live_HA064GiIjHGb3CX"}
        ),
        ("GET", "/.env"): response(200, "DEBUG=false\nSECRET_KEY=changeme-changeme-changeme\n"),
        ("GET", "/env.js"): response(200, 'window.env = { release: "2024.06.1" };', JS),
    }

    assert await _config(routes) == []


async def test_config_files_check_stays_quiet_on_property_names_in_minified_code() -> None:
    # MLflow's UI bundle: secret-sounding names in expressions, no value is a key.
    bundle = (
        "var a={has_api_key:null===(c=e.hasApiKey)||void 0===c?void 0:c.value,"
        "needsApiKey:t.requires_api_key&&!t.has_api_key,apiSecret:someModule.k8s7Qz2LmXw9Pv4R};"
    )

    assert await _config({("GET", "/config.js"): response(200, bundle, JS)}) == []


async def test_config_files_check_reports_a_quoted_secret_inside_minified_code() -> None:
    bundle = 'var a={has_api_key:!0,apiSecret:"k8s7Qz2LmXw9Pv4RtY6uJ3nB"};'

    found = await _config({("GET", "/config.js"): response(200, bundle, JS)})

    assert [(f.parameter, f.severity) for f in found] == [("apiSecret", Severity.critical)]


async def test_config_files_check_stays_quiet_on_a_catch_all_that_answers_every_path() -> None:
    page = f'var boot = {{ stripeSecret: "{STRIPE}" }};'

    class CatchAll(FakeSender):
        async def send(self, request: Request, *, follow_redirects: bool = True) -> Exchange:
            self.sent.append(request)
            return Exchange(request, response(200, page, JS, url=request.url))

    assert await _config({}, sender=CatchAll()) == []


async def test_config_files_check_skips_values_the_control_answer_also_holds() -> None:
    def echo(request: Request) -> Response:
        return response(200, f'// {request.url}\nvar k = {{ clientSecret: "{STRIPE}" }};', JS)

    routes: dict[tuple[str, str], Responder] = {
        ("GET", f"/{name}"): echo for name in ("config.js", CONTROL_FILE)
    }

    assert await _config(routes) == []


async def test_config_files_check_ignores_html_fallback_pages() -> None:
    spa = response(200, f'<!doctype html><script>var s = "{STRIPE}"</script>', HTML)

    assert await _config({("GET", "/config.json"): spa}) == []


async def test_config_files_check_reads_same_origin_scripts_linked_from_the_root() -> None:
    page = (
        '<!doctype html><script src="/static/js/main.1a2b.js"></script>'
        '<script src="https://cdn.other.example/lib.js"></script>'
    )
    root = exchange("GET", "/", response(200, page, HTML))
    bundle = response(200, 'const AWS_KEY="AKIAKWOVOMPZOM7WBBR6";', JS)
    sender = FakeSender({("GET", "/static/js/main.1a2b.js"): bundle})

    found = await _config({}, root=root, sender=sender)

    assert [(f.operation, f.parameter) for f in found] == [
        ("GET /static/js/main.1a2b.js", "aws-access-key-id")
    ]
    assert not any("cdn.other.example" in r.url for r in sender.sent)


async def test_config_files_check_weighs_keys_named_only_like_api_keys() -> None:
    routes: dict[tuple[str, str], Responder] = {
        ("GET", "/config.json"): response(200, {"apiKey": "HA064GiIjHGb3CXlMaXZjljENUhJduRH"}),
        ("GET", "/app-config.js"): response(
            200, 'firebase = { apiKey: "AIza-6ilI8ihN5KXSc7Tvo-hBKqFYY-kv5ZJr3J" };', JS
        ),
    }

    found = await _config(routes)

    assert sorted((f.operation, f.severity, f.confidence) for f in found) == [
        ("GET /app-config.js", Severity.low, Confidence.tentative),
        ("GET /config.json", Severity.high, Confidence.tentative),
    ]


async def test_config_files_check_tries_the_base_path_within_its_declared_cost() -> None:
    sender = FakeSender({("GET", "/api/v1/config.json"): response(200, {"secret": STRIPE})})

    found = await _config({}, target=BASE + "/api/v1", sender=sender)

    assert [f.operation for f in found] == ["GET /api/v1/config.json"]
    assert len(sender.sent) <= MAX_CONFIG_REQUESTS
    assert [r.url.removeprefix(BASE) for r in sender.sent[:2]] == [
        f"/{CONTROL_FILE}",
        "/config.json",
    ]
    assert f"/api/v1/{CONTROL_FILE}" in [r.url.removeprefix(BASE) for r in sender.sent]


async def test_config_files_check_does_not_refetch_what_the_baseline_read() -> None:
    root = exchange("GET", "/config.json", response(200, {"ok": True}))
    sender = FakeSender()

    await _config({}, root=root, sender=sender)

    assert f"{BASE}/config.json" not in [r.url for r in sender.sent]
