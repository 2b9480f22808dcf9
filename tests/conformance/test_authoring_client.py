"""Microsoft's ``azure-ai-textanalytics-authoring`` client against our service on the local host.

The whole authoring flow runs through the real client (default api-version ``2025-05-15-preview``):
create a project, import the generated sample, train and wait on the client's poller, read and list
jobs, cancel a second job, list/get models, read the evaluation, export, delete a model and the project.

The host is the shared e2e one (``tests.e2e.conftest.start_app_host`` over ``devhost.testing``: its own
session, tables, containers, queues and task hub on the test Azurite).
The tests share one project and run in file order.

What the client does that the REST spec does not say (recorded here and in the API notes):
* azure-core's poller only treats ``succeeded``/``canceled``/``failed`` as terminal, so the poller of
  ``begin_cancel_training_job`` never finishes on the spec's ``cancelled``; the job's status is checked instead.
* ``TextAuthoringClient.get_project_client`` drops ``api_version`` and ``polling_interval``; the project
  client is built directly to poll quickly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.storage.blob import BlobServiceClient

from devhost.azurite import Azurite
from tests.e2e.conftest import KEY, HostNames, start_app_host

pytestmark = [pytest.mark.conformance, pytest.mark.e2e, pytest.mark.slow]

JOB_TIMEOUT = 600.0

authoring = pytest.importorskip("azure.ai.textanalytics.authoring")


@dataclass
class Service:
    endpoint: str
    connection: str
    project: str
    container: str


@pytest.fixture(scope="module")
def service(azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The function app on the local host, with its own tables, containers, queues and task hub."""
    names = HostNames()
    env = names.env(azurite.connection_string)
    # A small training budget: the point is the protocol, not the model's quality.
    env.update({"NER_TRAIN_MAX_STEPS": "60", "NER_TRAIN_EVAL_FREQUENCY": "20", "NER_TRAIN_PATIENCE": "60"})
    host = start_app_host(env, tmp_path_factory.mktemp("devhost") / f"{names.tag}.log")
    try:
        yield Service(endpoint=host.endpoint, connection=azurite.connection_string, project=f"{names.tag}-proj",
                      container=f"{names.tag}-docs")
    finally:
        host.stop()


@pytest.fixture(scope="module")
def client(service: Service) -> Any:
    return authoring.TextAuthoringClient(service.endpoint, AzureKeyCredential(KEY), polling_interval=0.5)


@pytest.fixture(scope="module")
def project_client(service: Service) -> Any:
    # get_project_client() would drop polling_interval (30 s default): build the client directly.
    return authoring.TextAuthoringProjectClient(
        service.endpoint, AzureKeyCredential(KEY), project_name=service.project, polling_interval=0.5
    )


def begin(method: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, str]:
    """Call a ``begin_*`` method; return its poller and the ``operation-location`` of the 202."""
    responses: list[Any] = []
    poller = method(*args, raw_response_hook=lambda pipeline: responses.append(pipeline.http_response), **kwargs)
    return poller, responses[0].headers["operation-location"]


def get_json(project_client: Any, url: str) -> dict[str, Any]:
    response = project_client.send_request(HttpRequest("GET", url))
    assert response.status_code == 200, response.text()
    body: dict[str, Any] = response.json()
    return body


def test_create_and_import_project(service: Service, client: Any, project_client: Any) -> None:
    from samples.generate import generate_sample_project

    project_file, documents = generate_sample_project(project_name=service.project, container=service.container)
    container = BlobServiceClient.from_connection_string(service.connection).get_container_client(service.container)
    container.create_container()
    for location, data in documents.items():
        container.upload_blob(location, data)

    created = client.create_project(
        service.project,
        {
            "projectKind": "CustomEntityRecognition",
            "storageInputContainerName": service.container,
            "projectName": service.project,
            "language": "en-us",
            "description": "conformance",
        },
    )
    assert created.project_name == service.project
    assert created.created_on is not None

    poller, location = begin(project_client.project.begin_import, project_file)
    assert location.startswith(f"{service.endpoint}/language/authoring/analyze-text/projects/{service.project}/import/jobs/")
    assert "api-version=2025-05-15-preview" in location
    poller.result(timeout=JOB_TIMEOUT)
    assert poller.status() == "succeeded"

    names = [project.project_name for project in client.list_projects()]
    assert service.project in names
    assert project_client.project.get_project().description == project_file["metadata"]["description"]


