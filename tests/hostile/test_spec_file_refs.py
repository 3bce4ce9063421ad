"""A hostile spec's ``$ref``s cannot send local files to the target (issue 12, item 4).

A ``$ref`` to a file that is not a JSON or YAML description (``credentials``, ``notes.txt``),
outside the spec's folder (``..``, an absolute path, ``file:``, a symlink that leads out), a
FIFO or a bare scalar was once loaded as text and could become a parameter's example: sent in a
query string and printed in every report. Each is refused with a note. ``--spec-root`` widens
the folder for a repository whose spec references ``../schemas/…``, and the files pulled in are
bounded by bytes (64 MiB), not by a count of 500 that silently dropped real specs' schemas.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from aiohttp import web

from middlebrick.config import Limits, ScanRequest
from middlebrick.engine import scan
from middlebrick.spec._yaml import parse_document
from middlebrick.spec.load import load_spec
from middlebrick.spec.refs import MAX_REFERENCED_BYTES, resolve_refs
from middlebrick.testing import LiveApp

SECRETS = {
    "credentials": "aws_secret_access_key = SECRET-NO-SUFFIX",
    "notes.txt": "SECRET-TEXT-FILE",
    "scalar.yaml": "SECRET-SCALAR",
}
OUTSIDE = "token: SECRET-OUTSIDE\n"
LIMITS = Limits(time_budget=20.0, read_timeout=2.0)


def _recording_app(seen: list[str]) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path_qs} {dict(request.headers)}")
        return web.json_response({"results": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def _hostile_spec(folder: Path, outside: Path) -> Path:
    """A spec whose parameters' examples point at every kind of file it must not read."""
    for name, text in SECRETS.items():
        (folder / name).write_text(text, encoding="utf-8")
    (outside / "secret.yaml").write_text(OUTSIDE, encoding="utf-8")
    (folder / "linked.yaml").symlink_to(outside / "secret.yaml")
    os.mkfifo(folder / "pipe.yaml")  # reading it would block for ever
    refs = [
        "credentials",
        "notes.txt",
        "scalar.yaml",
        "linked.yaml#/token",
        "../outside/secret.yaml#/token",
        f"{outside}/secret.yaml#/token",
        f"file://{outside}/secret.yaml#/token",
        "pipe.yaml#/token",
    ]
    parameters = [
        {"name": f"p{i}", "in": "query", "schema": {"type": "string"}, "example": {"$ref": ref}}
        for i, ref in enumerate(refs)
    ]
    document = {
        "openapi": "3.0.3",
        "info": {"title": "hostile refs", "version": "1"},
        "paths": {"/search": {"get": {"parameters": parameters, "responses": {"200": {}}}}},
    }
    path = folder / "openapi.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


async def test_refs_to_files_that_are_not_descriptions_or_are_outside_are_never_sent(
    tmp_path: Path,
) -> None:
    folder, outside = tmp_path / "api", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    spec = _hostile_spec(folder, outside)
    seen: list[str] = []

    async with LiveApp(_recording_app(seen)) as url:
        report = await scan(ScanRequest(target=url, spec=str(spec), limits=LIMITS))

    sent = "\n".join(seen)
    kept = report.model_dump_json()
    assert any("/search" in line for line in seen), "the operation was requested"
    for secret in ("SECRET-NO-SUFFIX", "SECRET-TEXT-FILE", "SECRET-SCALAR", "SECRET-OUTSIDE"):
        assert secret not in sent
        assert secret not in kept
    notes = "\n".join(report.notes)
    assert "not a .json, .yaml or .yml file" in notes  # credentials, notes.txt
    assert "not a JSON or YAML mapping or list" in notes  # scalar.yaml
    assert "outside the document's folder" in notes  # linked.yaml, ../outside
    assert "an absolute path" in notes
    assert "a file: URL" in notes
    assert "not a regular file" in notes  # the FIFO


