"""Type confusion on recorded answers: wrong-type values that crash, against right-type controls."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from middlebrick.findings import Finding
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

CHECK = "input_validation.type_confusion"
TRACEBACK = "Traceback (most recent call last):\nValueError: invalid literal for int() with base 10"


def _query(request: Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))


def paged(*, validated: bool) -> Any:
    """``GET /search?limit=``: ``int(limit)`` unguarded, or a 422 for a non-number."""

    def answer(request: Request) -> Response:
        limit = _query(request).get("limit", "10")
        if not limit.isdigit():
            if validated:
                return response(422, {"detail": "limit must be an integer"})
            return response(500, TRACEBACK, {"Content-Type": "text/plain"})
        return response(200, {"items": [{"id": i} for i in range(min(int(limit), 3))]})

    return answer


async def _run(op: Operation, url: str, sender: Any) -> list[Finding]:
    pair = (op, exchange("GET", url, sender.answer(Request("GET", BASE + url)), operation=op.key))
    return await run_check(CHECK, baseline=make_baseline([pair]), sender=sender)


SEARCH = Operation(method="GET", path="/search", parameters=(Parameter("limit", "query"),))


async def test_type_confusion_reports_letters_in_a_number_that_end_in_a_500(api: Any) -> None:
    found = await _run(SEARCH, "/search", api(paged(validated=False)))

    assert [(f.type_id, f.parameter) for f in found] == [
        ("input_validation.type-confusion", "limit")
    ]
    assert [e.label for e in found[0].evidence] == ["baseline", "probe", "control"]
    assert found[0].evidence[1].request.url.endswith("limit=abc")
    assert "invalid literal for int()" in found[0].detail


async def test_type_confusion_stays_quiet_when_the_api_answers_422(api: Any) -> None:
    sender = api(paged(validated=True))

    found = await _run(SEARCH, "/search", sender)

    assert found == []
    assert len(sender.sent) == 1  # no control without a failed probe


async def test_type_confusion_stays_quiet_when_the_right_type_fails_too(api: Any) -> None:
    def broken(request: Request) -> Response:
        if "limit" in _query(request):
            return response(500, {"error": "internal error"})
        return response(200, {"items": []})

    found = await _run(SEARCH, "/search", api(broken))

    assert found == []


async def test_type_confusion_reports_an_object_where_a_string_is_expected(api: Any) -> None:
    def scan_filter(request: Request) -> Response:
        condition = json.loads(_query(request)["filter"])["email"]
        if not isinstance(condition["ComparisonOperator"], str):
            return response(
                500,
                {
                    "error": "Parameter validation failed:\nInvalid type for parameter "
                    "ScanFilter.email.ComparisonOperator"
                },
            )
        if condition["ComparisonOperator"] != "EQ":
            return response(400, {"error": "ValidationException"})
        return response(200, {"users": [{"email": "a@x.example"}]})

    op = Operation(method="GET", path="/users", parameters=(Parameter("filter", "query"),))
    condition = {"email": {"ComparisonOperator": "EQ", "AttributeValueList": ["a@x.example"]}}
    url = "/users?" + urlencode({"filter": json.dumps(condition)})

    found = await _run(op, url, api(scan_filter))

    assert [(f.type_id, f.parameter) for f in found] == [
        ("input_validation.type-confusion", "filter")
    ]
    assert '{"mbzq": 1}' in found[0].detail


async def test_type_confusion_reports_a_path_id_that_is_not_a_number(api: Any) -> None:
    def member(request: Request) -> Response:
        raw = urlsplit(request.url).path.rsplit("/", 1)[-1]
        if not raw.isdigit():
            return response(500, "<title>ValueError at /members/abc</title>Django Version: 5.2")
        return response(200, {"member_id": int(raw)})

    op = Operation(
        method="GET",
        path="/members/{member_id}",
        parameters=(Parameter("member_id", "path", required=True),),
    )

    found = await _run(op, "/members/1", api(member))

    assert [f.parameter for f in found] == ["member_id"]
    assert found[0].evidence[2].request.url == BASE + "/members/2"


def articles(*, validated: bool) -> Any:
    """``GET /articles?title__regex=&published_after=``: a Django-style list with lookups."""
    import re
    from datetime import datetime

    def answer(request: Request) -> Response:
        query = _query(request)
        try:
            pattern = re.compile(query.get("title__regex", ".*"))
            since = datetime.fromisoformat(query.get("published_after", "2024-01-01T00:00:00"))
        except (re.error, ValueError) as exc:
            if validated:
                return response(400, {"title__regex": ["Enter a valid value."]})
            trace = f"Traceback (most recent call last):\n{type(exc).__name__}: {exc}"
            return response(500, trace, {"Content-Type": "text/plain"})
        rows = [{"title": t} for t in ("alpha", "beta") if pattern.search(t) and since.year > 0]
        return response(200, {"results": rows})

    return answer


ARTICLES = Operation(
    method="GET",
    path="/articles",
    parameters=(
        Parameter("title__regex", "query"),
        Parameter("published_after", "query", schema={"type": "string", "format": "date-time"}),
    ),
)


async def test_type_confusion_reports_an_invalid_regex_and_an_impossible_date_offset(
    api: Any,
) -> None:
    url = "/articles?" + urlencode({"title__regex": "al", "published_after": "2024-01-01"})

    found = await _run(ARTICLES, url, api(articles(validated=False)))

    assert sorted(f.parameter or "" for f in found) == ["published_after", "title__regex"]
    details = " ".join(f.detail for f in found)
    assert "'mbzq('" in details and "+99:00" in details


async def test_type_confusion_stays_quiet_when_the_filters_are_validated(api: Any) -> None:
    url = "/articles?" + urlencode({"title__regex": "al", "published_after": "2024-01-01"})

    assert await _run(ARTICLES, url, api(articles(validated=True))) == []
