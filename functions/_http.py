"""HTTP mapping shared by every route: the only place HttpResponse bodies are built.

``api_handler`` wraps a route's user function: it checks the subscription key (401) and the
``api-version`` (400), runs the handler, turns any ``AppError`` into Azure's error JSON (with the
``x-ms-error-code`` header) and any other exception into a logged, generic 500.

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
from shared.errors import AppError, InvalidRequest
from shared.service.api_versions import check_api_version
from shared.service.auth import SUBSCRIPTION_KEY_HEADER, check_subscription_key
from shared.service.paging import PageRequest, next_link, paginate

log = logging.getLogger(__name__)

ROUTE_PREFIX = "language"
"""host.json ``extensions.http.routePrefix``."""
PROJECTS_ROUTE = "authoring/analyze-text/projects"
"""Route of the projects collection; every authoring route starts with it."""

JSON_MIME = "application/json; charset=utf-8"
ERROR_CODE_HEADER = "x-ms-error-code"

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


def error_response(error: AppError) -> func.HttpResponse:
    """Azure's error JSON ``{"error": {code, message, target, details}}`` with ``x-ms-error-code``."""
    return json_response({"error": error.to_dict()}, status=error.status, headers={ERROR_CODE_HEADER: error.code})


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


def read_json(req: func.HttpRequest, *, required: bool = True) -> Any:
    """The request body parsed as JSON (None when empty and not required).

    Raises:
        InvalidRequest: naming the problem (empty body, not UTF-8, JSON syntax error and where).
    """
    raw = req.get_body() or b""
    if not raw.strip():
        if required:
            raise InvalidRequest(message="The request body is empty; a JSON object is required.")
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidRequest(message=f"The request body is not UTF-8 encoded: {exc.reason} at byte {exc.start}.") from exc
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            message=f"The request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc


def api_version(req: func.HttpRequest) -> str:
    """The request's (validated) ``api-version``."""
    return check_api_version(req.params.get("api-version"))


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
