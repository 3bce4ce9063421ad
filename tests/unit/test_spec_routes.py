"""Path templates indexed by segment: which template routes a path, as a router would."""

from __future__ import annotations

from middlebrick.spec.routes import Routes, is_template, segments


def test_routes_give_the_template_that_would_serve_a_path() -> None:
    routes = Routes(["/users/{id}", "/users/me", "/v1/orders/{order}/items"])
    assert routes.template("/users/me") == "/users/me"  # the static one first
    assert routes.template("/users/7") == "/users/{id}"
    assert routes.template("/users/7/") == "/users/{id}"
    assert routes.template("/v1/orders/9/items") == "/v1/orders/{order}/items"
    assert routes.template("/v1/orders/9") is None
    assert routes.template("/users") is None


def test_routes_route_a_template_only_through_templates() -> None:
    routes = Routes(["/users/{id}", "/users/me"])
    assert routes.serves("/users/{user_id}")
    assert not Routes(["/users/me"]).serves("/users/{user_id}")


def test_routes_say_whether_a_documented_path_goes_on_with_a_segment() -> None:
    routes = Routes(["/v2/users/{id}", "/users/me"])
    assert routes.has_child(["", "users"], "me")
    assert not routes.has_child(["", "users"], "export")
    assert routes.has_child(["", "v2", "users"], "{id}") is False  # templates are not literal
    assert routes.has_child([""], "v2") and not routes.has_child([""], "v1")


def test_routes_keep_a_literal_segment_apart_from_templates() -> None:
    routes = Routes(["/a/{}"])  # "{}" is not a template: a literal segment
    assert routes.serves("/a/{}") and not routes.serves("/a/x")
    assert not is_template("{}") and is_template("{id}")
    assert segments("/a/b/") == ["", "a", "b"]
