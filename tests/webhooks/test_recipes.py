"""The verification recipes of docs/monitoring.md, run against real signatures: a valid delivery
passes, a tampered body and an old timestamp fail."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from middlebrick.webhooks import encode_event, scan_failed, sign

DOC = Path(__file__).resolve().parents[2] / "docs" / "monitoring.md"
SECRET = "whsec_recipe-secret"


def _block(heading: str, lang: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"### {heading}\n", 1)[1]
    match = re.search(rf"```{lang}\n(.*?)\n```", section, flags=re.S)
    assert match, f"no {lang} block under {heading!r} in docs/monitoring.md"
    return match.group(1)


def _cases(tmp_path: Path) -> list[tuple[str, Path, str]]:
    body = encode_event(scan_failed("http://127.0.0.1:1/", "no answer"))
    good, tampered = tmp_path / "good.json", tmp_path / "tampered.json"
    good.write_bytes(body)
    tampered.write_bytes(body.replace(b"no answer", b"all good"))
    now = int(time.time())
    return [
        ("valid", good, sign(body, SECRET, timestamp=now)),
        ("tampered", tampered, sign(body, SECRET, timestamp=now)),
        ("stale", good, sign(body, SECRET, timestamp=now - 600)),
        ("other secret", good, sign(body, "whsec_other", timestamp=now)),
    ]


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_nodejs_recipe_accepts_only_valid_signatures(tmp_path: Path) -> None:
    (tmp_path / "middlebrick-verify.js").write_text(_block("Node.js", "js"))
    driver = tmp_path / "driver.js"
    driver.write_text(
        'const { verify } = require("./middlebrick-verify.js");\n'
        "const [body, header, secret] = process.argv.slice(2);\n"
        'try { verify(require("node:fs").readFileSync(body), header, secret); }\n'
        "catch (e) { console.log(e.message); process.exit(1); }\n"
        'console.log("valid");\n'
    )
    for name, body, header in _cases(tmp_path):
        done = subprocess.run(
            ["node", str(driver), str(body), header, SECRET],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (done.returncode == 0) == (name == "valid"), (name, done.stdout, done.stderr)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_shell_recipe_accepts_only_valid_signatures(tmp_path: Path) -> None:
    script = _block("Shell (openssl)", "sh")
    for name, body, header in _cases(tmp_path):
        done = subprocess.run(
            ["bash", "-c", script],
            env={
                "PATH": "/usr/bin:/bin",
                "BODY_FILE": str(body),
                "HEADER": header,
                "SECRET": SECRET,
            },
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (done.returncode == 0) == (name == "valid"), (name, done.stdout, done.stderr)
        assert (done.stdout.strip() == "valid") == (name == "valid")
