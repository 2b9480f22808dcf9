"""The deployment and exported-model read routes through the real route functions, on Azurite."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import azure.durable_functions as df
import azure.functions as func
import pytest

from functions import deployments_api, exported_models_api
from shared.config import Settings
from shared.jobs.kinds import DEPLOYMENT, DEPLOYMENT_RESOURCES_DELETION, EXPORTED_MODEL
from shared.models import utc_now
from shared.operations.requests import start_job
from shared.service import deployment_resources
from shared.storage.blobs import BlobStore
from shared.storage.deployments import AssignedResource, DeploymentRecord, DeploymentStore
from shared.storage.exported_models import ExportedModelRecord, ExportedModelStore
from tests.integration.project_fixture import project_settings  # noqa: F401 (the `settings` fixture)

pytestmark = pytest.mark.integration

BASE = "http://localhost:7071/language/authoring/analyze-text/projects"
WEU = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/LangWeu"


@pytest.fixture
def routes() -> dict[str, Any]:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(deployments_api.bp)
    app.register_functions(exported_models_api.bp)
    return {f.get_function_name(): f.get_user_function() for f in app.get_functions()}


def call(routes: dict[str, Any], name: str, path: str, api_version: str = "2023-04-01", **route: str) -> func.HttpResponse:
    url = f"{BASE}/{path}"
    query = {"api-version": api_version}
    if "?" in path:
        url, raw = path.split("?", 1)
        query = {key: values[0] for key, values in parse_qs(raw).items()}
    req = func.HttpRequest(
        "GET",
        url if url.startswith("http") else f"{BASE}/{url}",
        headers={"Ocp-Apim-Subscription-Key": "test-key-1"},
        params=query,
        route_params={"projectName": "proj", **route},
        body=b"",
    )
    response: func.HttpResponse = routes[name](req=req)
    return response


def body(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def add_deployment(settings: Settings, name: str) -> None:
    DeploymentStore(settings).upsert(
        DeploymentRecord(
            project_name="proj", deployment_name=name, model_label="m1", model_id=f"m1-{name}", model_job_id="j",
            model_blob="models/proj/m1/j/model.bin", last_trained=utc_now(), last_deployed=utc_now(),
            training_config_version="2022-05-01", expiration_date=date(2099, 12, 31),
            assigned_resources=[AssignedResource(WEU, "westeurope")] if name == "prod" else [],
        )
    )  # fmt: skip


def test_deployment_read_routes(settings: Settings, routes: dict[str, Any]) -> None:
    add_deployment(settings, "prod")
    add_deployment(settings, "staging")

    ga = body(call(routes, "get_deployment", "proj/deployments/prod", deploymentName="prod"))
    assert set(ga) == {"deploymentName", "modelId", "lastTrainedDateTime", "lastDeployedDateTime",
                       "deploymentExpirationDate", "modelTrainingConfigVersion"}  # fmt: skip
    assert ga["deploymentExpirationDate"] == "2099-12-31" and ga["modelId"] == "m1-prod"
    preview = body(call(routes, "get_deployment", "proj/deployments/prod", "2025-05-15-preview", deploymentName="prod"))
    assert preview["assignedResources"] == [{"resourceId": WEU, "region": "westeurope"}]

    missing = call(routes, "get_deployment", "proj/deployments/qa", deploymentName="qa")
    assert missing.status_code == 404 and missing.headers["x-ms-error-code"] == "NotFound"
    assert body(missing)["error"]["target"] == "deploymentName" and "qa" in body(missing)["error"]["message"]

    page = body(call(routes, "list_deployments", "proj/deployments?api-version=2023-04-01&maxpagesize=1"))
    assert [d["deploymentName"] for d in page["value"]] == ["prod"] and "assignedResources" not in page["value"][0]
    query = parse_qs(urlsplit(page["nextLink"]).query)
    assert query["skip"] == ["1"]
    rest = body(call(routes, "list_deployments", page["nextLink"]))
    assert [d["deploymentName"] for d in rest["value"]] == ["staging"] and rest["nextLink"] is None

    unknown = call(routes, "list_deployments", "proj/deployments", projectName="nope")
    assert unknown.status_code == 404 and unknown.headers["x-ms-error-code"] == "ProjectNotFound"


def test_resource_read_routes(settings: Settings, routes: dict[str, Any]) -> None:
    items = deployment_resources.parse_assign_body(
        {"resourcesMetadata": [{"azureResourceId": WEU, "customDomain": "weu", "region": "westeurope"}]}
    )
    deployment_resources.assign_resources(settings, "proj", items)
    add_deployment(settings, "prod")
    listed = body(call(routes, "list_deployment_resources", "proj/resources", "2025-05-15-preview"))
    assert listed == {"value": [{"azureResourceId": WEU, "region": "westeurope"}], "nextLink": None}
    assigned = body(call(routes, "list_assigned_resource_deployments", "global/deployments/resources"))
    assert assigned["value"][0]["projectName"] == "proj"
    assert [d["deploymentName"] for d in assigned["value"][0]["deploymentsMetadata"]] == ["prod"]


def test_exported_model_manifest_and_files(settings: Settings, routes: dict[str, Any]) -> None:
    prefix = "projects/proj/exported-models/exp1/job-1/"
    files = {"README.md": b"# card", "ner/model": b"\x00\x01weights", "config.cfg": b"[nlp]"}
    for relative, data in files.items():
        BlobStore(settings).put_bytes(prefix + relative, data)
    ExportedModelStore(settings).upsert(
        ExportedModelRecord(
            project_name="proj", exported_model_name="exp1", model_label="m1", model_id="m1-x",
            last_trained=utc_now(), last_exported=utc_now(), model_expiration_date=date(2099, 12, 31),
            training_config_version="2022-05-01", files_prefix=prefix, files=sorted(files),
        )
    )  # fmt: skip
    version = "2025-05-15-preview"
    got = body(call(routes, "get_exported_model", "proj/exported-models/exp1", version, exportedModelName="exp1"))
    assert got["exportedModelName"] == "exp1" and got["modelExpirationDate"] == "2099-12-31"
    listed = body(call(routes, "list_exported_models", "proj/exported-models", version))
    assert [item["exportedModelName"] for item in listed["value"]] == ["exp1"]

    manifest = body(call(routes, "get_exported_model_manifest", "proj/exported-models/exp1/manifest", version,
                         exportedModelName="exp1"))  # fmt: skip
    uris = {item["name"]: item["contentUri"] for item in manifest["modelFiles"]}
    assert sorted(uris) == sorted(files)
    assert uris["ner/model"] == f"{BASE}/proj/exported-models/exp1/files/ner/model?api-version={version}"
    for relative, data in files.items():
        response = call(routes, "get_exported_model_file", uris[relative], exportedModelName="exp1", filePath=relative)
        assert response.status_code == 200 and response.get_body() == data
    missing = call(routes, "get_exported_model_file", "proj/exported-models/exp1/files/x", version,
                   exportedModelName="exp1", filePath="../x")  # fmt: skip
    # A path that could leave the model's folder is refused before storage, naming the parameter (issue 10).
    assert missing.status_code == 400 and body(missing)["error"]["target"] == "filePath"


def test_a_job_is_found_only_below_the_name_it_belongs_to(settings: Settings, routes: dict[str, Any]) -> None:
    # Jobs of deployment "prod" (deploy, delete-from-resources) and exported model "exp1", recorded as the
    # start functions record them; polled below another name they are unknown (404 naming the job).
    cases = [
        (DEPLOYMENT, "get_deployment_job", "deploymentName", "prod", "proj/deployments/{}/jobs/{}"),
        (DEPLOYMENT_RESOURCES_DELETION, "get_delete_from_resources_job", "deploymentName", "prod",
         "proj/deployments/{}/delete-from-resources/jobs/{}"),
        (EXPORTED_MODEL, "get_exported_model_job", "exportedModelName", "exp1", "proj/exported-models/{}/jobs/{}"),
    ]  # fmt: skip
    for kind, route_name, parameter, owner, template in cases:
        job = start_job(settings, kind, "proj", subject_name=owner)
        own = call(routes, route_name, template.format(owner, job.job_id), **{parameter: owner, "jobId": job.job_id})
        assert own.status_code == 200 and body(own)["jobId"] == job.job_id, own.get_body()

        other = call(routes, route_name, template.format("other", job.job_id),
                     **{parameter: "other", "jobId": job.job_id})  # fmt: skip
        assert other.status_code == 404, (route_name, other.get_body())
        error = body(other)["error"]
        assert error["code"] == "OperationNotFound" and error["target"] == "jobId" and job.job_id in error["message"]
