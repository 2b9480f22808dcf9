"""Deployments and exported models over HTTP on the local host, with really trained (tiny) models.

One project, two trainings of label ``m1`` and one of ``m2``; the tests run in file order and share it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devhost.azurite import Azurite
from tests.e2e.conftest import (
    Api,
    HostNames,
    HostProcess,
    assert_error,
    assert_operation_location,
    eventually,
    imported_sample,
    queue_client,
    train,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

JOB_TIMEOUT = 600.0
PREVIEW = "2025-05-15-preview"
WEU = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/LangWeu"


@pytest.fixture(scope="module")
def names() -> HostNames:
    return HostNames()


@pytest.fixture(scope="module")
def host(host_factory: Callable[..., HostProcess], names: HostNames) -> HostProcess:
    return host_factory(names)


@pytest.fixture(scope="module")
def api(host: HostProcess) -> Api:
    return Api(host.endpoint)


@pytest.fixture(scope="module")
def project(api: Api, azurite: Azurite) -> str:
    name = "dep-" + HostNames().tag
    imported_sample(api, azurite.connection_string, name, documents=30)
    job = api.wait_job(train(api, name, "m1"), timeout=JOB_TIMEOUT)
    assert job["status"] == "succeeded", job
    return name


def deploy(api: Api, project: str, deployment: str, label: str, **extra: Any) -> dict[str, Any]:
    response = api.request("PUT", f"{project}/deployments/{deployment}", json_body={"trainedModelLabel": label, **extra})
    location = assert_operation_location(response, api.endpoint, f"{project}/deployments/{deployment}/jobs/")
    return api.wait_job(location, timeout=JOB_TIMEOUT)


def model_id(api: Api, project: str, label: str) -> str:
    response = api.get(f"{project}/models/{label}")
    assert response.status_code == 200, response.text
    return str(response.json()["modelId"])


def test_deploy_get_list_and_project_stamp(api: Api, project: str) -> None:
    assert_error(api.request("PUT", f"{project}/deployments/prod", json_body={"trainedModelLabel": "nope"}),
                 400, "InvalidArgument", "nope", "trainedModelLabel")  # fmt: skip
    assert_error(api.get(f"{project}/deployments/prod"), 404, "NotFound", "prod")

    job = deploy(api, project, "prod", "m1")
    assert job["status"] == "succeeded", job
    assert set(job) >= {"jobId", "createdDateTime", "lastUpdatedDateTime", "expirationDateTime", "status"}

    body = api.get(f"{project}/deployments/prod").json()
    assert body["modelId"] == model_id(api, project, "m1")
    assert body["deploymentExpirationDate"] == "2099-12-31" and "assignedResources" not in body
    assert api.get(f"{project}").json()["lastDeployedDateTime"] == body["lastDeployedDateTime"]
    items, _ = api.follow_pages(f"{project}/deployments")
    assert [item["deploymentName"] for item in items] == ["prod"]


def test_deploy_and_swap_jobs_publish_cloud_events(api: Api, project: str, azurite: Azurite, names: HostNames) -> None:
    response = api.post(f"{project}/deployments/:swap", {"firstDeploymentName": "prod", "secondDeploymentName": "nope"})
    assert_error(response, 404, "NotFound", "nope")
    job = deploy(api, project, "canary", "m1")
    subject = f"projects/{project}/jobs/deployment/{job['jobId']}"
    events = queue_client(azurite.connection_string, names.events_queue)

    received: list[dict[str, Any]] = []

    def statuses() -> list[str] | None:
        # Received (hidden for 10 minutes), not peeked: peeking shows only the first 32 of the queue.
        received.extend(json.loads(m.content) for m in events.receive_messages(messages_per_page=32, visibility_timeout=600))
        found = [e["data"]["status"] for e in sorted(received, key=lambda e: e["time"]) if e["subject"] == subject]
        return found if "succeeded" in found else None

    seen = eventually(statuses, f"the events of {subject}")
    assert seen[0] == "notStarted" and seen[-1] == "succeeded"
    delete = api.delete(f"{project}/deployments/canary")
    assert api.wait_job(delete.headers["operation-location"])["status"] == "succeeded"


def test_retraining_does_not_change_a_live_deployment(api: Api, project: str) -> None:
    served = api.get(f"{project}/deployments/prod").json()["modelId"]
    assert api.wait_job(train(api, project, "m1"), timeout=JOB_TIMEOUT)["status"] == "succeeded"
    retrained = model_id(api, project, "m1")
    assert retrained != served
    assert api.get(f"{project}/deployments/prod").json()["modelId"] == served

    assert deploy(api, project, "prod", "m1")["status"] == "succeeded"
    assert api.get(f"{project}/deployments/prod").json()["modelId"] == retrained


def test_deleting_a_deployed_model_is_refused(api: Api, project: str) -> None:
    assert_error(api.delete(f"{project}/models/m1"), 409, "Conflict", "m1", "prod")
    assert api.get(f"{project}/models/m1").status_code == 200


def test_swap_and_delete(api: Api, project: str) -> None:
    assert api.wait_job(train(api, project, "m2"), timeout=JOB_TIMEOUT)["status"] == "succeeded"
    assert deploy(api, project, "staging", "m2")["status"] == "succeeded"
    before = {d: api.get(f"{project}/deployments/{d}").json()["modelId"] for d in ("prod", "staging")}

    assert_error(api.post(f"{project}/deployments/:swap", {"firstDeploymentName": "prod"}),
                 400, "InvalidArgument", "secondDeploymentName")  # fmt: skip
    response = api.post(f"{project}/deployments/:swap", {"firstDeploymentName": "prod", "secondDeploymentName": "staging"})
    location = assert_operation_location(response, api.endpoint, f"{project}/deployments/swap/jobs/")
    assert api.wait_job(location, timeout=JOB_TIMEOUT)["status"] == "succeeded"
    after = {d: api.get(f"{project}/deployments/{d}").json()["modelId"] for d in ("prod", "staging")}
    assert after == {"prod": before["staging"], "staging": before["prod"]}

    response = api.delete(f"{project}/deployments/staging")
    location = assert_operation_location(response, api.endpoint, f"{project}/deployments/staging/jobs/")
    assert api.wait_job(location, timeout=JOB_TIMEOUT)["status"] == "succeeded"
    assert_error(api.get(f"{project}/deployments/staging"), 404, "NotFound", "staging")
    assert_error(api.delete(f"{project}/deployments/staging"), 404, "NotFound", "staging")


def test_resource_assignment_routes(api: Api, project: str) -> None:
    preview = Api(api.endpoint, api_version=PREVIEW)
    body = {"resourcesMetadata": [{"azureResourceId": WEU, "customDomain": "weu.example", "region": "westeurope"}]}
    response = preview.post(f"{project}/resources/:assign", body)
    location = response.headers["operation-location"]
    assert response.status_code == 202 and f"/{project}/resources/assign/jobs/" in location
    assert preview.wait_job(location)["status"] == "succeeded"
    assert preview.get(f"{project}/resources").json()["value"] == [{"azureResourceId": WEU, "region": "westeurope"}]

    response = preview.request("PUT", f"{project}/deployments/prod",
                               json_body={"trainedModelLabel": "m2", "assignedResourceIds": [WEU]})  # fmt: skip
    assert preview.wait_job(response.headers["operation-location"], timeout=JOB_TIMEOUT)["status"] == "succeeded"
    assert preview.get(f"{project}/deployments/prod").json()["assignedResources"] == [
        {"resourceId": WEU, "region": "westeurope"}
    ]
    listed = preview.get("global/deployments/resources").json()["value"]
    assert {"projectName": project, "deploymentsMetadata": [{
        "deploymentName": "prod",
        "lastDeployedDateTime": preview.get(f"{project}/deployments/prod").json()["lastDeployedDateTime"],
        "deploymentExpirationDate": "2099-12-31"}]} in listed  # fmt: skip

    response = preview.post(f"{project}/deployments/prod/:delete-from-resources", {"assignedResourceIds": [WEU]})
    location = response.headers["operation-location"]
    assert response.status_code == 202 and "/deployments/prod/delete-from-resources/jobs/" in location
    assert preview.wait_job(location)["status"] == "succeeded"
    assert preview.get(f"{project}/deployments/prod").json()["assignedResources"] == []

    response = preview.post(f"{project}/resources/:unassign", {"assignedResourceIds": [WEU]})
    assert preview.wait_job(response.headers["operation-location"])["status"] == "succeeded"
    assert preview.get(f"{project}/resources").json()["value"] == []


def test_exported_model_downloads_and_loads(api: Api, project: str, tmp_path: Path) -> None:
    preview = Api(api.endpoint, api_version=PREVIEW)
    response = preview.request("PUT", f"{project}/exported-models/exp1", json_body={"trainedModelLabel": "m2"})
    location = response.headers["operation-location"]
    assert response.status_code == 202 and f"/{project}/exported-models/exp1/jobs/" in location
    assert preview.wait_job(location, timeout=JOB_TIMEOUT)["status"] == "succeeded"
    assert preview.get(f"{project}/exported-models/exp1").json()["modelId"] == model_id(api, project, "m2")

    manifest = preview.get(f"{project}/exported-models/exp1/manifest").json()
    folder = tmp_path / "exp1"
    for item in manifest["modelFiles"]:
        download = preview.get(item["contentUri"])
        assert download.status_code == 200, download.text
        target = folder / item["name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(download.content)
    without_key = Api(api.endpoint, key=None, api_version=PREVIEW).get(manifest["modelFiles"][0]["contentUri"])
    assert without_key.status_code == 401
    # As the model card says: the default (Brown-cluster) config's layer is imported from the folder first.
    assert "import custom_ner" in (folder / "README.md").read_text()
    script = (
        "import json, sys, spacy; sys.path.insert(0, sys.argv[2]); import custom_ner; nlp = spacy.load(sys.argv[1]);"
        " print(json.dumps(sorted(nlp.get_pipe('ner').labels)))"
    )
    command = [sys.executable, "-I", "-c", script, str(folder), str(folder / "code")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(json.loads(done.stdout)) == {"Vendor", "Product", "Quantity", "DeliveryDate", "DeliveryCity"}
    assert "Custom NER model `m2`" in (folder / "README.md").read_text()

    response = preview.delete(f"{project}/exported-models/exp1")
    assert preview.wait_job(response.headers["operation-location"])["status"] == "succeeded"
    assert_error(preview.get(f"{project}/exported-models/exp1"), 404, "NotFound", "exp1")
