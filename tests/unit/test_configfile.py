"""The --config file: identities and headers, ${VAR} from the environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from middlebrick.configfile import load_config
from middlebrick.errors import UsageError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "middlebrick.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_config_reads_identities_in_order_with_secrets_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALICE_TOKEN", "alice-secret-123")
    monkeypatch.setenv("BOB_KEY", "bob-secret-456")
    path = _write(
        tmp_path,
        "spec: openapi.yaml\n"
        "headers: {X-Client: ci}\n"
        "identities:\n"
        "  alice: {auth: 'bearer:${ALICE_TOKEN}', owns: [item-1]}\n"
        "  bob: {auth: 'apikey:X-API-Key:${BOB_KEY}'}\n",
    )
    config = load_config(path)
    assert config.spec == "openapi.yaml" and config.headers == (("X-Client", "ci"),)
    assert list(config.identities) == ["alice", "bob"]
    assert config.identities["alice"].headers == (("Authorization", "Bearer alice-secret-123"),)
    assert config.identities["alice"].owns == ("item-1",)
    assert config.identities["bob"].headers == (("X-API-Key", "bob-secret-456"),)


def test_load_config_names_an_unset_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    path = _write(tmp_path, "identities:\n  a: {auth: 'bearer:${NOT_SET_ANYWHERE}'}\n")
    with pytest.raises(UsageError, match="NOT_SET_ANYWHERE is not set"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("identities:\n  a: {auth: 'bearer:x', role: admin}\n", "identities.a.role"),
        ("target: http://x\n", "target"),
        ("identities: [\n", "not valid YAML"),
    ],
)
def test_load_config_names_the_bad_key(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words.replace(".", r"\.")):
        load_config(_write(tmp_path, text))


def test_load_config_says_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the config file"):
        load_config(tmp_path / "missing.yaml")


def test_load_config_reads_include_and_exclude_patterns(tmp_path: Path) -> None:
    path = _write(tmp_path, "include: ['POST /v1/chat/completions']\nexclude: ['/admin/**']\n")

    config = load_config(path)

    assert config.include == ("POST /v1/chat/completions",)
    assert config.exclude == ("/admin/**",)


def test_load_config_names_the_file_and_the_pattern_that_is_not_one(tmp_path: Path) -> None:
    path = _write(tmp_path, "exclude: ['admin']\n")

    with pytest.raises(UsageError, match=r"middlebrick\.yaml: exclude 'admin' is not METHOD PATH"):
        load_config(path)


def test_load_config_reads_the_spec_root_and_the_spec_headers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOCS_TOKEN", "d-1")
    path = _write(
        tmp_path,
        "spec: api/openapi.yaml\nspec_root: .\n"
        "spec_headers: {authorization: 'Bearer ${DOCS_TOKEN}'}\n",
    )

    config = load_config(path)

    assert config.spec_root == "."
    assert config.spec_headers == (("authorization", "Bearer d-1"),)


def test_load_config_reads_allow_incomplete_and_defaults_to_false(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, "allow_incomplete: true\n")).allow_incomplete is True
    assert load_config(_write(tmp_path, "spec: openapi.yaml\n")).allow_incomplete is False
    with pytest.raises(UsageError, match="allow_incomplete"):
        load_config(_write(tmp_path, "allow_incomplete: perhaps\n"))
