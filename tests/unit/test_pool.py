"""The value pool: real values for path parameters, with where each was seen and by whom."""

from __future__ import annotations

from middlebrick.baseline import build_baseline
from middlebrick.spec.model import Operation, Parameter, Surface
from middlebrick.spec.pool import ValuePool, flat_name, resource_of, values_in
from middlebrick.testing import BASE, FakeSender, response

BOOKS = Operation(method="GET", path="/books/v1")
BOOKS_BODY = {"Books": [{"book_title": "bookTitle77", "user": "name1"}]}


def _op(path: str, name: str) -> tuple[Operation, Parameter]:
    param = Parameter(name=name, location="path", required=True)
    return Operation(method="GET", path=path, parameters=(param,)), param


def test_pool_fills_a_parameter_from_a_field_of_the_same_name_that_is_not_id_like() -> None:
    # Given a listing whose records are read by their title (VAmPI's /books/v1/{book_title})
    pool = ValuePool()
    pool.add(BOOKS_BODY, operation=BOOKS, identity="alice")
    op, param = _op("/books/v1/{book_title}", "book_title")

    # Then the title fills the parameter, and the pool says where it was seen
    assert pool.candidates(op, param) == ["bookTitle77"]
    (seen,) = pool.values("book_title")
    assert (seen.path, seen.operation, seen.resource, seen.identity) == (
        "Books[].book_title",
        "GET /books/v1",
        "books",
        "alice",
    )


def test_pool_stays_quiet_when_no_field_fits_the_parameter() -> None:
    # Given the same listing, a parameter nothing in it names: nothing is invented
    pool = ValuePool()
    pool.add(BOOKS_BODY, operation=BOOKS)
    op, param = _op("/orders/{order_ref}", "order_ref")

    assert pool.candidates(op, param) == []


def test_pool_matches_a_name_across_conventions() -> None:
    pool = ValuePool()
    pool.add([{"UserID": "u-7"}], operation=Operation(method="GET", path="/orders"))

    for name in ("userId", "user_id", "user-id", "UserID"):
        op, param = _op("/users/{" + name + "}/cart", name)
        assert pool.candidates(op, param) == ["u-7"], name
    assert flat_name("User-ID") == flat_name("userId") == "userid"


def test_pool_keeps_nested_values_with_their_json_path() -> None:
    pool = ValuePool()
    articles = Operation(method="GET", path="/articles")
    pool.add({"data": [{"slug": "post-1", "author": {"username": "alice"}}]}, operation=articles)
    op, param = _op("/users/{username}", "username")

    assert pool.candidates(op, param) == ["alice"]
    assert [s.path for s in pool.values("username")] == ["data[].author.username"]


def test_pool_prefers_the_parent_collection_id_over_its_other_keys() -> None:
    pool = ValuePool()
    items = Operation(method="GET", path="/api/items")
    pool.add([{"id": "i-1", "slug": "first", "title": "First"}], operation=items)
    op, param = _op("/api/items/{item}", "item")

    assert pool.candidates(op, param) == ["i-1", "first", "First"]


def test_pool_takes_a_resource_qualified_name_only_from_the_resource_s_records() -> None:
    # Given books answer "title" and reviews answer "title" too
    pool = ValuePool()
    pool.add([{"title": "Review of X"}], operation=Operation(method="GET", path="/reviews"))
    pool.add([{"title": "Dune"}], operation=Operation(method="GET", path="/books"))
    op, param = _op("/books/{book_title}", "book_title")

    # Then {book_title} takes a book's title, never a review's
    assert pool.candidates(op, param) == ["Dune"]


def test_pool_prefers_the_same_resource_for_a_generic_name() -> None:
    pool = ValuePool()
    pool.add([{"name": "Review"}], operation=Operation(method="GET", path="/reviews"))
    pool.add([{"name": "shelf"}], operation=Operation(method="GET", path="/v2/wishlists"))
    op, param = _op("/v2/wishlists/{name}", "name")

    assert pool.candidates(op, param) == ["shelf", "Review"]


def test_pool_prefers_the_records_of_the_scanning_identity() -> None:
    pool = ValuePool()
    listing = [{"id": "i-bob", "owner": "u-bob"}, {"id": "i-alice", "owner": "u-alice"}]
    pool.add(listing, operation=Operation(method="GET", path="/items"))
    op, param = _op("/items/{item_id}", "item_id")

    assert pool.candidates(op, param, prefer={"u-alice"})[0] == "i-alice"
    assert pool.candidates(op, param)[0] == "i-bob"


