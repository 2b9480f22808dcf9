"""HTTP front end: user HTTP triggers on aiohttp, converted to/from ``func.HttpRequest``/``HttpResponse``.

Durable engine routes are registered on the same ``web.Application`` *before* the user catch-all
(aiohttp resolves routes in registration order).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict

from devhost.bindings import binding_data_from_json
from devhost.indexer import FunctionInfo, IndexedApp
from devhost.invoker import FunctionInvocationError, Invoker
from devhost.routes import RouteTable, RouteTemplate, join_route

logger = logging.getLogger("devhost.http")

ALL_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE")


@dataclass
class HttpRoute:
    """A user HTTP function as served: its template (prefix included) and methods (None: all)."""

    function: FunctionInfo
    template: RouteTemplate
    methods: tuple[str, ...] | None


def function_methods(function: FunctionInfo) -> tuple[str, ...] | None:
    """Upper-case methods of an HTTP trigger (None means every method)."""
    methods = getattr(function.trigger, "methods", None)
    if not methods:
        return None
    return tuple(str(getattr(m, "value", m)).upper() for m in methods)


def build_route_table(app: IndexedApp) -> tuple[RouteTable[HttpRoute], list[HttpRoute]]:
    """Parse every HTTP trigger's route (default: the function name) under the route prefix."""
    table: RouteTable[HttpRoute] = RouteTable()
    routes: list[HttpRoute] = []
    for function in app.by_trigger("httpTrigger"):
        route = getattr(function.trigger, "route", None) or function.name
        template_text = join_route(app.route_prefix, route)
        methods = function_methods(function)
        try:
            template = RouteTemplate.parse(template_text)
        except ValueError as exc:
            raise ValueError(f"function '{function.name}': invalid route '{route}': {exc}") from exc
        entry = HttpRoute(function, template, methods)
        table.add(template_text, methods, entry)
        routes.append(entry)
    return table, routes


def _headers(request: web.Request) -> dict[str, str]:
    combined: dict[str, str] = {}
    for key, value in request.headers.items():
        lowered = key.lower()
        combined[lowered] = f"{combined[lowered]}, {value}" if lowered in combined else value
    return combined


def to_func_request(request: web.Request, body: bytes, route_params: Mapping[str, str]) -> func.HttpRequest:
    """An aiohttp request as ``func.HttpRequest`` (query: last value wins per name, like the worker)."""
    params = {key: value for key, value in request.query.items()}
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=_headers(request),
        params=params,
        route_params=dict(route_params),
        body=body,
    )


def to_web_response(value: Any, function_name: str) -> web.Response:
    """Convert what the function returned into an aiohttp response."""
    if value is None:
        return web.Response(status=204)
    if isinstance(value, func.HttpResponse):
        headers: CIMultiDict[str] = CIMultiDict()
        for key, header_value in value.headers.items():
            headers.add(key, header_value)
        if "content-type" not in headers:
            mimetype = value.mimetype or "text/plain"
            charset = value.charset
            headers["Content-Type"] = f"{mimetype}; charset={charset}" if charset else mimetype
        return web.Response(status=value.status_code, body=value.get_body(), headers=headers)
    if isinstance(value, str):
        return web.Response(status=200, text=value, content_type="text/plain")
    if isinstance(value, bytes | bytearray):
        return web.Response(status=200, body=bytes(value), content_type="application/octet-stream")
    raise TypeError(f"function '{function_name}' returned {type(value).__name__}; expected func.HttpResponse or str")


class UserRoutes:
    """The catch-all aiohttp handler dispatching to user HTTP functions."""

    def __init__(self, app: IndexedApp, invoker: Invoker) -> None:
        self.app = app
        self.invoker = invoker
        self.table, self.routes = build_route_table(app)

    def add_to(self, web_app: web.Application) -> None:
        """Register the catch-all; call after every more specific route (e.g. the durable API)."""
        # [\s\S]: "." would not match a newline (an encoded %0A in the path), leaving aiohttp's plain 404.
        web_app.router.add_route("*", "/{devhost_tail:[\\s\\S]*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        match = self.table.match(request.method, request.path)
        if match is None:
            return web.Response(status=404)
        route = match.target
        try:
            body = await request.read()
            func_request = to_func_request(request, body, match.route_params)
            data: dict[str, Any] = binding_data_from_json(body)
            data.update(match.route_params)
            data["query"] = dict(request.query)
            data["headers"] = dict(func_request.headers)
            result = await self.invoker.invoke(
                route.function, func_request, binding_data=data, reason=f"HTTP {request.method} {request.path}"
            )
            return to_web_response(result.value, route.function.name)
        except FunctionInvocationError as exc:
            # Already logged with its traceback by the invoker.
            return host_error_response(route.function.name, exc.invocation_id)
        except Exception:
            logger.exception("Serving '%s' failed", route.function.name)
            return host_error_response(route.function.name, None)


def host_error_response(function_name: str, invocation_id: str | None) -> web.Response:
    """Azure's error JSON for a function that failed: a 500 that names the function, not its internals.

    A 5xx for a caller's mistake is a bug of the app to fix; the host still never shows a traceback.
    """
    where = f" (invocation {invocation_id})" if invocation_id else ""
    return internal_error(f"The function '{function_name}' failed{where}; the host log has the details.")


def internal_error(message: str) -> web.Response:
    """Azure's error JSON, status 500, with ``x-ms-error-code``."""
    return web.json_response(
        {"error": {"code": "InternalServerError", "message": message, "details": []}},
        status=500, headers={"x-ms-error-code": "InternalServerError"},
    )


def describe_routes(routes: Iterable[HttpRoute], base_url: str) -> list[str]:
    """``name: [GET,POST] http://host:port/api/route`` lines for the startup banner."""
    lines = []
    for route in routes:
        methods = ",".join(route.methods) if route.methods else ",".join(ALL_METHODS[:5])
        lines.append(f"{route.function.name}: [{methods}] {base_url.rstrip('/')}/{route.template.template.strip('/')}")
    return lines


@web.middleware
async def json_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Whatever escapes a handler (the Durable API while storage is away...) becomes Azure's error JSON
    500 instead of aiohttp's plain-text page; the traceback goes to the log only."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException:
        raise
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return internal_error("The host failed to serve this request; its log has the details.")
