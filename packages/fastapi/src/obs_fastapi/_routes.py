"""Route templates and per-route attributes, computed once per route and cached.

Two sources, both read after routing:

- FastAPI releases with native telemetry report the full template as they route (included
  routers and mounts included) to the object in ``scope["fastapi.telemetry"]``; obs hands them
  its own (see ``_native.py``) and reads ``.route`` back.
- Otherwise (Starlette apps, older FastAPI) the router leaves the innermost matched route in
  ``scope["route"]``; ``RouteTable`` maps each route object of the app's tree, mounts walked, to
  its full template, built on first use and rebuilt when an unknown route shows up.

Never the raw path: an unmatched request has no template, and its span is named by the method.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.util.types import AttributeValue

_MAX_ENTRIES = 10_000
_NO_ATTRIBUTES: Mapping[str, AttributeValue] = {}


def _routes_of(obj: Any) -> list[Any] | None:
    """The routes of an app, router, or of an app wrapped in middleware (``.app`` chain)."""
    seen = 0
    while obj is not None and seen < 32:
        routes = getattr(obj, "routes", None)
        if isinstance(routes, list):
            return routes
        obj = getattr(obj, "router", None) or getattr(obj, "app", None)
        seen += 1
    return None


class RouteTable:
    """Full templates of the routes reachable from one app, keyed by route identity."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._lock = threading.Lock()
        # id(route) -> (route, template); the route is kept so a recycled id cannot match.
        self._templates: dict[int, tuple[Any, str | None]] = {}

    def template(self, route: Any) -> str | None:
        hit = self._templates.get(id(route))
        if hit is not None and hit[0] is route:
            return hit[1]
        return self._miss(route)

    def _miss(self, route: Any) -> str | None:
        with self._lock:
            table: dict[int, tuple[Any, str | None]] = {}
            _walk(_routes_of(self._source) or [], "", table, 0)
            hit = table.get(id(route))
            if hit is None or hit[0] is not route:
                # Not reachable from the app (built on the fly): remember it has no template.
                hit = (route, None)
                table[id(route)] = hit
            if len(table) > _MAX_ENTRIES:
                table = {id(route): hit}
            self._templates = table
            return hit[1]


def _walk(
    routes: Iterable[Any], prefix: str, out: dict[int, tuple[Any, str | None]], depth: int
) -> None:
    from starlette.routing import Host, Mount

    if depth > 16:
        return
    for route in routes:
        if isinstance(route, Mount):
            out[id(route)] = (route, prefix + route.path + "/{path}")
            inner = _routes_of(route.app)
            if inner:
                _walk(inner, prefix + route.path, out, depth + 1)
        elif isinstance(route, Host):
            inner = _routes_of(route.app)
            if inner:
                _walk(inner, prefix, out, depth + 1)
        else:
            path_format = getattr(route, "path_format", None)
            if isinstance(path_format, str):
                out[id(route)] = (route, prefix + path_format)


class RouteAttributes:
    """``fastapi.route.name`` and ``code.function.name`` of a route, cached per route."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Any, Mapping[str, AttributeValue]]] = {}

    def get(self, route: Any) -> Mapping[str, AttributeValue]:
        if route is None:
            return _NO_ATTRIBUTES
        hit = self._cache.get(id(route))
        if hit is not None and hit[0] is route:
            return hit[1]
        attributes = _describe(route)
        if len(self._cache) >= _MAX_ENTRIES:
            self._cache.clear()
        self._cache[id(route)] = (route, attributes)
        return attributes


def _describe(route: Any) -> Mapping[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {}
    name = getattr(route, "name", None)
    if isinstance(name, str) and name:
        attributes["fastapi.route.name"] = name
    endpoint = getattr(route, "endpoint", None)
    if endpoint is not None:
        qualname = getattr(endpoint, "__qualname__", None) or type(endpoint).__qualname__
        module = getattr(endpoint, "__module__", None) or type(endpoint).__module__
        attributes["code.function.name"] = f"{module}.{qualname}" if module else qualname
    return attributes
