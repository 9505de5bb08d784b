"""The application's API routes as full paths, whatever FastAPI's version: what the OpenAPI rewrite and the ``405``
answer's ``Allow`` both need to know; and the index that sends a request only to the routes its path can match."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import fastapi.routing
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, compile_path
from starlette.types import Receive, Scope, Send

__all__ = ["SegmentIndex", "allowed_methods", "api_routes", "index_routes"]


def api_routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Every API route with its full path. Newer FastAPI keeps included routers whole rather than copying their
    routes into the application's list, and walks them with ``iter_route_contexts``; older FastAPI has no such
    function and a flat list."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if contexts is None:
        yield from ((route.path_format, route) for route in app.routes if isinstance(route, APIRoute))
        return
    for context in contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path_format:
            yield context.path_format, route


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route takes at ``path``, sorted. Starlette's own ``405`` names only the methods of the first
    route whose path matches, while a path is often served by several (``GET`` and ``POST /v1/payments``)."""
    methods: set[str] = set()
    for path_format, route in api_routes(app):
        pattern, _, _ = compile_path(path_format)
        if pattern.match(path):
            methods.update(route.methods or ())
    return sorted(methods)


def index_routes(app: FastAPI) -> None:
    """Route ``app``'s requests through a ``SegmentIndex`` (call it once every router is included)."""
    router = app.router
    if router.middleware_stack != router.app:  # a router-level middleware would be skipped: refuse, loudly
        raise RuntimeError("the application's router has a middleware of its own; the route index would skip it")
    router.middleware_stack = SegmentIndex(router)


class SegmentIndex:
    """The application's router, walking only the routes that can match a request's first two path segments.

    FastAPI (0.16x) keeps each included router whole and, for every request, walks the included routers one by one,
    each route's match wrapped in bookkeeping of the request's scope: some 6 µs a route. Kleline's 86 top-level
    routes (83 included routers, about 300 routes) cost 340 µs to reach ``/dashboard/payments`` and 525 µs to reach
    ``/health/live``, the last: most of what a trivial request costs the worker.

    A route whose paths begin with literal segments can only match a path that begins with the same ones. So the
    index keeps, for each (first, second) segment pair of Kleline's paths (``("dashboard", "payments")``), the
    top-level routes that may match it, in their order, and lets FastAPI's own router walk those: a shallow copy of
    it whose route list is the shorter one. What the router does is unchanged: the first matching route wins, as in
    the whole list, since the routes left out cannot match; a path that matches a route but not its method gets the
    same ``405``; the redirection to the path with or without its final slash stays within the pair (``/a/b/`` and
    ``/a/b``, ``/a/`` and ``/a`` have the same); a path that no route takes gets the same ``404``. A route whose
    first segment is a parameter is kept for every path; one whose second is, for every path under its first.
    ``scope["router"]`` stays the whole router, so that ``url_for`` finds every route. The index is rebuilt when a
    route is added to the router after it was made.
    """

    def __init__(self, router: APIRouter) -> None:
        self._router = router
        self._built_for: tuple[int, int] | None = None
        self._by_pair: dict[tuple[str, str], APIRouter] = {}
        self._by_first: dict[str, APIRouter] = {}
        self._elsewhere = router

    def candidates(self, path: str) -> list[BaseRoute]:
        """The top-level routes a request for ``path`` is matched against, in the router's order."""
        return self._narrowed(path).routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._router.app(scope, receive, send)
            return
        scope.setdefault("router", self._router)
        await self._narrowed(get_route_path(scope)).app(scope, receive, send)

    def _narrowed(self, path: str) -> APIRouter:
        routes = self._router.routes
        if self._built_for != (id(routes), len(routes)):
            self._build(routes)
        first, second = _pair(path)
        narrowed = self._by_pair.get((first, second))
        if narrowed is not None:
            return narrowed
        return self._by_first.get(first, self._elsewhere)

    def _build(self, routes: list[BaseRoute]) -> None:
        keys = [_route_keys(route) for route in routes]

        def taking(first: str | None, second: str | None) -> APIRouter:
            kept = [
                route
                for route, pairs in zip(routes, keys, strict=True)
                if pairs is None
                or (first is not None and ((first, None) in pairs or (second is not None and (first, second) in pairs)))
            ]
            narrowed = copy.copy(self._router)
            narrowed.routes = kept
            return narrowed

        pairs = {pair for route_pairs in keys if route_pairs is not None for pair in route_pairs}
        self._by_pair = {(f, s): taking(f, s) for f, s in pairs if s is not None}
        self._by_first = {f: taking(f, None) for f, _ in pairs}
        self._elsewhere = taking(None, None)
        self._built_for = (id(routes), len(routes))


def _pair(path: str) -> tuple[str, str]:
    """A path's first two segments (``""`` for one it does not have): ``/a/b/c`` is (a, b), ``/a`` and ``/a/`` are
    (a, "")."""
    parts = path.split("/", 3)
    return parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""


def _route_keys(route: BaseRoute) -> frozenset[tuple[str, str | None]] | None:
    """The (first, second) segment pairs of the paths ``route`` (or, for an included router, any of its routes)
    takes, the second None where it is a parameter; or None when a first segment is a parameter or a path unknown
    (the route is then tried for every path)."""
    included = getattr(route, "original_router", None)
    if getattr(included, "_low_priority_routes", None):  # an included router's fallback routes: any path
        return None
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    formats = [getattr(route, "path_format", None)] if contexts is None else [c.path_format for c in contexts([route])]
    keys: set[tuple[str, str | None]] = set()
    for path_format in formats:
        if not path_format or not path_format.startswith("/"):
            return None
        first, second = _pair(path_format)
        if "{" in first:
            return None
        keys.add((first, None if "{" in second else second))
    return frozenset(keys) if keys else None
