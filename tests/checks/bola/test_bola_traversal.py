"""``../`` inside an object id: the ownership check and the route read different paths."""

from __future__ import annotations

from posixpath import normpath
from urllib.parse import unquote, urlsplit

from middlebrick.findings import Confidence
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import response, run_check

ALICE, BOB = "u-alice-1", "u-bob-2"
DOCS = {
    "d-1": {"doc_id": "d-1", "owner_id": ALICE, "title": "alice's plan"},
    "d-2": {"doc_id": "d-2", "owner_id": BOB, "title": "bob's plan"},
}
LIST = Operation("GET", "/docs")
DOC = Operation("GET", "/docs/{doc_id}", parameters=(Parameter("doc_id", "path", required=True),))


def _docs_api(*, raw_path_check: bool):
    """With ``raw_path_check`` the owner is checked on the raw path's id, the route normalises."""

    def answer(request: Request) -> Response:
        caller = {None: ALICE, "bob": BOB}.get(request.identity)
        if caller is None:
            return response(401, {})
        raw = urlsplit(request.url).path
        if raw == "/docs":
            return response(200, [d for d in DOCS.values() if d["owner_id"] == caller])
        checked = raw.split("/")[2] if raw_path_check else None
        routed = normpath(unquote(raw)).rsplit("/", 1)[-1]
        doc = DOCS.get(routed)
        owner_of_checked = DOCS.get(checked or routed, {}).get("owner_id")
        if doc is None or owner_of_checked != caller:
            return response(404, {"detail": "not found"})
        return response(200, doc)

    return answer


async def _run(fake, users):
    return await run_check(
        "bola.identifier_traversal",
        baseline=fake.baseline((LIST, "/docs"), (DOC, "/docs/d-1")),
        sender=fake,
        identities=users(),
    )


async def test_identifier_traversal_reports_dot_segments_that_reach_another_user_s_object(
    api, users
):
    fake = api(_docs_api(raw_path_check=True))

    found = await _run(fake, users)

    assert [(f.type_id, f.operation, f.parameter) for f in found] == [
        ("bola.identifier-traversal", "GET /docs/{doc_id}", "doc_id")
    ]
    assert found[0].confidence is Confidence.confirmed
    assert [e.label for e in found[0].evidence] == ["control: direct", "traversal ../"]
    assert [urlsplit(r.url).path for r in fake.sent] == [
        "/docs",  # as bob: his document
        "/docs/d-2",  # the control, denied
        "/docs/d-1/../d-2",
    ]


async def test_identifier_traversal_stays_quiet_when_the_loaded_object_is_checked(api, users):
    fake = api(_docs_api(raw_path_check=False))

    found = await _run(fake, users)

    assert found == []
    assert len(fake.sent) == 5  # bob's list, the control, three spellings
