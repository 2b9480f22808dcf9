"""Project use cases on Azurite: merge-patch create/update, import, export, deletion and load-snapshot.

Operations are run the way their activity runs them (``run_operation``), without the Durable host.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, TextBase64DecodePolicy

from samples.generate import generate_sample_project
from shared.config import Settings
from shared.errors import Conflict, InvalidArgument, OperationNotFound, ProjectNotFound
from shared.jobs import kinds, workspace
from shared.jobs.apply import claim_training_slot
from shared.models import EvaluationOptions, JobStatus, TrainedModelRecord, utc_now
from shared.operations import deletion, exports, imports, snapshots
from shared.operations.requests import OperationRequest, get_operation_job
from shared.operations.run import abandon_operation, run_operation
from shared.service import projects
from shared.storage.blobs import BlobStore
from shared.storage.trained_models import ModelStore

pytestmark = pytest.mark.integration


@pytest.fixture
def sample(settings: Settings, storage_connection: str, unique_name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A small sample project whose documents are uploaded to their own input container."""
    container = f"{unique_name}-in"
    project_file, documents = generate_sample_project(project_name="orders", container=container, documents=12)
    client = BlobServiceClient.from_connection_string(storage_connection).get_container_client(container)
    client.create_container()
    for location, data in documents.items():
        client.upload_blob(location, data)
    yield container, project_file
    client.delete_container()


def run(settings: Settings, op: OperationRequest) -> Any:
    """Run an operation as its activity would (through a JSON round trip of the request)."""
    return run_operation(settings, OperationRequest.from_dict(op.to_dict()))


def import_sample(settings: Settings, project_file: dict[str, Any]) -> None:
    job = run(settings, imports.start_import(settings, "orders", project_file))
    assert job.status == JobStatus.SUCCEEDED, job.errors


# -------------------------------------------------------------------------------------- create/update


