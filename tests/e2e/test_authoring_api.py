"""Every authoring endpoint over HTTP through the local host and Azurite, success and error paths.

One host for the module (tiny training budget); each test works on its own project. Error bodies are
always ``{"error": {"code", "message", ...}}`` with an ``x-ms-error-code`` header (``assert_error``),
and 202 responses carry an absolute ``operation-location`` with the api-version.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from devhost.azurite import Azurite
from tests.e2e.conftest import (
    API_VERSION,
    KEY,
    OTHER_KEY,
    Api,
    HostNames,
    HostProcess,
    assert_error,
    assert_operation_location,
    create_project,
    imported_sample,
    sample_project,
    train,
    upload_documents,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SUPPORTED_VERSIONS = ("2022-05-01", "2023-04-01", "2025-05-15-preview")


@pytest.fixture(scope="module")
def names() -> HostNames:
    return HostNames()


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess], names: HostNames) -> HostProcess:
    # A model is only needed to exist: 20 steps keep the two training runs of this module short.
    return host_factory(names, NER_TRAIN_MAX_STEPS="20", NER_TRAIN_EVAL_FREQUENCY="10")


@pytest.fixture(scope="module")
def api(host: HostProcess) -> Api:
    return Api(host.endpoint)


@pytest.fixture(scope="module")
def connection(azurite: Azurite) -> str:
    return azurite.connection_string


@pytest.fixture(scope="module")
def trained(api: Api, connection: str, names: HostNames) -> dict[str, Any]:
    """A project with the 60-document sample and a trained model ``m1`` (80/20 split)."""
    project = f"{names.tag}-trained"
    project_file = imported_sample(api, connection, project)
    job = api.wait_job(train(api, project, "m1"))
    assert job["status"] == "succeeded", job
    return {"project": project, "file": project_file, "job": job}


# ---------------------------------------------------------------------------------- auth, api-version


def test_missing_or_wrong_key_is_401_on_every_kind_of_route(api: Api, trained: dict[str, Any]) -> None:
    project = trained["project"]
    routes = [
        ("GET", "global/languages"),
        ("GET", ""),
        ("GET", project),
        ("POST", f"{project}/:train"),
        ("GET", f"{project}/train/jobs"),
        ("GET", f"{project}/models/m1"),
        ("DELETE", f"{project}/models/m1"),
        ("POST", f"{project}/:export"),
    ]
    for key, fragment in ((None, "missing"), ("not-a-key", "invalid")):
        client = Api(api.endpoint, key=key)
        for method, path in routes:
            response = client.request(method, path, json_body={"modelLabel": "x"} if method == "POST" else None)
            error = assert_error(response, 401, "Unauthorized", "Ocp-Apim-Subscription-Key")
            assert fragment in error["message"]
    # Both configured keys work; the model survived the unauthorised DELETEs.
    for key in (KEY, OTHER_KEY):
        assert Api(api.endpoint, key=key).get(f"{project}/models/m1").status_code == 200


def test_missing_or_unsupported_api_version_is_400_naming_supported_versions(api: Api, trained: dict[str, Any]) -> None:
    project = trained["project"]
    paths = ["global/languages", project, f"{project}/train/jobs", f"{project}/models"]
    for path in paths:
        missing = Api(api.endpoint, api_version=None).get(path)
        error = assert_error(missing, 400, "InvalidRequest", "api-version", *SUPPORTED_VERSIONS)
        assert error["target"] == "api-version"
        unsupported = Api(api.endpoint, api_version="2021-11-01").get(path)
        assert_error(unsupported, 400, "InvalidRequest", "2021-11-01", *SUPPORTED_VERSIONS)
    # The api-version check also guards POSTs (nothing is started).
    response = Api(api.endpoint, api_version="1999-01-01").post(f"{project}/:train", {"modelLabel": "zz"})
    assert_error(response, 400, "InvalidRequest", "1999-01-01")
    for version in SUPPORTED_VERSIONS:
        assert Api(api.endpoint, api_version=version).get(project).status_code == 200


def test_auth_is_checked_before_api_version(api: Api) -> None:
    response = Api(api.endpoint, key=None, api_version=None).get("global/languages")
    assert_error(response, 401, "Unauthorized")


# -------------------------------------------------------------------------------------------- global


def test_global_languages_paged_to_the_end(api: Api) -> None:
    params = {"projectKind": "CustomEntityRecognition"}
    first = api.get("global/languages", params=params)
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("application/json")
    full, default_pages = api.follow_pages("global/languages", params)
    assert first.json()["value"] == full[: len(first.json()["value"])]
    assert default_pages == -(-len(full) // 50)  # the default page size is 50
    assert "en-us" in [item["languageCode"] for item in full]
    assert len({item["languageCode"] for item in full}) == len(full)
    assert all(set(item) == {"languageName", "languageCode"} for item in full)
    paged, pages = api.follow_pages("global/languages", {**params, "maxpagesize": 7})
    assert paged == full
    assert pages == -(-len(full) // 7)
    # top bounds the total, skip starts later; the two compose.
    window, _ = api.follow_pages("global/languages", {**params, "skip": 3, "top": 10, "maxpagesize": 4})
    assert window == full[3:13]
    assert_error(api.get("global/languages", params={"projectKind": "Conversation"}), 400, "InvalidArgument", "projectKind")
    assert_error(api.get("global/languages", params={"top": "many"}), 400, "InvalidArgument", "top")
    assert_error(api.get("global/languages", params={"maxpagesize": "0"}), 400, "InvalidArgument", "maxpagesize")


def test_training_config_versions(api: Api) -> None:
    response = api.get("global/training-config-versions", params={"projectKind": "CustomEntityRecognition"})
    assert response.status_code == 200
    body = response.json()
    assert body["nextLink"] is None
    assert [item["trainingConfigVersion"] for item in body["value"]] == ["2022-05-01", "2026-11-29", "2026-11-29.1"]  # no transfer base configured
    assert all(set(item) == {"trainingConfigVersion", "modelExpirationDate"} for item in body["value"])
    response = api.get("global/training-config-versions", params={"projectKind": "CustomSingleLabelClassification"})
    assert_error(response, 400, "InvalidArgument", "CustomSingleLabelClassification")


# ------------------------------------------------------------------------------------------ projects


def test_project_create_update_get_list(api: Api, connection: str, names: HostNames) -> None:
    project, container = f"{names.tag}-crud", f"{names.tag}-crud-docs"
    upload_documents(connection, container, {"a.txt": b"hello"})
    body = {
        "projectKind": "CustomEntityRecognition",
        "storageInputContainerName": container,
        "projectName": project,
        "language": "en-us",
        "description": "first",
    }
    created = api.patch(project, body)
    assert created.status_code == 201, created.text
    assert created.json()["projectName"] == project and created.json()["description"] == "first"
    assert created.json()["createdDateTime"].endswith("Z")
    updated = api.patch(project, {"description": "second"})
    assert updated.status_code == 200
    got = api.get(project).json()
    assert got["description"] == "second" and got["storageInputContainerName"] == container
    assert got["projectKind"] == "CustomEntityRecognition"
    listed, _ = api.follow_pages("", {"maxpagesize": 1})
    assert project in [item["projectName"] for item in listed]

    assert_error(api.patch(project, {"colour": "blue"}), 400, "InvalidArgument", "colour")
    assert_error(api.patch(project, {"language": "xx-nope"}), 400, "InvalidArgument", "language")
    missing = dict(body, storageInputContainerName=f"{names.tag}-absent")
    assert_error(api.patch(f"{names.tag}-other", dict(missing, projectName=f"{names.tag}-other")), 400,
                 "InvalidArgument", f"{names.tag}-absent")  # fmt: skip
    no_kind = {key: value for key, value in body.items() if key != "projectKind"}
    assert_error(api.patch(f"{names.tag}-nokind", dict(no_kind, projectName=f"{names.tag}-nokind")), 400,
                 "InvalidArgument", "projectKind")  # fmt: skip
    assert_error(api.patch(f"{names.tag}-x", dict(body, projectName="else")), 400, "InvalidArgument", "projectName")
    assert_error(api.patch("global", body), 400, "InvalidArgument", "global")
    assert_error(api.patch("bad name!", body), 400, "InvalidArgument", "bad name!")


def test_malformed_json_is_400(api: Api, trained: dict[str, Any]) -> None:
    project = trained["project"]
    headers = {"Content-Type": "application/json"}
    for method, path in (("PATCH", project), ("POST", f"{project}/:train"), ("POST", f"{project}/:import")):
        response = api.request(method, path, data=b'{"modelLabel": ', headers=headers)
        assert_error(response, 400, "InvalidRequest", "not valid JSON")
        empty = api.request(method, path, data=b"", headers=headers)
        assert_error(empty, 400, "InvalidRequest", "empty")
    response = api.request("POST", f"{project}/:train", data=b"\xff\xfe{}", headers=headers)
    assert_error(response, 400, "InvalidRequest", "UTF-8")
    assert_error(api.post(f"{project}/:train", ["modelLabel"]), 400, "InvalidRequest", "JSON object")


def test_unknown_project_is_404_project_not_found(api: Api, names: HostNames) -> None:
    ghost = f"{names.tag}-ghost"
    requests_to_make = [
        ("GET", ghost, None),
        ("DELETE", ghost, None),
        ("POST", f"{ghost}/:train", {"modelLabel": "m", "trainingConfigVersion": "latest"}),
        ("GET", f"{ghost}/train/jobs", None),
        ("GET", f"{ghost}/train/jobs/some-job", None),
        ("POST", f"{ghost}/:export", None),
        ("GET", f"{ghost}/models", None),
        ("GET", f"{ghost}/models/m1", None),
        ("DELETE", f"{ghost}/models/m1", None),
        ("GET", f"{ghost}/models/m1/evaluation/summary-result", None),
        ("POST", f"{ghost}/models/m1/:load-snapshot", None),
    ]
    for method, path, body in requests_to_make:
        params = {"stringIndexType": "Utf16CodeUnit"} if path.endswith(":export") else None
        response = api.request(method, path, json_body=body, params=params)
        error = assert_error(response, 404, "ProjectNotFound", ghost)
        assert error["target"] == "projectName"


# -------------------------------------------------------------------------------------------- import


@pytest.fixture(scope="module")
def import_target(api: Api, connection: str, names: HostNames) -> dict[str, Any]:
    """A created project with uploaded documents of a 12-document sample, nothing imported yet."""
    project, container = f"{names.tag}-imp", f"{names.tag}-imp-docs"
    project_file, files = sample_project(project, container, documents=12)
    upload_documents(connection, container, files)
    create_project(api, project, container)
    return {"project": project, "file": project_file}


def _labels(project_file: dict[str, Any], index: int) -> list[dict[str, Any]]:
    labels: list[dict[str, Any]] = project_file["assets"]["documents"][index]["entities"][0]["labels"]
    return labels


def test_import_rejects_schema_and_label_problems_naming_document_and_label(api: Api, import_target: dict[str, Any]) -> None:
    project, original = import_target["project"], import_target["file"]

    undeclared = copy.deepcopy(original)
    _labels(undeclared, 1)[0]["category"] = "Ghost"
    error = assert_error(api.post(f"{project}/:import", undeclared), 400, "InvalidArgument", "Ghost", "po_002.txt")
    assert error["details"] and error["details"][0]["target"].startswith("assets.documents[1]")

    overlapping = copy.deepcopy(original)
    first = _labels(overlapping, 2)[0]
    _labels(overlapping, 2).append({"category": "Vendor", "offset": first["offset"] + 1, "length": first["length"]})
    assert_error(api.post(f"{project}/:import", overlapping), 400, "InvalidArgument", "po_003.txt", "overlap",
                 str(first["offset"] + 1))  # fmt: skip

    outside = copy.deepcopy(original)
    region = outside["assets"]["documents"][3]["entities"][0]
    beyond = region["regionOffset"] + region["regionLength"] + 5
    region["labels"].append({"category": "Vendor", "offset": beyond, "length": 3})
    assert_error(api.post(f"{project}/:import", outside), 400, "InvalidArgument", "po_004.txt", str(beyond))

    renamed = copy.deepcopy(original)
    renamed["metadata"]["projectName"] = "someone-else"
    assert_error(api.post(f"{project}/:import", renamed), 400, "InvalidArgument", "someone-else", "metadata.projectName")

    assert_error(api.post(f"{project}/:import", original, headers={"format": "xml"}), 400, "InvalidArgument", "xml")
    # Nothing was imported: training has no data.
    response = api.post(f"{project}/:train", {"modelLabel": "m", "trainingConfigVersion": "latest"})
    assert_error(response, 400, "InvalidArgument", "import")


def _failed_import(api: Api, project: str, project_file: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"{project}/:import", project_file)
    location = assert_operation_location(response, api.endpoint, f"{project}/import/jobs/")
    job = api.wait_job(location)
    assert job["status"] == "failed", job
    assert job["errors"], job
    return job


def test_import_fails_the_job_for_document_problems_naming_the_document(api: Api, connection: str,
                                                                          import_target: dict[str, Any]) -> None:
    project, original = import_target["project"], import_target["file"]

    missing = copy.deepcopy(original)
    missing["assets"]["documents"][4]["location"] = "not_uploaded.txt"
    job = _failed_import(api, project, missing)
    assert "not_uploaded.txt" in job["errors"][0]["message"]
    assert job["errors"][0]["code"] == "InvalidArgument"

    too_long = copy.deepcopy(original)
    region = too_long["assets"]["documents"][5]["entities"][0]
    region["regionLength"] += 1000
    job = _failed_import(api, project, too_long)
    assert "po_006.txt" in job["errors"][0]["message"]
    assert str(region["regionOffset"] + region["regionLength"]) in job["errors"][0]["message"]

    no_container = copy.deepcopy(original)
    no_container["metadata"]["storageInputContainerName"] = "container-that-does-not-exist"
    job = _failed_import(api, project, no_container)
    assert "container-that-does-not-exist" in job["errors"][0]["message"]

    response = api.post(f"{project}/:import", original)
    job = api.wait_job(assert_operation_location(response, api.endpoint, f"{project}/import/jobs/"))
    assert job["status"] == "succeeded" and job["errors"] == []
    assert set(job) >= {"jobId", "createdDateTime", "lastUpdatedDateTime", "expirationDateTime", "status"}


def test_unknown_operation_jobs_are_404(api: Api, trained: dict[str, Any]) -> None:
    project = trained["project"]
    for path in (
        f"{project}/import/jobs/nope",
        f"{project}/export/jobs/nope",
        f"{project}/export/jobs/nope/result",
        f"{project}/models/m1/load-snapshot/jobs/nope",
        "global/deletion-jobs/nope",
        f"{project}/train/jobs/nope",
    ):
        assert_error(api.get(path), 404, "OperationNotFound", "nope")


# ------------------------------------------------------------------------------------------ training


def test_train_request_validation_names_the_field(api: Api, trained: dict[str, Any]) -> None:
    project = trained["project"]
    good = {"modelLabel": "v1", "trainingConfigVersion": "latest"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"trainingConfigVersion": "latest"}, "modelLabel"),
        ({**good, "modelLabel": "has space"}, "modelLabel"),
        ({**good, "modelLabel": "x" * 51}, "modelLabel"),
        ({"modelLabel": "v1"}, "trainingConfigVersion"),
        ({**good, "trainingConfigVersion": "2019-01-01"}, "trainingConfigVersion"),
        (
            {**good, "evaluationOptions": {"kind": "percentage", "trainingSplitPercentage": 70, "testingSplitPercentage": 20}},
            "evaluationOptions",
        ),
        ({**good, "evaluationOptions": {"kind": "shuffled"}}, "evaluationOptions.kind"),
        ({**good, "evaluationOptions": {"kind": "percentage", "trainingSplitPercentage": "80"}}, "trainingSplitPercentage"),
    ]
    jobs_before = api.get(f"{project}/train/jobs").json()["value"]
    for body, field_name in cases:
        error = assert_error(api.post(f"{project}/:train", body), 400, "InvalidArgument", field_name)
        assert field_name.split(".")[0] in (error.get("target") or ""), error
    # None of them created a job.
    assert api.get(f"{project}/train/jobs").json()["value"] == jobs_before


def test_manual_split_without_test_documents_is_400(api: Api, connection: str, names: HostNames) -> None:
    project = f"{names.tag}-manual"
    container = f"{project}-docs"
    project_file, files = sample_project(project, container, documents=12)
    for document in project_file["assets"]["documents"]:
        document["dataset"] = "Train"
    upload_documents(connection, container, files)
    create_project(api, project, container)
    response = api.post(f"{project}/:import", project_file)
    assert api.wait_job(assert_operation_location(response, api.endpoint, f"{project}/import/jobs/"))["status"] == "succeeded"
    body = {"modelLabel": "m", "trainingConfigVersion": "latest", "evaluationOptions": {"kind": "manual"}}
    error = assert_error(api.post(f"{project}/:train", body), 400, "InvalidArgument", "manual", "Test")
    assert error["target"].startswith("evaluationOptions")
    # The slot is free: a percentage split is accepted (and cancelled at once to save time).
    location = train(api, project, "m")
    assert api.post(location.split("?")[0] + "/:cancel").status_code == 202


def test_second_train_conflicts_cancel_and_job_paging(api: Api, connection: str, names: HostNames) -> None:
    project = f"{names.tag}-busy"
    imported_sample(api, connection, project, documents=12)

    results: list[requests.Response] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        client = Api(api.endpoint)
        barrier.wait()
        results.append(client.post(f"{project}/:train", {"modelLabel": "race", "trainingConfigVersion": "latest"}))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = [response for response in results if response.status_code == 202]
    assert len(accepted) == 1, [(r.status_code, r.text) for r in results]
    location = assert_operation_location(accepted[0], api.endpoint, f"{project}/train/jobs/")
    job_id = location.split("/train/jobs/")[1].split("?")[0]
    for response in results:
        if response is not accepted[0]:
            assert_error(response, 409, "Conflict", job_id)

    assert_error(api.post(f"{project}/:train", {"modelLabel": "again", "trainingConfigVersion": "latest"}), 409, "Conflict", job_id)
    assert_error(api.delete(project), 409, "Conflict", job_id)

    job = api.wait_job(location)
    assert job["status"] == "succeeded", job
    assert job["jobId"] == job_id and job["result"]["modelLabel"] == "race"
    cancel_url = location.split("?")[0] + "/:cancel"
    assert_error(api.post(cancel_url), 409, "Conflict", "succeeded")
    assert_error(api.post(f"{project}/train/jobs/{job_id}x/:cancel"), 404, "OperationNotFound", f"{job_id}x")

    # The slot is free again; cancel the new job before it does much.
    second = train(api, project, "race2")
    cancelled = api.post(second.split("?")[0] + "/:cancel")
    assert assert_operation_location(cancelled, api.endpoint, f"{project}/train/jobs/") == second
    assert api.wait_job(second)["status"] == "cancelled"
    assert_error(api.get(f"{project}/models/race2"), 404, "NotFound", "race2")

    jobs, pages = api.follow_pages(f"{project}/train/jobs", {"maxpagesize": 1})
    assert pages == 2
    assert [item["result"]["modelLabel"] for item in jobs] == ["race2", "race"]  # newest first
    assert [item["status"] for item in jobs] == ["cancelled", "succeeded"]
    top, _ = api.follow_pages(f"{project}/train/jobs", {"top": 1})
    assert [item["jobId"] for item in top] == [jobs[0]["jobId"]]
    skipped, _ = api.follow_pages(f"{project}/train/jobs", {"skip": 1})
    assert [item["jobId"] for item in skipped] == [job_id]


# -------------------------------------------------------------------------------------------- models


def test_models_get_list_and_unknown_model(api: Api, trained: dict[str, Any]) -> None:
    project = trained["project"]
    listed = api.get(f"{project}/models").json()
    assert listed["nextLink"] is None
    assert [model["label"] for model in listed["value"]] == ["m1"]
    model = api.get(f"{project}/models/m1").json()
    assert set(model) == {
        "label", "modelId", "lastTrainedDateTime", "lastTrainingDurationInSeconds", "modelExpirationDate",
        "modelTrainingConfigVersion", "hasSnapshot",
    }  # fmt: skip
    assert model["modelTrainingConfigVersion"] == "2026-11-29.1" and model["hasSnapshot"] is True
    assert model["modelId"].startswith("m1-")
    for method, path in (
        ("GET", f"{project}/models/nope"),
        ("DELETE", f"{project}/models/nope"),
        ("GET", f"{project}/models/nope/evaluation/summary-result"),
        ("GET", f"{project}/models/nope/evaluation/result"),
        ("POST", f"{project}/models/nope/:load-snapshot"),
    ):
        params = {"stringIndexType": "Utf16CodeUnit"} if path.endswith("/result") else None
        error = assert_error(api.request(method, path, params=params), 404, "NotFound", "nope")
        assert error["target"] == "trainedModelLabel"


def test_evaluation_summary_and_result_paging(api: Api, trained: dict[str, Any]) -> None:
    project = trained["project"]
    summary = api.get(f"{project}/models/m1/evaluation/summary-result").json()
    assert summary["projectKind"] == "CustomEntityRecognition"
    assert summary["evaluationOptions"] == {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20}
    evaluation = summary["customEntityRecognitionEvaluation"]
    assert {"confusionMatrix", "entities", "microF1", "microPrecision", "microRecall", "macroF1"} <= set(evaluation)

    path = f"{project}/models/m1/evaluation/result"
    index = {"stringIndexType": "Utf16CodeUnit"}
    everything, pages = api.follow_pages(path, index)
    assert pages == 1 and len(everything) > 3
    paged, pages = api.follow_pages(path, {**index, "maxpagesize": 2})
    assert paged == everything and pages == -(-len(everything) // 2)
    window, _ = api.follow_pages(path, {**index, "skip": 1, "top": 3, "maxpagesize": 2})
    assert window == everything[1:4]
    beyond = api.get(path, params={**index, "skip": 1000}).json()
    assert beyond == {"value": [], "nextLink": None}
    assert all(item["projectKind"] == "CustomEntityRecognition" for item in everything)
    assert_error(api.get(path), 400, "InvalidArgument", "stringIndexType")
    assert_error(api.get(path, params={"stringIndexType": "Utf8CodeUnit"}), 400, "InvalidArgument", "Utf8CodeUnit")


def test_export_and_load_snapshot(api: Api, trained: dict[str, Any]) -> None:
    project = trained["project"]
    assert_error(api.post(f"{project}/:export"), 400, "InvalidArgument", "stringIndexType")
    response = api.post(f"{project}/:export", params={"stringIndexType": "Utf16CodeUnit", "trainedModelLabel": "m1"})
    job = api.wait_job(assert_operation_location(response, api.endpoint, f"{project}/export/jobs/"))
    assert job["status"] == "succeeded", job
    exported = api.get(job["resultUrl"])
    assert exported.status_code == 200
    assert exported.json()["assets"]["documents"] == trained["file"]["assets"]["documents"]

    response = api.post(f"{project}/models/m1/:load-snapshot")
    job = api.wait_job(assert_operation_location(response, api.endpoint, f"{project}/models/m1/load-snapshot/jobs/"))
    assert job["status"] == "succeeded", job


def test_delete_model_then_project(api: Api, connection: str, names: HostNames, trained: dict[str, Any]) -> None:
    # Runs last in this module: it removes the shared trained project.
    project = trained["project"]
    deleted = api.delete(f"{project}/models/m1")
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(api.get(f"{project}/models/m1"), 404, "NotFound", "m1")
    assert_error(api.delete(f"{project}/models/m1"), 404, "NotFound", "m1")

    response = api.delete(project)
    location = assert_operation_location(response, api.endpoint, "global/deletion-jobs/")
    assert api.wait_job(location)["status"] == "succeeded"
    assert_error(api.get(project), 404, "ProjectNotFound", project)
    assert project not in [item["projectName"] for item in api.follow_pages("")[0]]
    assert API_VERSION in location
