"""Verified domains in the service, against a DNS server on loopback (dnslib) and a verification
file served on loopback: authenticated and active scans need the target's domain verified by
the organisation; loopback and private targets only when the administrator allows them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from dnslib import TXT, A
from dnslib.server import DNSServer

from middlebrick.domains import WELL_KNOWN_PATH, DomainVerifier
from middlebrick.server.problems import Problem
from middlebrick.server.service import Service
from middlebrick.store import Repository, open_store
from middlebrick.store.sealing import Sealer, new_secret
from tests import loopback
from tests.integration.test_cli import _serve
from tests.integration.test_domains import Zone, _Quiet
from tests.integration.twin_app import TOKEN
from tests.server.conftest import Org, make_org, run_server, service_settings

ALICE = [{"name": "alice", "auth": f"bearer:{TOKEN}"}]
HOSTS = {"api.example.test": "127.0.0.1", "v2.api.example.test": "127.0.0.1"}
"""The verified names the service's scans resolve (``tests/loopback.py``: a hosts file)."""
EXAMPLE_ORG = "93.184.215.14"  # a public address: data for the policy, never contacted


@dataclass
class Site:
    url: str
    repo: Repository
    zone: Zone
    file: dict[str, bytes]  # what the verification file holds

    def client(self, org: Org) -> Any:
        import httpx

        return httpx.Client(base_url=self.url, headers=org.headers, timeout=60)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    zone = Zone()
    dns = DNSServer(zone, address="127.0.0.1", port=0, logger=_Quiet())
    dns.start_thread()
    content = {"token": b""}

    async def well_known(_request: web.Request) -> web.Response:
        return web.Response(body=content["token"])

    files = web.Application()
    files.router.add_get(WELL_KNOWN_PATH, well_known)
    database = f"sqlite:///{tmp_path_factory.mktemp('domains') / 'store.db'}"
    repo = open_store(database)
    for file_url in _serve(files):
        verifier = DomainVerifier(
            nameserver="127.0.0.1",
            port=dns.server.server_address[1],
            timeout=2,
            http_port=int(file_url.rsplit(":", 1)[1]),
            schemes=("http",),
        )
        with loopback.names(HOSTS):  # the scans the service accepts resolve them, later
            for url in run_server(service_settings(database, verifier=verifier)):
                yield Site(url=url, repo=repo, zone=zone, file=content)
    repo.close()
    dns.stop()
    dns.server.server_close()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Org]]:
    """A service whose administrator does not allow private addresses (the default)."""
    database = f"sqlite:///{tmp_path_factory.mktemp('strict') / 'store.db'}"
    repo = open_store(database)
    org = make_org(repo, "Strict")
    for url in run_server(service_settings(database, allow_private=False)):
        yield url, org
    repo.close()


def _scan(site: Site, org: Org, url: str, **fields: Any) -> Any:
    with site.client(org) as http:
        return http.post("/api/v1/scans", json={"url": url, **fields})


def _verify(site: Site, org: Org, domain: str) -> dict[str, Any]:
    with site.client(org) as http:
        added = http.post("/api/v1/domains", json={"domain": domain})
        assert added.status_code == 201, added.text
        checked = http.post(f"/api/v1/domains/{added.json()['id']}/verify")
    assert checked.status_code == 200, checked.text
    body: dict[str, Any] = checked.json()
    return body


def test_authenticated_and_active_scans_need_a_verified_domain(site: Site, target_url: str) -> None:
    org = make_org(site.repo, "Unverified", verified=())
    refused = _scan(site, org, target_url, identities=ALICE)
    assert refused.status_code == 403
    assert "authenticated and active scans need a verified domain" in refused.json()["detail"]
    assert _scan(site, org, target_url, mode="active").status_code == 403
    assert _scan(site, org, target_url, headers={"X-Key": "k-123"}).status_code == 403
    assert _scan(site, org, target_url).status_code == 202  # safe and anonymous: allowed


