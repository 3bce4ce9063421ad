"""SQL injection against a real SQLite database: statements built by formatting, and their twins.

Each fake handler below runs its statement on an in-memory SQLite database, so the errors, the
rows and the records are SQLite's own: the vulnerable one formats the value into the SQL text,
the fixed one binds it. Delays are stood for by the response's measured time (the handler says
how long the database would have slept), so these tests take no wall time.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import pytest

from middlebrick.config import ScanRequest
from middlebrick.findings import Confidence, Finding, Severity
from middlebrick.http.exchange import Exchange, Headers, Request, Response
from middlebrick.spec.model import Operation, Parameter, RequestBody, Surface
from middlebrick.testing import BASE, exchange, make_baseline, response, run_check

CHECK = "input_validation.sql_injection"
SQL = "input_validation.sql-injection"
Answer = Callable[[Request], Response]


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    """Six products in two categories, in memory."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, category TEXT)")
    rows = [(i, f"p{i}", "books" if i <= 3 else "games") for i in range(1, 7)]
    connection.executemany("INSERT INTO products VALUES (?, ?, ?)", rows)
    yield connection
    connection.close()


def _query(request: Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    return [{"id": i, "name": n, "category": c} for i, n, c in cursor.fetchall()]


def by_category(db: sqlite3.Connection, *, formatted: bool, show_errors: bool = True) -> Answer:
    """``GET /products?category=``: an f-string, or a bound parameter."""

    def answer(request: Request) -> Response:
        category = _query(request).get("category", "books")
        try:
            if formatted:
                sql = f"SELECT id, name, category FROM products WHERE category = '{category}'"
                cursor = db.execute(sql)
            else:
                sql = "SELECT id, name, category FROM products WHERE category = ?"
                cursor = db.execute(sql, (category,))
        except sqlite3.Error as exc:
            if show_errors:
                return response(
                    500, {"detail": f"({type(exc).__module__}.{type(exc).__name__}) {exc}"}
                )
            return response(500, {"detail": "internal error"})
        return response(200, {"data": _rows(cursor)})

    return answer


def by_id(db: sqlite3.Connection, *, formatted: bool) -> Answer:
    """``GET /products/{id}``: the id formatted into the statement, or converted and bound."""

    def answer(request: Request) -> Response:
        raw = unquote(urlsplit(request.url).path.rsplit("/", 1)[-1])
        try:
            if formatted:
                cursor = db.execute(f"SELECT id, name, category FROM products WHERE id = {raw}")
            else:
                if not raw.isdigit():
                    return response(422, {"detail": "id must be an integer"})
                cursor = db.execute(
                    "SELECT id, name, category FROM products WHERE id = ?", (int(raw),)
                )
        except sqlite3.Error:
            return response(500, {"detail": "internal error"})
        rows = _rows(cursor)
        return response(200, {"data": rows[0]}) if rows else response(404, {"detail": "not found"})

    return answer


def search(db: sqlite3.Connection) -> Answer:
    """``GET /search?q=``: a LIKE search with a bound pattern (real life: quotes find nothing)."""

    def answer(request: Request) -> Response:
        q = _query(request).get("q", "p")
        cursor = db.execute(
            "SELECT id, name, category FROM products WHERE name LIKE ?", (f"%{q}%",)
        )
        return response(200, {"data": _rows(cursor)})

    return answer


async def _run(op: Operation, url: str, sender: Any, **extra: Any) -> list[Finding]:
    pair = (op, exchange("GET", url, sender.answer(Request("GET", BASE + url)), operation=op.key))
    return await run_check(CHECK, baseline=make_baseline([pair]), sender=sender, **extra)


PRODUCTS = Operation("GET", "/products", parameters=(Parameter("category", "query"),))
PRODUCT = Operation(
    "GET", "/products/{id}", parameters=(Parameter("id", "path", schema={"type": "integer"}),)
)
SEARCH = Operation("GET", "/search", parameters=(Parameter("q", "query"),))


async def test_sql_injection_reports_sqlites_own_error_and_names_sqlite(api: Any, db: Any) -> None:
    found = await _run(PRODUCTS, "/products?category=books", api(by_category(db, formatted=True)))

    assert [(f.type_id, f.parameter, f.confidence) for f in found] == [
        (SQL, "category", Confidence.confirmed)
    ]
    assert [e.label for e in found[0].evidence] == [
        "baseline",
        "probe",
        "control",
        "probe repeated",
    ]
    assert "The evidence proves SQLite." in found[0].detail
    assert "SQLite:" in found[0].remediation and "PostgreSQL" not in found[0].remediation


async def test_sql_injection_reports_a_true_and_a_false_condition_when_errors_are_hidden(
    api: Any, db: Any
) -> None:
    sender = api(by_category(db, formatted=True, show_errors=False))

    found = await _run(PRODUCTS, "/products?category=books", sender)

    assert [(f.parameter, f.confidence, f.severity) for f in found] == [
        ("category", Confidence.confirmed, Severity.critical)
    ]
    labels = [e.label for e in found[0].evidence]
    assert labels[0] == "control" and "true: ' AND 'mb' LIKE 'mb" in labels
    assert "proves" not in found[0].detail  # nothing named the database: generic advice


async def test_sql_injection_reports_a_number_formatted_into_the_statement(
    api: Any, db: Any
) -> None:
    found = await _run(PRODUCT, "/products/2", api(by_id(db, formatted=True)))

    assert [(f.parameter, f.confidence) for f in found] == [("id", Confidence.confirmed)]
    sent = [e.request.url for e in found[0].evidence]
    assert any(url.endswith("/products/2%20AND%207%3D8") for url in sent)


async def test_sql_injection_stays_quiet_when_the_value_is_bound(api: Any, db: Any) -> None:
    for op, url, answer in (
        (PRODUCTS, "/products?category=books", by_category(db, formatted=False)),
        (PRODUCT, "/products/2", by_id(db, formatted=False)),
    ):
        assert await _run(op, url, api(answer)) == []


async def test_sql_injection_stays_quiet_on_a_search_that_finds_nothing_for_quotes(
    api: Any, db: Any
) -> None:
    sender = api(search(db))

    found = await _run(SEARCH, "/search?q=p", sender)

    assert found == []
    assert len(sender.sent) <= 1 + 6 + 2  # breaker, a failed boolean round, the ambient headers


async def test_sql_injection_leaves_dynamodb_partiql_errors_to_the_partiql_check(api: Any) -> None:
    def partiql(request: Request) -> Response:
        status = _query(request).get("status", "open")
        if status.replace("''", "").count("'"):
            text = "ValidationException: Statement wasn't well formed, can't be processed"
            return response(500, {"error": text})
        return response(200, {"orders": [{"id": 1}]})

    op = Operation("GET", "/orders", parameters=(Parameter("status", "query"),))
    assert await _run(op, "/orders?status=open", api(partiql)) == []


def _timed(delay_s: Callable[[Request], float]) -> Answer:
    def answer(request: Request) -> Response:
        body = response(200, {"data": [{"id": 1}]})
        return Response(
            status=200,
            headers=body.headers,
            body=body.body,
            url=request.url,
            elapsed_ms=20 + 1000 * delay_s(request),
        )

    return answer


def _pg_sleep(request: Request) -> float:
    """A view counter that formats the Referer into an INSERT and swallows errors (PostgreSQL)."""
    found = re.search(r"pg_sleep\(([\d.]+)\)", request.headers.get("referer") or "")
    return float(found.group(1)) if found else 0.0


async def test_sql_injection_reports_a_blind_header_by_the_delay_it_asks_postgresql_for(
    api: Any,
) -> None:
    op = Operation("GET", "/articles/{slug}", parameters=(Parameter("slug", "path"),))

    found = await _run(op, "/articles/hello", api(_timed(_pg_sleep)))

    assert [(f.parameter, f.confidence) for f in found] == [("Referer", Confidence.confirmed)]
    assert [e.label for e in found[0].evidence] == [
        "control",
        "probe",
        "probe without delay",
        "probe repeated",
    ]
    assert "PostgreSQL:" in found[0].remediation


async def test_sql_injection_stays_quiet_when_every_answer_is_slow(api: Any) -> None:
    op = Operation("GET", "/articles/{slug}", parameters=(Parameter("slug", "path"),))

    found = await _run(op, "/articles/hello", api(_timed(lambda request: 2.5)))

    assert found == []


async def test_sql_injection_stays_quiet_when_a_delay_is_not_repeated(api: Any) -> None:
    calls: list[int] = []

    def once(request: Request) -> float:
        calls.append(1)
        return _pg_sleep(request) if len(calls) <= 2 else 0.0

    op = Operation("GET", "/articles/{slug}", parameters=(Parameter("slug", "path"),))

    assert await _run(op, "/articles/hello", api(_timed(once))) == []


async def test_sql_injection_reports_a_declared_cookie_formatted_into_the_statement(
    api: Any, db: Any
) -> None:
    def by_cookie(request: Request) -> Response:
        cookie = request.headers.get("cookie") or ""
        category = cookie.split("category=", 1)[1] if "category=" in cookie else "books"
        query = urlencode({"category": category})
        return by_category(db, formatted=True)(Request("GET", f"{BASE}/products?{query}"))

    op = Operation("GET", "/products", parameters=(Parameter("category", "cookie"),))
    baseline = Request("GET", BASE + "/products", headers=Headers.of({"Cookie": "category=books"}))
    sender = api(by_cookie)
    pair = (op, Exchange(baseline, sender.answer(baseline), None, op.key))

    found = await run_check(CHECK, baseline=make_baseline([pair]), sender=sender)

    assert [(f.parameter, f.confidence) for f in found] == [("category", Confidence.confirmed)]
    assert "unrecognized token" in found[0].evidence[1].excerpt
    assert "category=books'" in [r.headers.get("cookie") for r in sender.sent]


@pytest.mark.parametrize("show_errors", [True, False])
async def test_dynamodb_injection_never_names_a_sqlite_injection_partiql(
    api: Any, db: Any, show_errors: bool
) -> None:
    sender = api(by_category(db, formatted=True, show_errors=show_errors))
    url = "/products?category=books"
    pair = (PRODUCTS, exchange("GET", url, sender.answer(Request("GET", BASE + url))))

    found = await run_check(
        "input_validation.dynamodb_injection", baseline=make_baseline([pair]), sender=sender
    )

    assert found == []


def search_body(db: sqlite3.Connection, *, formatted: bool) -> Answer:
    """``POST /products/search`` with ``{"category": …}``: a read that takes a JSON query."""

    def answer(request: Request) -> Response:
        category = json.loads(request.body or b"{}").get("category", "books")
        return by_category(db, formatted=formatted)(
            Request("GET", f"{BASE}/products?{urlencode({'category': category})}")
        )

    return answer


SEARCH_BODY = Operation(
    "POST",
    "/products/search",
    request_body=RequestBody("application/json", examples=({"category": "books"},)),
)


@pytest.mark.parametrize("formatted", [True, False])
async def test_sql_injection_probes_the_body_of_a_post_that_names_a_read_in_active_mode(
    api: Any, db: Any, formatted: bool
) -> None:
    sender = api(search_body(db, formatted=formatted))
    get = exchange("GET", "/search?q=p", sender.answer(Request("GET", BASE + "/search?q=p")))

    found = await run_check(
        CHECK,
        baseline=make_baseline([(SEARCH, get)]),
        sender=sender,
        scan=ScanRequest(target=BASE, mode="active"),
        surface=Surface(base_url=BASE, operations=(SEARCH, SEARCH_BODY)),
    )

    assert [(f.operation, f.parameter) for f in found] == (
        [("POST /products/search", "body.category")] if formatted else []
    )
    assert all(r.method in ("GET", "POST") for r in sender.sent)


async def test_sql_injection_never_posts_in_safe_mode(api: Any, db: Any) -> None:
    sender = api(search_body(db, formatted=True))
    get = exchange("GET", "/search?q=p", sender.answer(Request("GET", BASE + "/search?q=p")))

    await run_check(
        CHECK,
        baseline=make_baseline([(SEARCH, get)]),
        sender=sender,
        surface=Surface(base_url=BASE, operations=(SEARCH, SEARCH_BODY)),
    )

    assert {r.method for r in sender.sent} == {"GET"}
