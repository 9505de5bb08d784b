"""The route index (``kleline.api.routing.SegmentIndex``) sends every request where FastAPI's whole walk would.

For every path of every route of the application (each parameter filled in), with and without a final slash, and
for a few paths that no route takes, in every method: the route the index's shorter list matches first (fully, or
failing that partly: a ``405``) is the one the whole list matches first. Then over HTTP: a page, an API call, a
``405`` with its ``Allow``, a redirection to the path without its final slash, a ``404``, and a route added after
the index was made.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Match

from kleline.api.routing import SegmentIndex, api_routes

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
ODD_PATHS = (
    "/",
    "//",
    "/nope",
    "/nope/",
    "/v1",
    "/v1/",
    "/v1/nope",
    "/dashboard/",
    "/dashboard/nope",
    "/static",
    "/static/",
    "/wallet/",
    "/wallet/nope/deeper",
    "/health/",
    "/health/live/",
    "/malls/",
    "/checkout",
)


def _first_match(routes: list[BaseRoute], path: str, method: str) -> tuple[Match, BaseRoute | None]:
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": [], "query_string": b""}
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return match, route
        if match == Match.PARTIAL and partial is None:
            partial = route
    return (Match.PARTIAL, partial) if partial is not None else (Match.NONE, None)


def _sample_paths(app: FastAPI) -> set[str]:
    formats = {path for path, _ in api_routes(app)}
    formats |= {getattr(route, "path_format", "") for route in app.routes}
    formats |= {"/dashboard/payments", "/wallet/activity", "/malls/mall_x", "/static/kleline.css", "/receipts/x"}
    paths = set(ODD_PATHS)
    for path_format in formats:
        if not path_format:
            continue
        path = path_format
        while "{" in path:
            start = path.index("{")
            path = path[:start] + "x1" + path[path.index("}", start) + 1 :]
        paths |= {path, path.rstrip("/") + "/"}
    return paths


def test_every_path_reaches_the_route_the_whole_walk_reaches(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    index = app.router.middleware_stack
    assert isinstance(index, SegmentIndex)
    paths = _sample_paths(app)
    assert len(paths) > 300
    narrowed_to_few = 0
    for path in sorted(paths):
        candidates = index.candidates(path)
        assert len(candidates) <= len(app.router.routes)
        narrowed_to_few += len(candidates) <= 3
        for method in METHODS:
            whole = _first_match(app.router.routes, path, method)
            assert _first_match(candidates, path, method) == whole, (path, method)
    assert narrowed_to_few > len(paths) // 2  # the index does narrow: most paths try at most three routes


def test_requests_are_answered_as_before(client: TestClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    assert client.get("/v1/payments").status_code == 401  # the API's route, asking for its key
    page = client.get("/", headers={"accept-language": "en"})
    assert page.status_code == 200 and "Kleline" in page.text
    refused = client.delete("/health/live")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET"
    slash = client.get("/health/live/", follow_redirects=False)
    assert slash.status_code in (307, 308) and slash.headers["location"].endswith("/health/live")
    assert client.get("/nowhere/at/all").status_code == 404


def test_a_route_added_after_the_index_was_made_is_reached(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    assert client.get("/health/late").status_code == 404

    @app.get("/health/late")
    def late() -> dict[str, str]:
        return {"late": "yes"}

    assert client.get("/health/late").json() == {"late": "yes"}
