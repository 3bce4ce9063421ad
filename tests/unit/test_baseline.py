"""The baseline: waves of realistic requests, ids harvested from earlier answers, own ids first."""

from __future__ import annotations

from middlebrick.baseline import build_baseline
from middlebrick.http.exchange import Request, Response
from middlebrick.spec.model import Operation, Parameter, Surface
from middlebrick.testing import BASE, FakeSender, response

ITEMS = Operation(method="GET", path="/items")
ME = Operation(method="GET", path="/users/me")
ITEM = Operation(
    method="GET",
    path="/items/{item_id}",
    parameters=(Parameter(name="item_id", location="path", required=True),),
)
LISTING = [
    {"id": "i-bob-1", "owner": "u-bob", "name": "bob's"},
    {"id": "i-alice-1", "owner": "u-alice", "name": "alice's"},
]


def _sender() -> FakeSender:
    def item(request: Request) -> Response:
        wanted = request.url.rsplit("/", 1)[1]
        mine = next((i for i in LISTING if i["id"] == wanted and i["owner"] == "u-alice"), None)
        return response(200, mine) if mine else response(404, {"detail": "not yours"})

    return FakeSender(
        {
            ("GET", "/items"): response(200, LISTING),
            ("GET", "/users/me"): response(200, {"user_id": "u-alice", "name": "Alice"}),
            ("GET", "/items/i-alice-1"): item,
            ("GET", "/items/i-bob-1"): item,
        }
    )


async def test_baseline_fills_path_ids_from_the_parent_collection() -> None:
    surface = Surface(base_url=BASE, operations=(ITEMS, ITEM))
    baseline = await build_baseline(_sender(), surface, root=None)
    assert baseline.exchanges[ITEM.key].request.url == BASE + "/items/i-bob-1"


async def test_baseline_prefers_the_objects_of_the_identity_named_by_its_token() -> None:
    surface = Surface(base_url=BASE, operations=(ITEMS, ITEM))
    baseline = await build_baseline(_sender(), surface, root=None, own={"u-alice"})
    exchange = baseline.exchanges[ITEM.key]
    assert exchange.request.url == BASE + "/items/i-alice-1" and exchange.ok


async def test_baseline_learns_who_it_is_from_a_me_operation() -> None:
    surface = Surface(base_url=BASE, operations=(ITEMS, ME, ITEM))
    baseline = await build_baseline(_sender(), surface, root=None)
    assert baseline.exchanges[ITEM.key].request.url == BASE + "/items/i-alice-1"


async def test_baseline_fills_a_resource_s_path_with_the_ids_owns_gives_for_it() -> None:
    # Given --owns alice=items:i-alice-1 and a listing whose first record is bob's
    surface = Surface(base_url=BASE, operations=(ITEMS, ITEM))

    baseline = await build_baseline(_sender(), surface, root=None, owned={"items": ["i-alice-1"]})

    assert baseline.exchanges[ITEM.key].request.url == BASE + "/items/i-alice-1"


async def test_baseline_ignores_ids_owns_gives_for_another_resource() -> None:
    surface = Surface(base_url=BASE, operations=(ITEMS, ITEM))

    baseline = await build_baseline(_sender(), surface, root=None, owned={"books": ["b-1"]})

    assert baseline.exchanges[ITEM.key].request.url == BASE + "/items/i-bob-1"


async def test_baseline_matches_a_parameter_name_across_conventions() -> None:
    # Given /orders answers user_id, and /users/{userId}/cart is spelled in camelCase
    orders = Operation(method="GET", path="/orders")
    cart = Operation(
        method="GET",
        path="/users/{userId}/cart",
        parameters=(Parameter(name="userId", location="path", required=True),),
    )
    sender = FakeSender(
        {
            ("GET", "/orders"): response(200, [{"order_id": "o-1", "user_id": "u-7"}]),
            ("GET", "/users/u-7/cart"): response(200, {"lines": []}),
        }
    )

    baseline = await build_baseline(sender, Surface(BASE, (orders, cart)), root=None)

    assert baseline.exchanges[cart.key].request.url == BASE + "/users/u-7/cart"
