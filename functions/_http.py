"""HTTP mapping shared by every route: the only place HttpResponse bodies are built.

``api_handler`` wraps a route's user function: it checks the subscription key (401), the
``api-version`` (400) and every path parameter against the naming rules (400, before any storage
call), runs the handler, turns any ``AppError`` into Azure's error JSON (with the ``x-ms-error-code``
header) and any other exception into a logged, generic 500. ``error_response`` is the one place every
error body leaves through, so it bounds what they echo (:func:`bounded_error`).

No ``from __future__ import annotations`` in ``functions/``: the Functions worker matches binding
parameters against their annotation objects, which must therefore be real types, not strings.
"""

import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlencode, urlsplit

import azure.functions as func

from shared.config import get_settings
from shared.errors import AppError, InvalidRequest, RequestTooLarge
from shared.ner.names import NAME_QUERY_PARAMETERS, check_route_names
from shared.service.api_versions import RUNTIME_API_VERSIONS, SUPPORTED_API_VERSIONS, check_api_version
from shared.service.auth import SUBSCRIPTION_KEY_HEADER, check_subscription_key
from shared.service.paging import PageRequest, next_link, paginate

log = logging.getLogger(__name__)

ROUTE_PREFIX = "language"
"""host.json ``extensions.http.routePrefix``."""
PROJECTS_ROUTE = "authoring/analyze-text/projects"
"""Route of the projects collection; every authoring route starts with it."""

JSON_MIME = "application/json; charset=utf-8"
ERROR_CODE_HEADER = "x-ms-error-code"

MAX_BODY_BYTES = 100 * 1024 * 1024
"""Largest request body parsed (the Functions host's own default request limit); larger is a 413."""
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays/objects accepted (project files nest 6 deep); deeper is a 400."""
MAX_MESSAGE_CHARACTERS = 2_000
"""An error's message (and each detail's) is cut to this; the field-naming part comes first."""
MAX_ERROR_DETAILS = 100

Handler = TypeVar("Handler", bound=Callable[..., Any])


# ------------------------------------------------------------------------------------------- responses


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """A JSON response."""
    return func.HttpResponse(
        body=json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers=dict(headers or {}),
        mimetype="application/json",
        charset="utf-8",
    )


def _cut(text: str, limit: int = MAX_MESSAGE_CHARACTERS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... (cut; {len(text):,} characters in all)"


def bounded_error(body: dict[str, Any]) -> dict[str, Any]:
    """An ``Error`` object with its message, target and details bounded (recursively).

    Messages quote client values through ``shared.ner.names.shown`` already; this is the backstop
    that keeps any error body small whatever a message quoted.
    """
    bounded = dict(body)
    bounded["message"] = _cut(str(body.get("message", "")))
    if isinstance(body.get("target"), str):
        bounded["target"] = _cut(body["target"], 200)
    details = body.get("details")
    if isinstance(details, list):
        bounded["details"] = [bounded_error(detail) for detail in details[:MAX_ERROR_DETAILS]]
    return bounded


def error_response(error: AppError, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """Azure's error JSON ``{"error": {code, message, target, details}}`` with ``x-ms-error-code``."""
    body = {"error": bounded_error(error.to_dict())}
    return json_response(body, status=error.status, headers={**(headers or {}), ERROR_CODE_HEADER: error.code})


def internal_error_response() -> func.HttpResponse:
    """A generic 500 that reveals nothing about the failure (the details are in the log)."""
    error = AppError(message="An unexpected error occurred while processing the request. Try again later.")
    return error_response(error)


RETRY_AFTER_SECONDS = "1"
"""Poll delay suggested to clients while a job runs. azure-core pollers honour ``Retry-After`` and would
otherwise wait their ``polling_interval`` (30 s in the authoring and 6.x runtime clients)."""
_TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled", "partiallyCompleted"})


def accepted(operation_location: str) -> func.HttpResponse:
    """``202 Accepted`` with an empty body and the ``operation-location`` of the job to poll."""
    return func.HttpResponse(
        status_code=202, headers={"operation-location": operation_location, "Retry-After": RETRY_AFTER_SECONDS}
    )


def job_response(body: dict[str, Any]) -> func.HttpResponse:
    """A job's status JSON, with ``Retry-After`` while the job has not ended."""
    headers = {} if body.get("status") in _TERMINAL_STATUSES else {"Retry-After": RETRY_AFTER_SECONDS}
    return json_response(body, headers=headers)


def no_content() -> func.HttpResponse:
    return func.HttpResponse(status_code=204)


def paged_response(req: func.HttpRequest, items: Sequence[Any], to_public: Callable[[Any], Any]) -> func.HttpResponse:
    """One page of ``items`` as ``{"value": [...], "nextLink": url | null}`` per the request's paging params."""
    chunk, following = paginate(items, PageRequest.from_query(req.params))
    link = next_link(req.url, following, dict(req.params)) if following is not None else None
    return json_response({"value": [to_public(item) for item in chunk], "nextLink": link})


