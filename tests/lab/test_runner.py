"""The lab runner and its DynamoDB: loopback only, tokens per variant, clean start and stop."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lab import runner
from lab.dynamo import Dynamo, resource
from lab.identities import USERS, WEAK_SECRET, InvalidToken, verify
from lab.items.seed import item_id
from tests.lab.conftest import running

pytestmark = pytest.mark.lab


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def test_lab_serves_every_target_on_loopback_with_a_spec(lab, http):
    assert {t.name for t in lab.targets} >= {"items/vulnerable", "items/secure"}
    for target in lab.targets:
        assert urlsplit(target.url).hostname == "127.0.0.1"
        assert set(target.tokens) == set(USERS)
        assert http("GET", target.spec_url).status == 200
    assert urlsplit(lab.endpoint_url).hostname == "127.0.0.1"


def test_lab_tokens_verify_only_with_their_variants_secret(lab):
    weak = lab.target("items", "vulnerable").tokens["alice"]
    strong = lab.target("items", "secure").tokens["alice"]
    assert verify(strong, secret=lab.secret, variant="secure")["sub"] == USERS["alice"].user_id
    assert "exp" not in verify(weak, secret=WEAK_SECRET, variant="vulnerable")
    with pytest.raises(InvalidToken):
        verify(weak, secret=lab.secret, variant="secure")


def test_lab_reseed_restores_changed_data(lab, http):
    target = lab.target("items", "vulnerable")
    item = f"/items/{item_id('carol', 3)}"
    carol = target.tokens["carol"]
    http("PATCH", target.url + item, token=carol, json_body={"internal_notes": "changed"})
    assert http("GET", target.url + item, token=carol).json()["internal_notes"] == "changed"
    lab.reseed()
    assert http("GET", target.url + item, token=carol).json()["internal_notes"] != "changed"


def test_start_refuses_an_unknown_service():
    with pytest.raises(runner.LabError, match="unknown services"):
        runner.start(["nope"])


def test_dynamo_uses_a_given_endpoint_without_starting_anything():
    dynamo = Dynamo("http://127.0.0.1:9").start()
    assert dynamo.pid is None
    assert dynamo.endpoint_url == "http://127.0.0.1:9"
    dynamo.stop()


def test_dynamo_starts_dynalite_on_loopback_and_stops_it():
    with Dynamo() as dynamo:
        pid = dynamo.pid
        assert pid is not None and _alive(pid)
        assert urlsplit(dynamo.endpoint_url).hostname == "127.0.0.1"
        assert resource(dynamo.endpoint_url).meta.client.list_tables()["TableNames"] == []
    assert not _alive(pid)


def test_detached_lab_is_recorded_found_again_and_taken_down(monkeypatch, tmp_path, http):
    monkeypatch.setenv("MIDDLEBRICK_LAB_STATE", str(tmp_path / "state.json"))
    started = runner.start(["items"], ["secure"], detach=True)
    try:
        state = json.loads((tmp_path / "state.json").read_text())
        assert oct((tmp_path / "state.json").stat().st_mode & 0o777) == "0o600"
        found = runner.current()
        assert found is not None
        assert [t.url for t in found.targets] == [t.url for t in started.targets]
        assert http("GET", found.targets[0].url + "/health").status == 200
        pids = list(state["pids"].values())
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
    finally:
        assert runner.down() is True
    assert not any(_alive(pid) for pid in pids)
    assert not (tmp_path / "state.json").exists()
    assert runner.down() is False
    assert os.environ["MIDDLEBRICK_LAB_STATE"].endswith("state.json")


def test_lab_skips_the_postgres_services_with_a_line_when_postgres_is_missing(monkeypatch, capsys):
    monkeypatch.setenv("MIDDLEBRICK_LAB_POSTGRES", "postgresql://postgres@127.0.0.1:9/postgres")
    monkeypatch.delenv("MIDDLEBRICK_REQUIRE_POSTGRES", raising=False)

    kept = runner._with_postgres(["items", "shop", "blog"], asked=False)

    assert kept == ["items", "shop"]
    assert (
        "lab: skipping blog: PostgreSQL is not reachable at 127.0.0.1:9" in capsys.readouterr().err
    )


def test_lab_refuses_to_start_without_postgres_when_it_is_required_or_asked_for(monkeypatch):
    monkeypatch.setenv("MIDDLEBRICK_LAB_POSTGRES", "postgresql://postgres@127.0.0.1:9/postgres")
    monkeypatch.setenv("MIDDLEBRICK_REQUIRE_POSTGRES", "1")
    with pytest.raises(runner.LabError, match="blog need PostgreSQL"):
        runner._with_postgres(["items", "blog"], asked=False)
    monkeypatch.delenv("MIDDLEBRICK_REQUIRE_POSTGRES")
    with pytest.raises(runner.LabError, match="blog need PostgreSQL"):
        runner._with_postgres(["blog"], asked=True)


def test_lab_gives_each_relational_target_its_own_database_and_drops_it(lab, http):
    from lab import stores

    blog = running(lab, "blog", "secure")
    url = lab.databases["blog/secure"]
    assert url != lab.databases["blog/vulnerable"] and "mblab_" in url
    assert stores.store("shop") == "sqlite" and lab.databases["shop/secure"].startswith("sqlite")
    reply = http("GET", blog.url + "/api/v2/auth/me/", token=blog.tokens["bob"], scheme="Token")
    assert reply.json() == {"user": {"id": 2, "username": "bob", "role": "reader"}}