def test_create_then_merge_patch_update(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    container, _ = sample
    body = {
        "projectKind": "CustomEntityRecognition",
        "storageInputContainerName": container,
        "projectName": "orders",
        "language": "en-us",
        "description": "first",
        "settings": {"a": 1, "b": {"c": 2}},
    }
    created, was_created = projects.create_or_update_project(settings, "orders", body)
    assert was_created
    assert created.to_public()["description"] == "first"

    patch = {"description": None, "multilingual": True, "settings": {"b": {"d": 3}, "a": None}}
    updated, was_created = projects.create_or_update_project(settings, "orders", patch)
    assert not was_created
    stored = projects.get_project(settings, "orders")
    assert stored.description is None
    assert stored.multilingual is True
    assert stored.settings == {"b": {"c": 2, "d": 3}}
    assert stored.created == created.created
    assert stored.last_modified >= created.last_modified
    assert [p.project_name for p in projects.list_projects(settings)] == ["orders"]


def test_create_reports_every_bad_field(settings: Settings) -> None:
    with pytest.raises(InvalidArgument) as caught:
        projects.create_or_update_project(
            settings, "orders", {"projectName": "other", "projectKind": "CustomSingleLabelClassification", "x": 1}
        )
    targets = {detail.target for detail in caught.value.details}
    assert {"projectName", "projectKind", "x", "storageInputContainerName", "language"} <= targets


def test_create_with_missing_container_names_it(settings: Settings, unique_name: str) -> None:
    body = {"projectKind": "CustomEntityRecognition", "storageInputContainerName": f"{unique_name}-none",
            "language": "en-us"}
    with pytest.raises(InvalidArgument) as caught:
        projects.create_or_update_project(settings, "orders", body)
    assert caught.value.target == "storageInputContainerName"
    assert f"{unique_name}-none" in caught.value.message
    with pytest.raises(ProjectNotFound):
        projects.get_project(settings, "orders")


def test_project_name_global_is_reserved(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    body = {"projectKind": "CustomEntityRecognition", "storageInputContainerName": sample[0], "language": "en-us"}
    with pytest.raises(InvalidArgument) as caught:
        projects.create_or_update_project(settings, "global", body)
    assert "reserved" in caught.value.message


# --------------------------------------------------------------------------------------------- import


def test_import_creates_the_project_and_stores_its_assets(
    settings: Settings, sample: tuple[str, dict[str, Any]]
) -> None:
    _, project_file = sample
    op = imports.start_import(settings, "orders", project_file)
    assert get_operation_job(settings, kinds.IMPORT, "orders", op.job_id).status == JobStatus.NOT_STARTED
    job = run(settings, op)
    assert job.status == JobStatus.SUCCEEDED
    assert get_operation_job(settings, kinds.IMPORT, "orders", op.job_id).to_public()["status"] == "succeeded"

    project = projects.get_project(settings, "orders")
    assert project.assets_blob == workspace.assets_blob("orders")
    expected_tests = sum(1 for d in project_file["assets"]["documents"] if d.get("dataset") == "Test")
    assert expected_tests > 0 and project.test_document_count == expected_tests
    assert project.description == project_file["metadata"]["description"]
    stored = BlobStore(settings).get_json(project.assets_blob)
    assert len(stored["assets"]["documents"]) == len(project_file["assets"]["documents"])
    assert BlobStore(settings).list_names(f"{workspace.project_prefix('orders')}imports/") == []


def test_import_job_state_changes_are_published_as_events(
    settings: Settings, sample: tuple[str, dict[str, Any]]
) -> None:
    op = imports.start_import(settings, "orders", sample[1])
    run(settings, op)
    queue = QueueClient.from_connection_string(
        settings.storage_connection, settings.events_queue, message_decode_policy=TextBase64DecodePolicy()
    )
    events = [json.loads(m.content) for m in queue.receive_messages(max_messages=32)]
    statuses = [e["data"]["status"] for e in events if op.job_id in e["subject"]]
    assert statuses == ["notStarted", "running", "succeeded"]


def test_import_schema_errors_are_reported_at_once(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    bad = copy.deepcopy(sample[1])
    bad["assets"]["documents"][0]["entities"][0]["labels"][0]["offset"] = "ten"
    with pytest.raises(InvalidArgument) as caught:
        imports.start_import(settings, "orders", bad)
    assert any("documents[0]" in (detail.target or "") for detail in caught.value.details)


def test_import_url_name_must_match_metadata(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    with pytest.raises(InvalidArgument):
        imports.start_import(settings, "other-name", sample[1])


def test_import_with_missing_document_fails_the_job_naming_it(
    settings: Settings, sample: tuple[str, dict[str, Any]]
) -> None:
    bad = copy.deepcopy(sample[1])
    bad["assets"]["documents"][0]["location"] = "missing-document.txt"
    job = run(settings, imports.start_import(settings, "orders", bad))
    assert job.status == JobStatus.FAILED
    assert "missing-document.txt" in job.errors[0]["message"]
    with pytest.raises(ProjectNotFound):
        projects.get_project(settings, "orders")


def test_import_with_label_past_the_text_fails_naming_the_document(
    settings: Settings, sample: tuple[str, dict[str, Any]]
) -> None:
    bad = copy.deepcopy(sample[1])
    document = bad["assets"]["documents"][1]
    region = document["entities"][0]
    region["regionLength"] = 10_000_000
    job = run(settings, imports.start_import(settings, "orders", bad))
    assert job.status == JobStatus.FAILED
    assert document["location"] in str(job.errors[0])


def test_import_rejects_other_formats(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    with pytest.raises(InvalidArgument) as caught:
        imports.start_import(settings, "orders", sample[1], file_format="aml")
    assert caught.value.target == "format"


# --------------------------------------------------------------------------------------------- export


def test_export_writes_the_current_project_file(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    import_sample(settings, sample[1])
    projects.create_or_update_project(settings, "orders", {"description": "patched"})
    links: list[str] = []

    def link(path: str) -> str:
        links.append(path)
        return f"http://h/language/authoring/analyze-text/projects/{path}?api-version=2023-04-01"

    with pytest.raises(InvalidArgument):
        exports.start_export(settings, "orders", string_index_type=None, trained_model_label=None, link=link)
    op = exports.start_export(settings, "orders", string_index_type="Utf16CodeUnit", trained_model_label=None, link=link)
    with pytest.raises(Conflict):
        exports.get_export_result(settings, "orders", op.job_id)
    job = run(settings, op)
    assert job.status == JobStatus.SUCCEEDED
    public = get_operation_job(settings, kinds.EXPORT, "orders", op.job_id).to_public()
    assert public["resultUrl"].endswith(f"orders/export/jobs/{op.job_id}/result?api-version=2023-04-01")
    result = exports.get_export_result(settings, "orders", op.job_id)
    assert result["metadata"]["description"] == "patched"
    assert result["assets"]["documents"] == sample[1]["assets"]["documents"]


def test_export_of_unknown_project_or_model(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    with pytest.raises(ProjectNotFound):
        exports.start_export(settings, "nope", string_index_type="Utf16CodeUnit", trained_model_label=None, link=str)
    import_sample(settings, sample[1])
    with pytest.raises(Exception) as caught:
        exports.start_export(settings, "orders", string_index_type="Utf16CodeUnit", trained_model_label="m9", link=str)
    assert getattr(caught.value, "status", None) == 404


# ------------------------------------------------------------------------------------ snapshot + delete


def _add_model(settings: Settings, label: str, snapshot: dict[str, Any]) -> TrainedModelRecord:
    blobs = BlobStore(settings)
    prefix = f"{workspace.project_prefix('orders')}models/{label}/"
    for name, value in (("model.bin", None), ("summary.json", {}), ("docs.json", []), ("snapshot.json", snapshot)):
        if value is None:
            blobs.put_bytes(prefix + name, b"model")
        else:
            blobs.put_json(prefix + name, value)
    record = TrainedModelRecord(
        project_name="orders",
        label=label,
        model_id=f"{label}-id",
        job_id="job-1",
        last_trained=utc_now(),
        last_training_duration_seconds=3,
        model_expiration_date=date(2099, 12, 31),
        training_config_version="2022-05-01",
        evaluation_options=EvaluationOptions(),
        model_blob=prefix + "model.bin",
        evaluation_summary_blob=prefix + "summary.json",
        evaluation_documents_blob=prefix + "docs.json",
        snapshot_blob=prefix + "snapshot.json",
    )
    ModelStore(settings).upsert(record)
    return record


def test_load_snapshot_restores_the_models_assets(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    import_sample(settings, sample[1])
    snapshot = copy.deepcopy(sample[1])
    snapshot["assets"]["documents"] = snapshot["assets"]["documents"][:10]
    _add_model(settings, "m1", snapshot)
    job = run(settings, snapshots.start_load_snapshot(settings, "orders", "m1"))
    assert job.status == JobStatus.SUCCEEDED, job.errors
    assets = BlobStore(settings).get_json(projects.get_project(settings, "orders").assets_blob)
    assert [d["location"] for d in assets["assets"]["documents"]] == [
        d["location"] for d in snapshot["assets"]["documents"]
    ]
    assert snapshots.get_load_snapshot_job(settings, "orders", "m1", job.job_id).job_id == job.job_id
    with pytest.raises(OperationNotFound):  # the job loads m1: not found under another model's URL
        snapshots.get_load_snapshot_job(settings, "orders", "m2", job.job_id)


def test_delete_removes_project_models_and_blobs(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    import_sample(settings, sample[1])
    _add_model(settings, "m1", sample[1])
    BlobStore(settings).put_bytes("jobs/orders/job-1/checkpoint.bin", b"scratch")
    BlobStore(settings).put_bytes("jobs/orders-2/job-2/checkpoint.bin", b"another project's")
    op = deletion.start_deletion(settings, "orders")
    job = run(settings, op)
    assert job.status == JobStatus.SUCCEEDED
    assert job.project_name == kinds.GLOBAL_SCOPE
    assert get_operation_job(settings, kinds.DELETION, "", op.job_id).status == JobStatus.SUCCEEDED
    with pytest.raises(ProjectNotFound):
        projects.get_project(settings, "orders")
    assert ModelStore(settings).list("orders") == []
    assert BlobStore(settings).list_names(workspace.project_prefix("orders")) == []
    assert BlobStore(settings).list_names("jobs/orders") == ["jobs/orders-2/job-2/checkpoint.bin"]
    with pytest.raises(ProjectNotFound):
        deletion.start_deletion(settings, "orders")


def test_delete_refused_while_training_holds_the_slot(settings: Settings, sample: tuple[str, dict[str, Any]]) -> None:
    import_sample(settings, sample[1])
    claim_training_slot(settings, "orders", "job-running")
    with pytest.raises(Conflict) as caught:
        deletion.start_deletion(settings, "orders")
    assert "job-running" in caught.value.message


def test_abandoned_operation_is_failed_with_a_generic_error(
    settings: Settings, sample: tuple[str, dict[str, Any]]
) -> None:
    op = imports.start_import(settings, "orders", sample[1])
    job = abandon_operation(settings, op, "could not start")
    assert job.status == JobStatus.FAILED
    assert job.errors[0]["code"] == "InternalServerError"


def test_unknown_jobs_and_projects(settings: Settings) -> None:
    with pytest.raises(OperationNotFound):
        get_operation_job(settings, kinds.IMPORT, "orders", "nope_1")
    with pytest.raises(ProjectNotFound):
        projects.list_training_jobs(settings, "orders")
    with pytest.raises(ProjectNotFound):
        projects.get_training_job(settings, "orders", "nope_1")
