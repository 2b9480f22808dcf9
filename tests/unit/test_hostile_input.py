"""Hostile input at the HTTP layer (issue 10 #4, #5): no 5xx, Azure's error JSON, nothing unbounded.

Real ``func.HttpRequest`` objects through the registered user functions. Storage points at a closed
port, so a request that reached storage would answer 503: every 400/401/413 here is decided first.
"""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from functions import _http, global_api, models_api, operations, projects_api, training_api
from shared.errors import AppError, ErrorDetail, InvalidArgument
from shared.ner.names import check_route_names, model_label_problem, project_name_problem, shown
from tests.unit.test_http_layer import KEY, call, request

UNREACHABLE = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;" + (
    "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    "QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
)
TRAIN_BODY = {"modelLabel": "m1", "trainingConfigVersion": "latest"}


@pytest.fixture(autouse=True)
def no_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE_API_KEYS", KEY)
    monkeypatch.setenv("NER_STORAGE_CONNECTION", UNREACHABLE)
    monkeypatch.setenv("AzureWebJobsStorage", UNREACHABLE)


@pytest.fixture(scope="module")
def functions() -> dict[str, Any]:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for module in (projects_api, training_api, models_api, global_api, operations):
        app.register_functions(module.bp)
    return {f.get_function_name(): f.get_user_function() for f in app.get_functions()}


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()[:500]
    assert response.headers.get("x-ms-error-code") == code
    body = json.loads(response.get_body())
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return dict(body["error"])


# ---------------------------------------------------------------------------------- keys (#4)


@pytest.mark.parametrize("key", ["ключ", "\udcff\udcfe", "test-key-1\x00", "test-key-1\n", "é" * 500])
def test_malformed_or_non_ascii_key_is_401_not_500(functions: dict[str, Any], key: str) -> None:
    # "\udcff" is what a server decoding header bytes with surrogate escapes hands over: encoding it
    # to UTF-8 used to raise UnicodeEncodeError (a 500).
    response = call(functions, "list_projects", request("GET", "", key=key))
    error_of(response, 401, "Unauthorized")


# ------------------------------------------------------------------------------- JSON body (#4, #5)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"settings": {"x": NaN}}', "NaN"),
        (b'{"settings": {"x": Infinity}}', "Infinity"),
        (b'{"settings": {"x": -Infinity}}', "Infinity"),
        (b'{"settings": {"x": 1e999}}', "too large"),
        (b'{"settings": {"x": ' + b"9" * 5000 + b"}}", "not valid JSON"),
        (b"[" * 100 + b"]" * 100, "64 levels"),
        (b"[" * 100_000 + b"]" * 100_000, "64 levels"),
        (b'{"a":' * 70 + b"1" + b"}" * 70, "64 levels"),
    ],
)
def test_strict_json_refuses_nan_overflow_and_deep_nesting(functions: dict[str, Any], body: bytes, fragment: str) -> None:
    req = request("PATCH", "p1", body=body, route_params={"projectName": "p1"})
    error = error_of(call(functions, "create_or_update_project", req), 400, "InvalidRequest")
    assert fragment in error["message"]


def test_nesting_up_to_the_limit_parses() -> None:
    depth = _http.MAX_JSON_DEPTH
    assert _http.parse_json_body(b"[" * depth + b"]" * depth) is not None
    with pytest.raises(InvalidArgument):
        _http.parse_json_body(b"[" * (depth + 1) + b"]" * (depth + 1))
    assert _http.parse_json_body(b'{"x": 1.5e300, "y": -0.0}') == {"x": 1.5e300, "y": -0.0}


def test_oversized_body_is_413_in_azure_error_json(functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_http, "MAX_BODY_BYTES", 1000)
    req = request("POST", "p1/:train", body=json.dumps({"modelLabel": "x" * 2000}).encode(),
                  route_params={"projectName": "p1"})
    error = error_of(call(functions, "start_training_job", req), 413, "InvalidRequest")
    assert "1,000 bytes" in error["message"]


def test_a_huge_invalid_model_label_is_echoed_bounded(functions: dict[str, Any]) -> None:
    # issue 10 #5: a 50 MB modelLabel came back twice, unbounded. 5 MB here makes the same point.
    label = "ä" * 5_000_000
    body = json.dumps({**TRAIN_BODY, "modelLabel": label}, ensure_ascii=False).encode()
    req = request("POST", "p1/:train", body=body, route_params={"projectName": "p1"})
    response = call(functions, "start_training_job", req)
    error = error_of(response, 400, "InvalidArgument")
    assert error["target"] == "modelLabel"
    assert len(response.get_body()) < 2_000
    assert "5,000,000 characters" in error["message"]


