"""Path traversal on recorded answers: encoded ../ sent byte-exact, file content confirmed."""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from middlebrick.findings import Confidence, Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

CHECK = "input_validation.path_traversal"
FILES = {
    "/srv/assets/logo.svg": "<svg/>",
    "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\n",
}


def _read(name: str, *, contained: bool) -> Response:
    path = posixpath.normpath(posixpath.join("/srv/assets", name))
    if contained and not path.startswith("/srv/assets/"):
        return response(404, {"error": "not found"})
    if path not in FILES:
        return response(404, {"error": f"no file {name}"})
    return response(200, FILES[path], {"Content-Type": "application/octet-stream"})


def assets(*, contained: bool) -> Any:
    """``GET /assets/{name}``: the path segment decoded once, as WSGI/ASGI servers do."""

    def answer(request: Request) -> Response:
        raw = urlsplit(request.url).path.split("/assets/", 1)[1]
        return _read(unquote(raw), contained=contained)

    return answer


async def _run(op: Operation, url: str, sender: Any) -> list[Finding]:
    pair = (op, exchange("GET", url, sender.answer(Request("GET", BASE + url)), operation=op.key))
    return await run_check(CHECK, baseline=make_baseline([pair]), sender=sender)


ASSET = Operation(
    method="GET", path="/assets/{name}", parameters=(Parameter("name", "path", required=True),)
)


async def test_path_traversal_reports_encoded_dot_dot_slash_reading_etc_passwd(api: Any) -> None:
    sender = api(assets(contained=False))

    found = await _run(ASSET, "/assets/logo.svg", sender)

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("input_validation.path-traversal", "name", Confidence.confirmed)
    ]
    probe, control = found[0].evidence[1], found[0].evidence[2]
    assert probe.request.url == BASE + "/assets/" + "..%2f" * 8 + "etc%2fpasswd"  # byte-exact
    assert control.request.url.endswith("etc%2fmbzq-no-such-file")
    assert "root:x:0:0:" in found[0].detail


async def test_path_traversal_stays_quiet_when_the_path_must_stay_in_the_folder(api: Any) -> None:
    sender = api(assets(contained=True))

    found = await _run(ASSET, "/assets/logo.svg", sender)

    assert found == []
    assert len(sender.sent) == 5  # four encodings of etc/passwd and one win.ini, no control


async def test_path_traversal_reports_a_query_parameter_decoded_twice(api: Any) -> None:
    def download(request: Request) -> Response:
        name = dict(parse_qsl(urlsplit(request.url).query)).get("file", "")
        if "../" in name:  # a naive filter on the decoded value...
            return response(400, {"error": "bad file name"})
        return _read(unquote(name), contained=False)  # ...then a second decode

    op = Operation(method="GET", path="/download", parameters=(Parameter("file", "query"),))

    found = await _run(op, "/download?file=logo.svg", api(download))

    assert [f.parameter for f in found] == ["file"]
    assert "double-encoded" in found[0].detail
    assert found[0].evidence[1].request.url.endswith("file=" + "..%252f" * 8 + "etc%252fpasswd")


async def test_path_traversal_stays_quiet_when_no_parameter_is_file_like(api: Any) -> None:
    sender = api(lambda request: response(200, {"users": []}))
    op = Operation(method="GET", path="/users", parameters=(Parameter("limit", "query"),))

    found = await _run(op, "/users?limit=10", sender)

    assert found == [] and sender.sent == []