# -------------------------------------------------------------------------------------------- requests


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _check_depth(value: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_JSON_DEPTH` (iteratively: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > MAX_JSON_DEPTH:
            raise InvalidRequest(
                message=f"The request body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep."
            )
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def parse_json_body(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no ``NaN``/``Infinity`` (nor numbers that overflow to them), bounded size and depth.

    Python's ``json`` accepts ``NaN`` and ``Infinity``, which would then be stored and re-emitted as
    invalid JSON; deep nesting would exhaust the recursion limit (a 500), so both are refused here.

    Raises:
        RequestTooLarge: the body is over :data:`MAX_BODY_BYTES`.
        InvalidRequest: naming the problem (not UTF-8, syntax error and where, NaN, too deep).
    """
    if len(raw) > MAX_BODY_BYTES:
        raise RequestTooLarge(
            message=f"The request body has {len(raw):,} bytes; the limit is {MAX_BODY_BYTES:,} bytes."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(message=f"The request body is not UTF-8 encoded: {exc.reason} at byte {exc.start}.") from exc
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            message=f"The request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    except RecursionError as exc:
        raise InvalidRequest(
            message=f"The request body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep."
        ) from exc
    except ValueError as exc:  # NaN/Infinity, overflowing floats, integers over Python's digit limit
        raise InvalidRequest(message=f"The request body is not valid JSON: {str(exc)[:200]}.") from exc
    _check_depth(value)
    return value


def read_json(req: func.HttpRequest, *, required: bool = True) -> Any:
    """The request body parsed as strict JSON (None when empty and not required); see :func:`parse_json_body`.

    Raises:
        InvalidRequest: naming the problem (empty body, not UTF-8, JSON syntax error and where, ...).
        RequestTooLarge: the body is too large.
    """
    raw = req.get_body() or b""
    if not raw.strip():
        if required:
            raise InvalidRequest(message="The request body is empty; a JSON object is required.")
        return None
    return parse_json_body(raw)


def api_version(req: func.HttpRequest) -> str:
    """The request's (validated) ``api-version``; the runtime routes (``analyze-text/...``) take one more."""
    runtime = urlsplit(req.url).path.startswith(f"/{ROUTE_PREFIX}/analyze-text/")
    return check_api_version(req.params.get("api-version"), RUNTIME_API_VERSIONS if runtime else SUPPORTED_API_VERSIONS)


def route(req: func.HttpRequest, name: str) -> str:
    """A route parameter (always present: the route template defines it)."""
    return req.route_params[name]


def projects_url(req: func.HttpRequest, path: str = "") -> str:
    """Absolute URL of ``authoring/analyze-text/projects/<path>`` on the request's origin, with its api-version.

    Path segments are percent-encoded except ``/`` and ``:`` (``:train`` style actions stay literal).
    """
    parts = urlsplit(req.url)
    suffix = f"/{quote(path, safe='/:')}" if path else ""
    query = urlencode({"api-version": api_version(req)})
    return f"{parts.scheme}://{parts.netloc}/{ROUTE_PREFIX}/{PROJECTS_ROUTE}{suffix}?{query}"


def link_builder(req: func.HttpRequest) -> Callable[[str], str]:
    """``projects_url`` bound to ``req`` (for services that put URLs into job records)."""
    return functools.partial(projects_url, req)


# ------------------------------------------------------------------------------------------ decorator


def _precheck(req: func.HttpRequest) -> None:
    check_subscription_key(get_settings(), req.headers.get(SUBSCRIPTION_KEY_HEADER))
    api_version(req)
    named = {key: req.params[key] for key in NAME_QUERY_PARAMETERS if req.params.get(key)}
    check_route_names({**req.route_params, **named})


def _request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> func.HttpRequest:
    candidate = kwargs.get("req", args[0] if args else None)
    if not isinstance(candidate, func.HttpRequest):
        raise TypeError("api_handler: the decorated function needs an HttpRequest parameter named 'req'")
    return candidate


def _describe(req: func.HttpRequest) -> str:
    return f"{req.method} {urlsplit(req.url).path}"


def api_handler(handler: Handler) -> Handler:
    """Authenticate, validate ``api-version`` and map errors for one HTTP route (sync or async).

    Apply it closest to the ``def``, below the blueprint decorators; ``functools.wraps`` keeps the
    signature the worker binds parameters by.
    """
    if inspect.iscoroutinefunction(handler):
        async_handler = cast(Callable[..., Awaitable[func.HttpResponse]], handler)

        @functools.wraps(handler)
        async def async_wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
            req = _request_of(args, kwargs)
            try:
                _precheck(req)
                return await async_handler(*args, **kwargs)
            except AppError as error:
                return error_response(error)
            except Exception:
                log.exception("unhandled error in %s", _describe(req))
                return internal_error_response()

        return cast(Handler, async_wrapper)

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        req = _request_of(args, kwargs)
        try:
            _precheck(req)
            response: func.HttpResponse = handler(*args, **kwargs)
            return response
        except AppError as error:
            return error_response(error)
        except Exception:
            log.exception("unhandled error in %s", _describe(req))
            return internal_error_response()

    return cast(Handler, wrapper)