def test_dns_txt_record_verifies_a_domain_and_its_subdomains(site: Site) -> None:
    org = make_org(site.repo, "Dns", verified=())
    with site.client(org) as http:
        token = http.get("/api/v1/domains").json()["verification_value"]
    site.zone.records[("api.example.test", "A")] = [A("127.0.0.1")]
    first = _verify(site, org, "API.Example.test.")
    assert first["domain"] == "api.example.test" and first["verified"] is False
    assert first["reason"].startswith("no TXT record at _middlebrick.api.example.test")
    assert first["txt_record"] == "_middlebrick.api.example.test"
    site.zone.records[("_middlebrick.api.example.test", "TXT")] = [TXT(token)]
    done = _verify(site, org, "api.example.test")
    assert done["verified"] is True and done["method"] == "dns"
    for host in ("api.example.test", "v2.api.example.test"):
        assert _scan(site, org, f"http://{host}:9/", identities=ALICE).status_code == 202
    assert _scan(site, org, "http://example.test:9/", identities=ALICE).status_code == 403


def test_file_verifies_only_its_host_and_a_failed_check_withdraws_it(
    site: Site, target_url: str
) -> None:
    org = make_org(site.repo, "Filed", verified=())
    with site.client(org) as http:
        token = http.get("/api/v1/domains").json()["verification_value"]
    site.file["token"] = token.encode()
    done = _verify(site, org, "127.0.0.1")
    assert done["verified"] is True and done["method"] == "file"
    assert _scan(site, org, target_url, identities=ALICE).status_code == 202
    assert _scan(site, org, "http://localhost:9/", identities=ALICE).status_code == 403
    site.file["token"] = b"someone else's token"
    again = _verify(site, org, "127.0.0.1")
    assert again["verified"] is False and "does not hold the token" in again["reason"]
    assert _scan(site, org, target_url, identities=ALICE).status_code == 403


def test_monitor_with_credentials_needs_a_verified_domain(site: Site, target_url: str) -> None:
    org = make_org(site.repo, "MonitorGate", verified=())
    body = {"name": "m", "url": target_url, "schedule": "daily", "identities": ALICE}
    with site.client(org) as http:
        refused = http.post("/api/v1/monitors", json=body)
    assert refused.status_code == 403 and "verified domain" in refused.json()["detail"]


def test_domains_of_another_organisation_are_not_found(site: Site) -> None:
    owner = make_org(site.repo, "DomainOwner", verified=())
    other = make_org(site.repo, "DomainOther", verified=())
    added = _verify(site, owner, "owned.example.test")
    with site.client(other) as http:
        assert http.post(f"/api/v1/domains/{added['id']}/verify").status_code == 404
        assert http.delete(f"/api/v1/domains/{added['id']}").status_code == 404
        assert http.get("/api/v1/domains").json()["items"] == []
        other_token = http.get("/api/v1/domains").json()["verification_value"]
    with site.client(owner) as http:
        assert http.get("/api/v1/domains").json()["verification_value"] != other_token
        assert http.delete(f"/api/v1/domains/{added['id']}").status_code == 204


def test_without_the_administrator_s_allowance_loopback_is_refused(
    strict: tuple[str, Org], target_url: str
) -> None:
    import httpx

    url, org = strict
    with httpx.Client(base_url=url, headers=org.headers, timeout=30) as http:
        scan = http.post("/api/v1/scans", json={"url": target_url})
        assert scan.status_code == 403
        assert "loopback or private address (127.0.0.1)" in scan.json()["detail"]
        assert "--allow-private" in scan.json()["detail"]
        with loopback.names({"api.example.org": EXAMPLE_ORG}):
            spec = http.post(
                "/api/v1/scans", json={"url": "https://api.example.org", "spec_url": target_url}
            )
        assert spec.status_code == 403 and "(127.0.0.1)" in spec.json()["detail"]
        hook = http.post("/api/v1/webhooks", json={"name": "h", "url": f"{target_url}/hooks"})
        assert hook.status_code == 422 and "loopback or private address" in hook.json()["detail"]
        added = http.post("/api/v1/domains", json={"domain": "127.0.0.1"}).json()
        checked = http.post(f"/api/v1/domains/{added['id']}/verify").json()
    assert checked["verified"] is False and "only an administrator" in checked["reason"]


def test_webhooks_and_monitors_with_credentials_need_a_lasting_sealing_key() -> None:
    service = Service.__new__(Service)
    service.sealer = Sealer(key="")  # no MIDDLEBRICK_SECRET_KEY: a key of this process only
    assert service.sealer.ephemeral
    with pytest.raises(Problem, match="MIDDLEBRICK_SECRET_KEY, which is not set") as raised:
        service.lasting_key("a webhook endpoint keeps its URL and secret")
    assert raised.value.status == 409
    service.sealer = Sealer(key=new_secret())
    service.lasting_key("anything")  # a configured key lasts: nothing raised
