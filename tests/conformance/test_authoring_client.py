"""Microsoft's ``azure-ai-textanalytics-authoring`` client against our service on the local host.

The whole authoring flow runs through the real client (default api-version ``2025-05-15-preview``):
create a project, import the generated sample, train and wait on the client's poller, read and list
jobs, cancel a second job, list/get models, read the evaluation, export, delete a model and the project.

The host is ``python -m devhost start`` as a subprocess on a free port, pointed at the test Azurite.
The tests share one project and run in file order.

What the client does that the REST spec does not say (recorded here and in the API notes):
* azure-core's poller only treats ``succeeded``/``canceled``/``failed`` as terminal, so the poller of
  ``begin_cancel_training_job`` never finishes on the spec's ``cancelled``; the job's status is checked instead.
* ``TextAuthoringClient.get_project_client`` drops ``api_version`` and ``polling_interval``; the project
  client is built directly to poll quickly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.storage.blob import BlobServiceClient

from devhost.azurite import Azurite

pytestmark = [pytest.mark.conformance, pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
KEY = "conformance-key"
READY_TIMEOUT = 180.0
JOB_TIMEOUT = 600.0

authoring = pytest.importorskip("azure.ai.textanalytics.authoring")


@dataclass
class Service:
    endpoint: str
    connection: str
    project: str
    container: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(process: subprocess.Popen[bytes], endpoint: str, log_path: Path) -> None:
    url = f"{endpoint}/language/authoring/analyze-text/projects/global/languages"
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"devhost exited with {process.returncode}:\n{log_path.read_text(errors='replace')[-4000:]}")
        try:
            response = requests.get(
                url, params={"api-version": "2023-04-01"}, headers={"Ocp-Apim-Subscription-Key": KEY}, timeout=5
            )
            if response.status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"devhost not ready after {READY_TIMEOUT:.0f}s:\n{log_path.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def service(azurite: Azurite) -> Iterator[Service]:
    """The function app on the local host, with its own tables, containers, queues and task hub."""
    if not (ROOT / "devhost" / "__main__.py").exists():
        pytest.skip("devhost/__main__.py does not exist yet")
    tag = "c" + uuid.uuid4().hex[:12]
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "AzureWebJobsStorage": azurite.connection_string,
            "NER_STORAGE_CONNECTION": azurite.connection_string,
            "NER_APP_CONTAINER": f"{tag}-app",
            "NER_TABLE_PREFIX": tag,
            "NER_TASK_HUB": f"{tag}hub",
            "NER_EVENTS_QUEUE": f"{tag}-events",
            "NER_TRAIN_REQUESTS_QUEUE": f"{tag}-train",
            "LANGUAGE_API_KEYS": KEY,
            # A small training budget: the point is the protocol, not the model's quality.
            "NER_TRAIN_MAX_STEPS": "60",
            "NER_TRAIN_EVAL_FREQUENCY": "20",
            "NER_TRAIN_PATIENCE": "60",
            "NER_TRAIN_CHUNK_SECONDS": "5",
        }
    )
    log_file = tempfile.NamedTemporaryFile(prefix="devhost-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    command = [sys.executable, "-m", "devhost", "start", "--app-dir", str(ROOT), "--port", str(port), "--no-azurite"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(process, endpoint, log_path)
        yield Service(endpoint=endpoint, connection=azurite.connection_string, project=f"{tag}-proj",
                      container=f"{tag}-docs")
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log_file.close()


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
    assert model.has_snapshot is True and model.model_training_config_version == "2026-11-29"

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
