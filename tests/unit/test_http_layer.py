"""The HTTP layer without storage: real ``func.HttpRequest`` objects through the registered user functions.

Covers authentication, api-version checks, Azure's error JSON, body parsing, paging and URL building.
Every request here fails (or succeeds) before any storage call, so no Azurite is needed.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import azure.durable_functions as df
import azure.functions as func
import pytest

from functions import _http, global_api, models_api, operations, projects_api, training_api
from shared.config import load_settings
from shared.errors import ErrorDetail, InvalidArgument, InvalidRequest, Unauthorized
from shared.operations.requests import OperationRequest
from shared.service.api_versions import CLIENT_DEFAULT_API_VERSION, SUPPORTED_API_VERSIONS, check_api_version
from shared.service.auth import check_subscription_key
from shared.service.paging import PageRequest, next_link, paginate

BASE = "http://localhost:7071/language/authoring/analyze-text/projects"
KEY = "test-key-1"
# A syntactically valid durableClient binding; the requests below never reach the client.
CLIENT_BINDING = json.dumps(
    {"taskHubName": "UnitHub", "creationUrls": {}, "managementUrls": {}, "rpcBaseUrl": "http://127.0.0.1:9/"}
)


@pytest.fixture(autouse=True)
def api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE_API_KEYS", f"{KEY},test-key-2")


@pytest.fixture(scope="module")
def functions() -> dict[str, Any]:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for module in (projects_api, training_api, models_api, global_api, operations):
        app.register_functions(module.bp)
    return {f.get_function_name(): f.get_user_function() for f in app.get_functions()}


def call(functions: dict[str, Any], name: str, req: func.HttpRequest) -> func.HttpResponse:
    user_function = functions[name]
    kwargs: dict[str, Any] = {"req": req}
    if "client" in inspect.signature(user_function).parameters:
        kwargs["client"] = CLIENT_BINDING
    result = user_function(**kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    assert isinstance(result, func.HttpResponse)
    return result


def request(
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    key: str | None = KEY,
    body: bytes = b"",
    route_params: dict[str, str] | None = None,
    api_version: str | None = "2023-04-01",
) -> func.HttpRequest:
    query = dict(params or {})
    if api_version is not None:
        query["api-version"] = api_version
    headers = {"Ocp-Apim-Subscription-Key": key} if key is not None else {}
    url = f"{BASE}/{path}" if path else BASE
    if query:  # the worker's req.url carries the query string too
        url += "?" + urlencode(query)
    return func.HttpRequest(method, url, headers=headers, params=query, route_params=route_params or {}, body=body)


def error_of(response: func.HttpResponse) -> dict[str, Any]:
    assert response.mimetype == "application/json"
    body = json.loads(response.get_body())
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert response.headers["x-ms-error-code"] == error["code"]
    return error


# ------------------------------------------------------------------------------------------- auth


def test_missing_subscription_key_is_401_with_azure_error_json(functions: dict[str, Any]) -> None:
    response = call(functions, "list_supported_languages", request("GET", "global/languages", key=None))
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "Unauthorized"
    assert "Ocp-Apim-Subscription-Key" in error["message"]
    assert error["details"] == []


def test_wrong_subscription_key_is_401(functions: dict[str, Any]) -> None:
    response = call(functions, "get_project", request("GET", "p1", key="nope", route_params={"projectName": "p1"}))
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


def test_every_configured_key_is_accepted(functions: dict[str, Any]) -> None:
    for key in (KEY, "test-key-2"):
        response = call(functions, "list_supported_languages", request("GET", "global/languages", key=key))
        assert response.status_code == 200


def test_auth_is_checked_before_api_version(functions: dict[str, Any]) -> None:
    response = call(functions, "list_projects", request("GET", "", key=None, api_version=None))
    assert response.status_code == 401


def test_async_handler_with_durable_client_checks_auth(functions: dict[str, Any]) -> None:
    req = request("POST", "p1/:train", key="bad", body=b"{}", route_params={"projectName": "p1"})
    response = call(functions, "start_training_job", req)
    assert response.status_code == 401
    assert error_of(response)["code"] == "Unauthorized"


def test_non_ascii_key_is_rejected_not_crashing() -> None:
    settings = load_settings({"LANGUAGE_API_KEYS": "abc"})
    with pytest.raises(Unauthorized):
        check_subscription_key(settings, "ábc")
    check_subscription_key(settings, "abc")


# ------------------------------------------------------------------------------------ api-version


def test_missing_api_version_is_400_naming_supported_versions(functions: dict[str, Any]) -> None:
    response = call(functions, "list_projects", request("GET", "", api_version=None))
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "InvalidRequest"
    assert error["target"] == "api-version"
    for version in SUPPORTED_API_VERSIONS:
        assert version in error["message"]


def test_unsupported_api_version_is_400(functions: dict[str, Any]) -> None:
    response = call(functions, "list_projects", request("GET", "", api_version="2021-01-01"))
    assert response.status_code == 400
    error = error_of(response)
    assert "2021-01-01" in error["message"]


def test_the_6x_runtime_client_default_is_accepted_on_runtime_routes_only() -> None:
    runtime = func.HttpRequest(
        "GET", "http://localhost/language/analyze-text/jobs/x?api-version=2026-05-15-preview",
        params={"api-version": "2026-05-15-preview"}, body=b"",
    )  # fmt: skip
    assert _http.api_version(runtime) == "2026-05-15-preview"
    with pytest.raises(InvalidRequest, match="2026-05-15-preview"):
        _http.api_version(request("GET", "", api_version="2026-05-15-preview"))


def test_client_default_api_version_is_supported() -> None:
    assert check_api_version(CLIENT_DEFAULT_API_VERSION) == CLIENT_DEFAULT_API_VERSION
    assert {"2022-05-01", "2023-04-01"} <= set(SUPPORTED_API_VERSIONS)


# -------------------------------------------------------------------------------------- bodies


def test_malformed_json_body_is_400_invalid_request_naming_the_problem(functions: dict[str, Any]) -> None:
    req = request("PATCH", "p1", body=b'{"language": "en-us",', route_params={"projectName": "p1"})
    response = call(functions, "create_or_update_project", req)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "InvalidRequest"
    assert "not valid JSON" in error["message"]
    assert "line 1" in error["message"]


def test_malformed_json_on_train_is_400(functions: dict[str, Any]) -> None:
    req = request("POST", "p1/:train", body=b"{modelLabel: x}", route_params={"projectName": "p1"})
    response = call(functions, "start_training_job", req)
    assert response.status_code == 400
    assert error_of(response)["code"] == "InvalidRequest"


def test_empty_body_is_400(functions: dict[str, Any]) -> None:
    response = call(functions, "create_or_update_project", request("PATCH", "p1", route_params={"projectName": "p1"}))
    assert response.status_code == 400
    assert "empty" in error_of(response)["message"]


def test_non_utf8_body_is_400(functions: dict[str, Any]) -> None:
    req = request("POST", "p1/:import", body=b'{"a": "\xff"}', route_params={"projectName": "p1"})
    response = call(functions, "import_project", req)
    assert response.status_code == 400
    assert "UTF-8" in error_of(response)["message"]


# -------------------------------------------------------------------------------- unexpected errors


def test_unexpected_error_is_logged_and_answered_with_generic_500(
    functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Broken app settings make get_settings() raise a non-AppError inside the handler wrapper.
    monkeypatch.setenv("LANGUAGE_API_KEYS", "")
    monkeypatch.setenv("NER_TRAIN_MAX_STEPS", "many")
    with caplog.at_level(logging.ERROR, logger="functions._http"):
        response = call(functions, "list_projects", request("GET", ""))
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "InternalServerError"
    assert "NER_TRAIN_MAX_STEPS" not in error["message"]
    assert any("unhandled error in GET" in record.getMessage() and record.exc_info for record in caplog.records)


def test_error_response_carries_target_and_details() -> None:
    error = InvalidArgument(
        message="bad labels", target="assets", details=[ErrorDetail("InvalidParameterValue", "label 3", "doc1.txt")]
    )
    response = _http.error_response(error)
    assert response.status_code == 400
    body = error_of(response)
    assert body == {
        "code": "InvalidArgument",
        "message": "bad labels",
        "target": "assets",
        "details": [{"code": "InvalidParameterValue", "message": "label 3", "target": "doc1.txt"}],
    }


# ------------------------------------------------------------------------------------- global/paging


def test_languages_are_paged_with_an_absolute_next_link(functions: dict[str, Any]) -> None:
    params = {"projectKind": "CustomEntityRecognition", "maxpagesize": "5"}
    response = call(functions, "list_supported_languages", request("GET", "global/languages", params=params))
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert len(body["value"]) == 5
    assert {"languageName", "languageCode"} == set(body["value"][0])
    link = urlsplit(body["nextLink"])
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{BASE}/global/languages"
    query = parse_qs(link.query)
    assert query["skip"] == ["5"] and query["maxpagesize"] == ["5"]
    assert query["api-version"] == ["2023-04-01"] and query["projectKind"] == ["CustomEntityRecognition"]

    params2 = {key: values[0] for key, values in query.items() if key != "api-version"}
    second = call(functions, "list_supported_languages", request("GET", "global/languages", params=params2))
    second_body = json.loads(second.get_body())
    assert second_body["value"][0] != body["value"][0]


def test_other_project_kind_is_rejected(functions: dict[str, Any]) -> None:
    params = {"projectKind": "CustomSingleLabelClassification"}
    response = call(functions, "list_training_config_versions", request("GET", "x", params=params))
    assert response.status_code == 400
    assert error_of(response)["target"] == "projectKind"


def test_training_config_versions(functions: dict[str, Any]) -> None:
    params = {"projectKind": "CustomEntityRecognition"}
    response = call(functions, "list_training_config_versions", request("GET", "x", params=params))
    body = json.loads(response.get_body())
    assert body["nextLink"] is None
    assert body["value"][0]["trainingConfigVersion"] == "2022-05-01"
    assert len(body["value"][0]["modelExpirationDate"]) == 10


def test_bad_paging_parameter_is_400_naming_it(functions: dict[str, Any]) -> None:
    response = call(functions, "list_supported_languages", request("GET", "x", params={"top": "ten", "skip": "-1"}))
    assert response.status_code == 400
    error = error_of(response)
    assert {detail["target"] for detail in error["details"]} == {"top", "skip"}


def test_paginate_respects_top_skip_and_page_size() -> None:
    items = list(range(10))
    chunk, following = paginate(items, PageRequest(top=7, skip=2, maxpagesize=3))
    assert chunk == [2, 3, 4]
    assert following == PageRequest(top=4, skip=5, maxpagesize=3)
    chunk, following = paginate(items, following)
    assert chunk == [5, 6, 7]
    chunk, following = paginate(items, following)  # top allows one more
    assert chunk == [8] and following is None
    assert paginate(items, PageRequest(skip=20)) == ([], None)
    assert paginate(items, PageRequest(top=0)) == ([], None)
    assert paginate(items, PageRequest()) == (items, None)


def test_next_link_replaces_only_paging_parameters() -> None:
    url = "https://h:1/language/x?api-version=2023-04-01&top=9&stringIndexType=Utf16CodeUnit"
    link = next_link(url, PageRequest(top=4, skip=5, maxpagesize=None))
    query = parse_qs(urlsplit(link).query)
    assert query == {"api-version": ["2023-04-01"], "stringIndexType": ["Utf16CodeUnit"], "top": ["4"], "skip": ["5"]}
    assert link.startswith("https://h:1/language/x?")


# ------------------------------------------------------------------------------------------ URLs


def test_operation_locations_are_absolute_with_the_request_api_version() -> None:
    req = request("DELETE", "p1", api_version="2025-05-15-preview")
    deletion = OperationRequest("deletion", "p1", "abc_1")
    assert operations.operation_location(req, deletion) == (
        f"{BASE}/global/deletion-jobs/abc_1?api-version=2025-05-15-preview"
    )
    snapshot = OperationRequest("load-snapshot", "p1", "j", {"modelLabel": "m1"})
    assert operations.operation_location(req, snapshot) == (
        f"{BASE}/p1/models/m1/load-snapshot/jobs/j?api-version=2025-05-15-preview"
    )
    assert _http.projects_url(req, "p1/train/jobs/j") == f"{BASE}/p1/train/jobs/j?api-version=2025-05-15-preview"


def test_accepted_has_operation_location_and_empty_body() -> None:
    response = _http.accepted("http://h/x?api-version=2023-04-01")
    assert response.status_code == 202
    assert response.headers["operation-location"] == "http://h/x?api-version=2023-04-01"
    assert response.get_body() == b""