def test_pool_reports_per_user_values_one_identity_sees_and_the_other_does_not() -> None:
    # Given alice lists her wishlist and a shared catalogue entry; bob lists only the entry
    pool = ValuePool()
    lists = Operation(method="GET", path="/wishlists")
    pool.add([{"title": "alice-birthday"}, {"title": "catalogue"}], operation=lists, identity="a")
    theirs = values_in([{"title": "catalogue"}])

    assert pool.per_user("a", theirs) == {"alice-birthday"}
    assert pool.per_user("a", theirs | {"alice-birthday"}) == set()
    assert pool.seen_by("catalogue") == {"a"}


def test_pool_bounds_what_a_hostile_answer_can_make_it_keep() -> None:
    pool = ValuePool(max_nodes=100, per_key=3, max_length=20)
    hostile = {"rows": [{"id": n, "note": "x" * 50, "t": "a\nb"} for n in range(10_000)]}
    deep: dict[str, object] = {"id": "deep"}
    for _ in range(10_000):
        deep = {"next": deep}

    pool.add(hostile)
    pool.add(deep)

    assert [s.value for s in pool.values("id")] == ["0", "1", "2"]
    assert pool.values("note") == [] and pool.values("t") == []
    assert len(pool) == 3


def test_resource_of_skips_version_segments() -> None:
    assert resource_of("/books/v1/{book_title}", "book_title") == "books"
    assert resource_of("/api/v2/wishlists") == "wishlists"
    assert resource_of("/users/{id}/orders") == "orders"


async def test_baseline_reads_a_record_by_a_non_id_field_its_listing_gave() -> None:
    # Given VAmPI's books: the listing names each book by its title, the record is read by it
    book = Operation(
        method="GET",
        path="/books/v1/{book_title}",
        parameters=(Parameter(name="book_title", location="path", required=True),),
    )
    sender = FakeSender(
        {
            ("GET", "/books/v1"): response(200, BOOKS_BODY),
            ("GET", "/books/v1/bookTitle77"): response(200, {"book_title": "bookTitle77"}),
        }
    )

    baseline = await build_baseline(sender, Surface(BASE, (BOOKS, book)), root=None, identity="a")

    exchange = baseline.exchanges[book.key]
    assert exchange.request.url == BASE + "/books/v1/bookTitle77" and exchange.ok
    assert baseline.pool.seen_by("bookTitle77") == {"a"}


def test_pool_leaves_natural_key_guesses_out_when_asked() -> None:
    # Given a directory listing display names only: a {user_id} with a declared example
    pool = ValuePool()
    pool.add({"users": [{"name": "Alice"}]}, operation=Operation(method="GET", path="/api/users"))
    op, param = _op("/api/users/{user_id}", "user_id")

    assert pool.candidates(op, param) == ["Alice"]
    assert pool.candidates(op, param, guesses=False) == []


def test_pool_keeps_each_resource_s_ids_however_many_others_came_first() -> None:
    pool = ValuePool(per_key=2)
    for name in ("alpha", "beta", "gamma"):
        rows = [{"id": f"{name}-{n}"} for n in range(5)]
        pool.add(rows, operation=Operation(method="GET", path=f"/{name}"))
    op, param = _op("/gamma/{gamma_id}", "gamma_id")

    assert pool.candidates(op, param) == ["gamma-0", "gamma-1"]


def test_pool_keeps_more_of_the_identity_s_own_records_but_not_without_bound() -> None:
    pool = ValuePool(per_key=1)
    rows = [{"id": f"i-{n}", "owner": "u-alice"} for n in range(40)]
    pool.add(rows, operation=Operation(method="GET", path="/items"), prefer={"u-alice"})

    assert len(pool.values("id")) == 8


def test_pool_offers_only_values_that_fit_the_parameter_s_schema() -> None:
    pool = ValuePool()
    pool.add([{"id": "abc"}, {"id": 42}], operation=Operation(method="GET", path="/items"))
    integer = Parameter(name="id", location="path", required=True, schema={"type": "integer"})
    text = Parameter(name="id", location="path", required=True, schema={"type": "string"})
    op = Operation(method="GET", path="/items/{id}", parameters=(integer,))

    assert pool.candidates(op, integer) == ["42"]
    assert pool.candidates(op, text) == ["abc", "42"]
