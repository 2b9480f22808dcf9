"""Catch-all under ``/language/``: an unknown route is a 404 and a known route with a method it does not
take is a 405, both in Azure's error JSON (the host's own answer would be an empty 404).

The catch-all matches every path and method, but routing prefers any literal or parameter route, so
it only runs when nothing else matched: either no route has this path (404) or some route has it with
other methods (405 with ``Allow``). Which routes exist is learnt from the app itself
(:func:`register_last` reads every HTTP function registered before it), so new route modules need
no change here. The subscription key is checked first, as on every route: anonymous callers learn
nothing about which paths exist.
"""

from collections.abc import Iterable, Sequence
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from shared.config import get_settings
from shared.errors import AppError, InvalidRequest, NotFound
from shared.service.auth import SUBSCRIPTION_KEY_HEADER, check_subscription_key

bp = df.Blueprint()

_ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_routes: list[tuple[tuple[str, ...], frozenset[str]]] = []
"""(template segments, methods) of every HTTP route of the app except this one."""


class MethodNotAllowed(InvalidRequest):
    status = 405


def _segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.strip("/").split("/") if part)


def _segment_matches(template: str, segment: str) -> bool:
    if template.startswith("{") and template.endswith("}"):
        return bool(segment)
    return template.lower() == segment.lower()


def _path_matches(template: Sequence[str], path: Sequence[str]) -> bool:
    if template and template[-1].startswith("{*"):
        return len(path) >= len(template) - 1 and all(map(_segment_matches, template[:-1], path))
    return len(template) == len(path) and all(map(_segment_matches, template, path))


def allowed_methods(path: str) -> list[str]:
    """The methods some route accepts for ``path`` (relative to the route prefix); empty if none."""
    parts = _segments(path)
    allowed: set[str] = set()
    for template, methods in _routes:
        if _path_matches(template, parts):
            allowed |= methods
    return sorted(allowed)


def known_routes() -> list[tuple[str, list[str]]]:
    """Every learnt route template (relative to the route prefix) with its methods (e.g. for fuzzing)."""
    return [("/".join(template), sorted(methods)) for template, methods in _routes]


def learn_routes(functions: Iterable[Any]) -> None:
    """Record the route and methods of every HTTP function in ``functions`` (built ``Function`` objects)."""
    learnt = []
    for function in functions:
        trigger = function.get_trigger() if hasattr(function, "get_trigger") else None
        route = getattr(trigger, "route", None)
        if route is None or getattr(trigger, "type", None) != "httpTrigger":
            continue
        methods = getattr(trigger, "methods", None) or _ALL_METHODS
        names = frozenset(str(getattr(method, "value", method)).upper() for method in methods)
        learnt.append((_segments(route), names))
    _routes[:] = learnt  # one app per process: a second indexing of it replaces, never doubles


def register_last(app: df.DFApp) -> None:
    """Learn the routes registered so far on ``app``, then register the catch-all (call it last)."""
    learn_routes(app.get_functions())
    # get_functions() remembers the names it saw to refuse duplicates; the worker calls it again when it
    # indexes the app, which must not find them "already seen".
    app.functions_bindings = {}
    app.register_functions(bp)


@bp.route(route="{*path}")
def unknown_route(req: func.HttpRequest) -> func.HttpResponse:
    """404 for a path no route has, 405 (with ``Allow``) for a method the path's routes do not take."""
    try:
        check_subscription_key(get_settings(), req.headers.get(SUBSCRIPTION_KEY_HEADER))
    except AppError as error:
        return _http.error_response(error)
    allowed = allowed_methods(req.route_params.get("path") or "")
    if not allowed:
        return _http.error_response(
            NotFound(
                message="Resource not found: no operation of this API has this path. Check the URL against "
                "the API reference (paths start with /language/authoring/analyze-text/projects/)."
            )
        )
    method = req.method.upper()[:10]
    refusal = MethodNotAllowed(
        message=f"The method {method} is not allowed on this path; it accepts {', '.join(allowed)}."
    )
    return _http.error_response(refusal, headers={"Allow": ", ".join(allowed)})
