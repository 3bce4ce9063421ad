"""Pagination cursors: readable unsigned keys, and rewritten ones that read another owner's page."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from middlebrick.checks.bola._cursor import cursors, param_for
from middlebrick.findings import Confidence
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import response, run_check

ALICE, BOB = "u-alice-1", "u-bob-2"
SEARCH = Operation("GET", "/search", parameters=(Parameter("cursor", "query"),))
ITEMS = {
    owner: [{"item_id": f"{owner}-{n}", "owner_id": owner, "name": f"thing {n}"} for n in range(4)]
    for owner in (ALICE, BOB)
}


def _encode(key: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _search_api(*, trust_cursor: bool, signed: bool = False):
    """Two items per page; the cursor is the last key; ``trust_cursor``: its owner is obeyed."""

    def answer(request: Request) -> Response:
        caller = {None: ALICE, "bob": BOB}.get(request.identity)
        if caller is None:
            return response(401, {})
        given = parse_qs(urlsplit(request.url).query).get("cursor", [None])[0]
        owner, start = caller, 0
        if given is not None:
            key = json.loads(base64.urlsafe_b64decode(given.split(".")[0]))
            owner = key["owner_id"] if trust_cursor else caller
            start = int(key["item_id"].rsplit("-", 1)[1]) + 1
        page = ITEMS[owner][start : start + 2]
        last = {"item_id": page[-1]["item_id"], "owner_id": owner}
        cursor = _encode(last) + (".c2lnbmF0dXJl" if signed else "")
        return response(200, {"items": page, "next_cursor": cursor})

    return answer


async def _run(fake, scan, users):
    return await run_check(
        "bola.pagination_cursors",
        baseline=fake.baseline((SEARCH, "/search")),
        sender=fake,
        scan=scan(),
        identities=users(),
    )


async def test_pagination_cursors_reports_an_unsigned_key_and_its_rewrite_to_another_owner(
    api, scan, users
):
    fake = api(_search_api(trust_cursor=True))

    found = await _run(fake, scan, users)

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        ("bola.unsigned-cursor", "cursor", Confidence.confirmed),
        ("bola.cursor-tampering", "cursor", Confidence.confirmed),
    ]
    assert "`item_id`, `owner_id`" in found[0].detail
    assert "2 records owned by 'bob'" in found[1].detail
    sent = parse_qs(urlsplit(fake.sent[0].url).query)["cursor"][0]
    assert json.loads(base64.urlsafe_b64decode(sent)) == {"item_id": f"{ALICE}-1", "owner_id": BOB}


async def test_pagination_cursors_reports_only_the_unsigned_key_when_the_owner_is_enforced(
    api, scan, users
):
    fake = api(_search_api(trust_cursor=False))

    found = await _run(fake, scan, users)

    assert [(f.type_id, f.confidence) for f in found] == [
        ("bola.unsigned-cursor", Confidence.confirmed)
    ]


async def test_pagination_cursors_stays_quiet_on_a_signed_cursor(api, scan, users):
    fake = api(_search_api(trust_cursor=True, signed=True))

    found = await _run(fake, scan, users)

    assert found == []
    assert fake.sent == []


async def test_pagination_cursors_is_firm_with_a_single_identity(api):
    fake = api(_search_api(trust_cursor=True))

    found = await run_check(
        "bola.pagination_cursors", baseline=fake.baseline((SEARCH, "/search")), sender=fake
    )

    assert [(f.type_id, f.confidence) for f in found] == [("bola.unsigned-cursor", Confidence.firm)]
    assert fake.sent == []


# --- reading cursors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"LastEvaluatedKey": {"pk": {"S": "USER#1"}, "sk": {"S": "ORDER#9"}}},
        {"next_token": base64.b64encode(b'{"id": 42, "created": "2026"}').decode()},
        {"paging": {"cursor": '{"order_id": "o-9"}'}},
    ],
    ids=["raw-dynamodb-key", "base64-json", "plain-json"],
)
def test_cursors_decode_key_shapes(body):
    found = cursors(response(200, body))

    assert len(found) == 1 and found[0].unsigned_key


@pytest.mark.parametrize(
    "value",
    [
        "opaque-7f3a9c2e1b",  # random token: decodes to nothing
        _encode({"page": 2}) + ".sig",  # signed
        _encode({"id": "a1", "hmac": "x"}),  # MAC inside
        _encode({"page": 2, "size": 20}),  # an offset, no key attribute
    ],
    ids=["opaque", "signed-segment", "mac-field", "offset-only"],
)
def test_cursors_leave_opaque_signed_and_offset_cursors_alone(value):
    found = cursors(response(200, {"next_cursor": value}))

    assert not any(c.unsigned_key for c in found)


def test_cursors_follow_the_next_link_and_its_query_parameter():
    link = "/orders?page_token=" + _encode({"order_id": "o-9"})
    found = cursors(response(200, {"orders": []}, {"Link": f'<{link}>; rel="next"'}))

    assert [(c.param, c.key) for c in found] == [("page_token", {"order_id": "o-9"})]


def test_param_for_prefers_the_declared_parameter_named_like_the_field():
    (cursor,) = cursors(response(200, {"nextToken": _encode({"id": "a"})}))

    assert param_for(cursor, ["limit", "next_token"]) == "next_token"
    assert param_for(cursor, []) == "token"


def test_a_rewritten_cursor_keeps_its_encoding():
    (cursor,) = cursors(response(200, {"next": _encode({"owner_id": ALICE, "id": "x"})}))
    rewritten = cursor.rewritten(ALICE, BOB)

    assert rewritten is not None
    assert json.loads(base64.urlsafe_b64decode(rewritten)) == {"owner_id": BOB, "id": "x"}