def _repository(tmp_path: Path) -> Path:
    """A repository whose spec, in ``api/``, references ``../schemas/item.yaml``."""
    (tmp_path / "schemas").mkdir()
    (tmp_path / "api").mkdir()
    (tmp_path / "schemas" / "item.yaml").write_text(
        "type: object\nproperties: {sku: {type: string}}\n", encoding="utf-8"
    )
    spec = tmp_path / "api" / "openapi.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: repo, version: '1'}\npaths:\n  /items:\n    get:\n"
        "      responses:\n        '200':\n          description: ok\n          content:\n"
        "            application/json: {schema: {$ref: '../schemas/item.yaml'}}\n",
        encoding="utf-8",
    )
    return spec


async def test_spec_root_widens_the_folder_references_may_be_in(tmp_path: Path) -> None:
    spec = _repository(tmp_path)
    seen: list[str] = []

    async with LiveApp(_recording_app(seen)) as url:
        narrow = await scan(ScanRequest(target=url, spec=str(spec), limits=LIMITS))
        wide = await scan(
            ScanRequest(target=url, spec=str(spec), spec_root=str(tmp_path), limits=LIMITS)
        )

    refused = "could not resolve $ref '../schemas/item.yaml': outside the document's folder"
    assert any(note.startswith(refused) for note in narrow.notes), narrow.notes
    assert "--spec-root" in next(note for note in narrow.notes if note.startswith(refused))
    assert not any("could not resolve" in note for note in wide.notes), wide.notes


def test_hundreds_of_referenced_files_all_resolve_within_the_byte_budget(tmp_path: Path) -> None:
    count = 700  # a real spec with ~600 example files lost 90 % of them to a 500-file cap
    (tmp_path / "schemas").mkdir()
    paths = {}
    for i in range(count):
        (tmp_path / "schemas" / f"s{i}.yaml").write_text(
            f"type: object\nproperties: {{field{i}: {{type: string}}}}\n", encoding="utf-8"
        )
        parameter = {"name": "q", "in": "query", "schema": {"$ref": f"schemas/s{i}.yaml"}}
        paths[f"/r{i}"] = {"get": {"parameters": [parameter], "responses": {"200": {}}}}
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps({"openapi": "3.0.3", "paths": paths}), encoding="utf-8")

    loaded = load_spec(spec)

    assert loaded.warnings == ()
    assert len(loaded.operations) == count
    assert all(op.parameters[0].schema.get("properties") for op in loaded.operations)


def test_files_past_the_byte_budget_are_cut_with_a_note_never_silently(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"big{i}.json").write_text(json.dumps({"pad": "x" * 10_000}), encoding="utf-8")
    document = {"openapi": "3.0.3", "x-all": [{"$ref": f"big{i}.json"} for i in range(5)]}
    spec = tmp_path / "openapi.json"

    resolved, warnings = resolve_refs(
        document, location=spec, parse=parse_document, allowed_root=tmp_path, max_bytes=25_000
    )

    assert [bool(item) for item in resolved["x-all"]] == [True, True, False, False, False]
    assert warnings == (
        "could not resolve 3 $refs (the files it references pass the limit of 25,000 bytes "
        "in all): 'big2.json', 'big3.json', 'big4.json'",
    )
    assert MAX_REFERENCED_BYTES == 64 * 1024 * 1024


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from middlebrick.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


async def test_the_cli_widens_the_folder_with_spec_root(tmp_path: Path) -> None:
    spec = _repository(tmp_path)
    report = tmp_path / "report.json"
    async with LiveApp(_recording_app([])) as url:
        result = await asyncio.to_thread(
            _cli, "scan", url, "--spec", str(spec), "--spec-root", str(tmp_path),
            "--no-save", "--quiet", "--format", f"json:{report}",
        )  # fmt: skip

    assert result.returncode == 0, result.stderr[-2000:]
    notes = json.loads(report.read_text(encoding="utf-8"))["notes"]
    assert not any("could not resolve" in note for note in notes), notes


def test_a_spec_root_that_does_not_hold_the_spec_is_a_usage_error(tmp_path: Path) -> None:
    spec = _repository(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = _cli("scan", "http://127.0.0.1:9", "--spec", str(spec), "--spec-root", str(elsewhere))

    assert result.returncode == 2
    said = "".join(result.stderr.split())  # the terminal may wrap it anywhere
    assert (
        f"the spec root {elsewhere} does not hold the API description {spec}".replace(" ", "")
        in said
    )
    assert "Traceback" not in result.stderr
