"""Issue 10 #4-#7 over HTTP through the local host: what a hostile or careless client sends gets a 4xx in
Azure's error JSON, and nothing of it reaches storage (no orphan jobs, no invalid JSON stored).

Raw requests go through ``http.client`` where ``requests`` would normalise them (``..`` segments,
non-Latin-1 header bytes).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.data.tables import TableServiceClient

from devhost.azurite import Azurite
from tests.e2e.conftest import (
    API_VERSION,
    KEY,
    PROJECTS_PATH,
    Api,
    HostNames,
    HostProcess,
    assert_error,
    create_project,
    import_project,
    upload_documents,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def names() -> HostNames:
    return HostNames()


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess], names: HostNames) -> HostProcess:
    return host_factory(names, workers=1)


@pytest.fixture(scope="module")
def api(host: HostProcess) -> Api:
    return Api(host.endpoint)


def raw(api: Api, method: str, path: str, body: bytes = b"", headers: dict[str, Any] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Send exactly ``path`` (already encoded) with ``http.client``: no normalisation, header bytes as given."""
    parts = urlsplit(api.endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        sent = {"Ocp-Apim-Subscription-Key": KEY, "Content-Length": str(len(body)), **(headers or {})}
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def azure_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict[str, Any]:
    assert status == expected, (status, body[:300])
    parsed = json.loads(body)
    assert set(parsed) == {"error"} and parsed["error"]["code"] == headers["x-ms-error-code"], parsed
    return dict(parsed["error"])


def operation_rows(azurite: Azurite, names: HostNames) -> list[dict[str, Any]]:
    table = TableServiceClient.from_connection_string(azurite.connection_string).get_table_client(
        f"{names.tag}Operations"
    )
    try:
        return list(table.list_entities())
    except Exception:  # noqa: BLE001 - the table does not exist yet: no rows
        return []


@pytest.mark.parametrize("segment", ["%2E", "%2E%2E", ".%2E", "a.", "a%2Fb", "%C3%A4"])
def test_path_trick_project_names_are_400_and_leave_no_job(
    api: Api, azurite: Azurite, names: HostNames, segment: str
) -> None:
    before = len(operation_rows(azurite, names))
    query = f"?api-version={API_VERSION}"
    body = json.dumps({"projectFileVersion": "2022-05-01"}).encode()
    for method, suffix, payload in (("POST", "/:import", body), ("GET", "", b""), ("DELETE", "", b""),
                                    ("POST", "/:export", b""), ("GET", "/train/jobs", b"")):
        status, headers, answer = raw(api, method, f"{PROJECTS_PATH}/{segment}{suffix}{query}", payload,
                                      {"Content-Type": "application/json"})
        error = azure_error(status, headers, answer, 400 if segment != "a%2Fb" else status)
        if status == 400:
            assert error["target"] == "projectName", error
        assert b"devstoreaccount1" not in answer and b"127.0.0.1" not in answer
    assert len(operation_rows(azurite, names)) == before  # no orphan import/export/deletion jobs


def test_model_label_dots_are_refused_at_train_and_in_paths(api: Api) -> None:
    response = api.post("any-project/:train", {"modelLabel": "..", "trainingConfigVersion": "latest"})
    assert assert_error(response, 400, "InvalidArgument")["target"] == "modelLabel"
    status, headers, body = raw(api, "GET", f"{PROJECTS_PATH}/p1/models/%2E%2E?api-version={API_VERSION}")
    assert azure_error(status, headers, body, 400)["target"] == "trainedModelLabel"


@pytest.mark.parametrize("key", [b"\xff\xfe", "ключ".encode(), b"e2e-key-1\xc3\xa9"])
def test_non_ascii_or_malformed_keys_are_401(api: Api, key: bytes) -> None:
    status, headers, body = raw(api, "GET", f"{PROJECTS_PATH}?api-version={API_VERSION}",
                                headers={"Ocp-Apim-Subscription-Key": key})
    azure_error(status, headers, body, 401)


def test_deep_json_nan_and_oversized_echoes_are_bounded_400s(api: Api, names: HostNames) -> None:
    project = f"{names.tag}-json"
    for body in (b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 100 + b"1" + b"}" * 100):
        response = api.request("PATCH", project, data=body, headers={"Content-Type": "application/json"})
        assert "64 levels" in assert_error(response, 400, "InvalidRequest")["message"]
    for constant in ("NaN", "Infinity", "-Infinity", "1e400"):
        fields = '"projectKind": "CustomEntityRecognition", "language": "en", "storageInputContainerName": "c"'
        body = f'{{{fields}, "settings": {{"x": {constant}}}}}'
        response = api.request("PATCH", project, data=body, headers={"Content-Type": "application/json"})
        assert_error(response, 400, "InvalidRequest")
    assert_error(api.get(project), 404, "ProjectNotFound")  # nothing was stored
    label = "x" * 3_000_000
    response = api.post("any-project/:train", {"modelLabel": label, "trainingConfigVersion": "latest"})
    assert_error(response, 400, "InvalidArgument", "3,000,000 characters")
    assert len(response.content) < 2_000


def test_one_split_percentage_alone_is_400_naming_the_missing_one(api: Api) -> None:
    body = {"modelLabel": "m", "trainingConfigVersion": "latest",
            "evaluationOptions": {"kind": "percentage", "trainingSplitPercentage": 70}}
    response = api.post("any-project/:train", body)
    assert_error(response, 400, "InvalidArgument", "evaluationOptions.testingSplitPercentage")


def test_unknown_routes_are_404_and_wrong_methods_405_in_azure_json(api: Api) -> None:
    for path in ("p1/nothing", "p1/models/m1/nothing", "p1/train/jobs/j1/:explode"):
        assert_error(api.get(path), 404, "NotFound")
    response = api.request("PUT", "p1")
    assert_error(response, 405, "InvalidRequest", "PUT")
    assert response.headers["Allow"] == "DELETE, GET, PATCH"
    assert_error(api.get("p1/:train"), 405, "InvalidRequest")
    for path in ("/language/whatever", "/language/a%0Ab", "/language/authoring/analyze-text/projects/a%0Ab/x"):
        status, headers, body = raw(api, "GET", f"{path}?api-version=2023-04-01")
        azure_error(status, headers, body, 404)
    assert_error(Api(api.endpoint, key=None).get("p1/nothing"), 401, "Unauthorized")


def test_microsofts_two_document_import_example_is_accepted_and_train_says_why_not(
    api: Api, azurite: Azurite, names: HostNames
) -> None:
    """Issue 10 #7: the REST spec's SuccessfulImportProject body (two documents) → 202; :train → 400."""
    from tests.unit.test_project_file import microsoft_import_example

    project, container = f"{names.tag}-loan", f"{names.tag}-loan-docs"
    project_file = microsoft_import_example()
    project_file["metadata"].update(projectName=project, storageInputContainerName=container)
    upload_documents(azurite.connection_string, container, {
        "01.txt": ("Date: 2021-01-01. " + "x" * 2000).encode(), "02.txt": ("Date: 2021-02-02. " + "y" * 2000).encode(),
    })
    create_project(api, project, container)
    job = import_project(api, project, project_file)
    assert job["status"] == "succeeded", job
    response = api.post(f"{project}/:train", {"modelLabel": "m1", "trainingConfigVersion": "latest"})
    assert_error(response, 400, "InvalidArgument", "2 labelled documents", "at least 10")