def test_every_error_body_is_bounded_whatever_its_message() -> None:
    details = [ErrorDetail("InvalidArgument", "y" * 100_000, "t" * 10_000) for _ in range(5_000)]
    response = _http.error_response(AppError("x" * 1_000_000, target="z" * 10_000, details=details))
    body = json.loads(response.get_body())["error"]
    assert len(response.get_body()) < 500_000
    assert len(body["details"]) == _http.MAX_ERROR_DETAILS
    assert body["message"].startswith("x" * 100) and "1,000,000 characters" in body["message"]


# ---------------------------------------------------------------------------------------- names (#4)

DOT_NAMES = [".", "..", "...", "a.", "..a."]


@pytest.mark.parametrize("name", DOT_NAMES + ["a/b", "a b", "", "x" * 51, "ä", "%2e%2e"])
def test_names_that_could_become_path_tricks_are_refused(name: str) -> None:
    assert project_name_problem(name) is not None
    assert model_label_problem(name) is not None


@pytest.mark.parametrize("name", ["a", "A.b-c_d", "LoanAgreements", "v1.0", ".hidden", "x" * 50])
def test_azure_names_are_accepted(name: str) -> None:
    assert project_name_problem(name) is None
    assert model_label_problem(name) is None


@pytest.mark.parametrize(
    ("function", "method", "path", "params", "body"),
    [
        ("create_or_update_project", "PATCH", "{p}", {}, b'{"language": "en"}'),
        ("get_project", "GET", "{p}", {}, b""),
        ("delete_project", "DELETE", "{p}", {}, b""),
        ("import_project", "POST", "{p}/:import", {}, b"{}"),
        ("export_project", "POST", "{p}/:export", {}, b""),
        ("start_training_job", "POST", "{p}/:train", {}, json.dumps(TRAIN_BODY).encode()),
        ("list_training_jobs", "GET", "{p}/train/jobs", {}, b""),
        ("list_trained_models", "GET", "{p}/models", {}, b""),
        ("get_trained_model", "GET", "{p}/models/m1", {"trainedModelLabel": "m1"}, b""),
        ("get_import_job", "GET", "{p}/import/jobs/j1", {"jobId": "j1"}, b""),
    ],
)
@pytest.mark.parametrize("project", [".", "..", "a."])
def test_dot_project_names_are_400_naming_the_field_before_storage(
    functions: dict[str, Any], function: str, method: str, path: str, params: dict[str, str], body: bytes,
    project: str,
) -> None:
    req = request(method, path.format(p=project), body=body, route_params={"projectName": project, **params})
    error = error_of(call(functions, function, req), 400, "InvalidArgument")
    assert error["target"] == "projectName"
    assert repr(project) in error["message"]


@pytest.mark.parametrize("label", ["..", ".", "x/y"])
def test_model_label_dots_refused_at_train_and_in_paths(functions: dict[str, Any], label: str) -> None:
    body = json.dumps({**TRAIN_BODY, "modelLabel": label}).encode()
    req = request("POST", "p1/:train", body=body, route_params={"projectName": "p1"})
    assert error_of(call(functions, "start_training_job", req), 400, "InvalidArgument")["target"] == "modelLabel"
    req = request("GET", f"p1/models/{label}", route_params={"projectName": "p1", "trainedModelLabel": label})
    assert error_of(call(functions, "get_trained_model", req), 400, "InvalidArgument")["target"] == "trainedModelLabel"


def test_a_model_label_in_the_query_is_checked_too(functions: dict[str, Any]) -> None:
    req = request("POST", "p1/:export", params={"trainedModelLabel": ".."}, route_params={"projectName": "p1"})
    assert error_of(call(functions, "export_project", req), 400, "InvalidArgument")["target"] == "trainedModelLabel"


@pytest.mark.parametrize("job_id", ["..", "a.b", "x" * 101, "id'or'1", "a b"])
def test_malformed_job_ids_in_paths_are_400(functions: dict[str, Any], job_id: str) -> None:
    req = request("GET", f"p1/train/jobs/{job_id}", route_params={"projectName": "p1", "jobId": job_id})
    error = error_of(call(functions, "get_training_job", req), 400, "InvalidArgument")
    assert error["target"] == "jobId"


def test_route_names_report_every_bad_parameter() -> None:
    with pytest.raises(InvalidArgument) as info:
        check_route_names({"projectName": "..", "trainedModelLabel": "ok", "jobId": "a.b", "filePath": "a/../b"})
    assert [detail.target for detail in info.value.details] == ["projectName", "jobId", "filePath"]
    check_route_names({"projectName": "p", "deploymentName": "prod", "jobId": "0f-1_2", "filePath": "ner/cfg"})
    for bad in ("", "a//b", "/a", "a\\b", "..", "a/./b", "a\nb"):
        with pytest.raises(InvalidArgument):
            check_route_names({"filePath": bad})


def test_shown_bounds_and_says_the_length() -> None:
    assert shown("abc") == "'abc'"
    text = shown("q" * 10_000)
    assert len(text) < 120 and "10,000 characters" in text
