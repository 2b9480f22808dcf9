"""The catch-all under /language/ (issue 10 #6): 404 for unknown paths, 405 for wrong methods, Azure's error JSON.

Uses the real ``function_app.app``: the catch-all must know every route registered before it.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import azure.functions as func
import pytest

import function_app
from functions import fallback_api

KEY = "fallback-key"
BASE = "http://localhost:7071/language/"


@pytest.fixture(autouse=True)
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE_API_KEYS", KEY)


@functools.cache
def app_functions() -> list[Any]:
    """The app's functions, as the worker indexes them (get_functions() may run once per app)."""
    return list(function_app.app.get_functions())


def catch_all(method: str, path: str, key: str | None = KEY) -> func.HttpResponse:
    functions = {f.get_function_name(): f for f in app_functions()}
    trigger = functions["unknown_route"].get_trigger()
    assert trigger.route == "{*path}"
    headers = {"Ocp-Apim-Subscription-Key": key} if key else {}
    req = func.HttpRequest(method, BASE + path, headers=headers, params={}, route_params={"path": path}, body=b"")
    response: func.HttpResponse = functions["unknown_route"].get_user_function()(req)
    return response


def error_of(response: func.HttpResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["x-ms-error-code"] == code
    body = json.loads(response.get_body())
    assert set(body) == {"error"} and body["error"]["code"] == code
    return dict(body["error"])


def test_the_catch_all_is_registered_last() -> None:
    names = [f.get_function_name() for f in app_functions()]
    assert names[-1] == "unknown_route"


@pytest.mark.parametrize(
    "path",
    ["nope", "authoring/analyze-text/projects/p1/nothing", "authoring/analyze-text/projects/p1/train/jobs/j/x/y", ""],
)
def test_unknown_paths_are_404_in_azure_error_json(path: str) -> None:
    error = error_of(catch_all("GET", path), 404, "NotFound")
    assert "/language/authoring/analyze-text/projects/" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "authoring/analyze-text/projects/p1", "DELETE, GET, PATCH"),
        ("PUT", "authoring/analyze-text/projects", "GET"),
        ("GET", "authoring/analyze-text/projects/p1/:train", "POST"),
        ("DELETE", "authoring/analyze-text/projects/p1/models/m1/evaluation/summary-result", "GET"),
        ("POST", "AUTHORING/analyze-text/projects/global/languages", "GET"),
    ],
)
def test_known_paths_with_a_wrong_method_are_405_with_allow(method: str, path: str, allowed: str) -> None:
    response = catch_all(method, path)
    error = error_of(response, 405, "InvalidRequest")
    assert response.headers["Allow"] == allowed
    assert method in error["message"] and allowed in error["message"]


def test_the_key_is_checked_first() -> None:
    error_of(catch_all("GET", "nope", key=None), 401, "Unauthorized")
    error_of(catch_all("POST", "authoring/analyze-text/projects/p1", key="wrong"), 401, "Unauthorized")


def test_route_matching_handles_parameters_and_catch_alls() -> None:
    match = fallback_api._path_matches
    assert match(("a", "{x}", ":train"), ("A", "p", ":TRAIN"))
    assert not match(("a", "{x}"), ("a",))
    assert match(("a", "{*rest}"), ("a", "b", "c")) and match(("a", "{*rest}"), ("a",))
    assert not match(("a", "{*rest}"), ("b",))