def test_train_and_read_jobs(service: Service, project_client: Any) -> None:
    body = {
        "modelLabel": "m1",
        "trainingConfigVersion": "latest",
        "evaluationOptions": {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20},
    }
    poller, location = begin(project_client.project.begin_train, body)
    assert f"/projects/{service.project}/train/jobs/" in location
    result = poller.result(timeout=JOB_TIMEOUT)
    assert poller.status() == "succeeded"
    assert result.model_label == "m1"
    assert result.training_status.status == "succeeded"
    assert result.training_status.percent_complete == 100

    job = get_json(project_client, location)
    assert job["status"] == "succeeded" and job["result"]["evaluationStatus"]["status"] == "succeeded"
    jobs = list(project_client.project.list_training_jobs())
    assert job["jobId"] in [j.job_id for j in jobs]
    assert all(j.expires_on > j.created_on for j in jobs)


def test_cancel_second_training_job(service: Service, project_client: Any) -> None:
    _, location = begin(project_client.project.begin_train, {"modelLabel": "m2", "trainingConfigVersion": "latest"})
    job_id = location.split("/train/jobs/")[1].split("?")[0]
    cancel_poller, cancel_location = begin(project_client.project.begin_cancel_training_job, job_id)
    assert cancel_location == location

    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        status = get_json(project_client, location)["status"]
        if status == "cancelled":
            break
        time.sleep(0.5)
    assert status == "cancelled"
    listed = {j.job_id: j.status for j in project_client.project.list_training_jobs()}
    assert listed[job_id] == "cancelled"
    # azure-core's poller does not know "cancelled" as terminal (it knows "canceled"): it keeps polling.
    assert not cancel_poller.done()
    with pytest.raises(ResourceNotFoundError):
        project_client.trained_model.get_trained_model("m2")


def test_models_and_evaluation(project_client: Any) -> None:
    models = list(project_client.project.list_trained_models())
    assert [model.label for model in models] == ["m1"]
    model = project_client.trained_model.get_trained_model("m1")
    assert model.has_snapshot is True and model.model_training_config_version == "2026-11-29.1"

    summary = project_client.trained_model.get_model_evaluation_summary("m1")
    assert summary.project_kind == "CustomEntityRecognition"
    evaluation = summary.custom_entity_recognition_evaluation
    assert 0.0 <= evaluation.micro_f1 <= 1.0
    assert summary.evaluation_options.kind == "percentage"

    results = list(
        project_client.trained_model.list_model_evaluation_results("m1", string_index_type="Utf16CodeUnit", top=100)
    )
    assert results, "evaluation results list the test documents"
    first = results[0]
    assert first.project_kind == "CustomEntityRecognition"
    region = first.custom_entity_recognition_result.entities[0]
    assert region.region_length > 0
    assert all(entity.length > 0 for entity in region.expected_entities)


def test_export_project(project_client: Any) -> None:
    poller, location = begin(project_client.project.begin_export, string_index_type="Utf16CodeUnit")
    poller.result(timeout=JOB_TIMEOUT)
    state = get_json(project_client, location)
    exported = get_json(project_client, state["resultUrl"])
    assert exported["metadata"]["projectKind"] == "CustomEntityRecognition"
    assert len(exported["assets"]["documents"]) >= 10


def test_delete_model_then_project(service: Service, client: Any, project_client: Any) -> None:
    project_client.trained_model.delete_trained_model("m1")
    with pytest.raises(ResourceNotFoundError):
        project_client.trained_model.get_trained_model("m1")

    poller, location = begin(client.begin_delete_project, service.project)
    assert "/projects/global/deletion-jobs/" in location
    poller.result(timeout=JOB_TIMEOUT)
    assert poller.status() == "succeeded"
    with pytest.raises(ResourceNotFoundError):
        client.get_project(service.project)
