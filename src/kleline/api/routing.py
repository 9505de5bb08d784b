"""The application's API routes as full paths, whatever FastAPI's version: what the OpenAPI rewrite and the ``405``
answer's ``Allow`` both need to know."""

from __future__ import annotations

from collections.abc import Iterator

import fastapi.routing
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import compile_path

__all__ = ["allowed_methods", "api_routes"]


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
