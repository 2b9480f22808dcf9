"""The training pipeline's steps (shared.training) end to end on Azurite, with a tiny real spaCy run.

The steps are called in the order the orchestrator calls them (its own logic is covered by the
replay tests in tests/unit/test_training_orchestrator.py), so these tests show what each step does
to the job row, the project's slot, the blobs and the trained models.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient

from shared.config import Settings, get_settings
from shared.errors import AppError, Conflict, InvalidArgument, NotFound, OperationNotFound, ProjectNotFound
from shared.jobs import runtime
from shared.jobs.failures import StepFailure, failure_from_text
from shared.jobs.workspace import scratch_prefix
from shared.models import JobStatus, ProjectRecord, utc_now
from shared.service.trained_models import training_config_versions
from shared.storage.blobs import BlobStore
from shared.storage.documents import MAX_DOCUMENT_BYTES
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore
from shared.storage.training_jobs import TrainingJobStore
from shared.training import caches, candidates, jobs, requests
from shared.training.payloads import (
    ChunkSummary,
    FailureReport,
    FinalizeRequest,
    FinalizeResult,
    JobRef,
    ShardTask,
)
from shared.training.steps import convert, evaluate, prepare, register, train

pytestmark = pytest.mark.integration

PROJECT = "loans"
ASSETS_BLOB = f"projects/{PROJECT}/assets.json"
PEOPLE = [
    "Alice",
    "Bruno",
    "Chen",
    "Dana",
    "Emil",
    "Fatima",
    "Goran",
    "Hana",
    "Ivan",
    "Julia",
    "Kofi",
    "Lena",
]
CITIES = [
    "Paris",
    "Lagos",
    "Osaka",
    "Lima",
    "Oslo",
    "Quito",
    "Rome",
    "Seoul",
    "Tunis",
    "Vienna",
    "Warsaw",
    "Zagreb",
]


def _documents() -> list[tuple[str, str, list[dict[str, Any]]]]:
    docs = []
    for index, (person, city) in enumerate(zip(PEOPLE, CITIES, strict=True)):
        text = f"Yesterday {person} signed the loan agreement in {city} before noon.\n"
        labels = [
            {"category": "Person", "offset": text.index(person), "length": len(person)},
            {"category": "City", "offset": text.index(city), "length": len(city)},
        ]
        docs.append((f"doc{index:02d}.txt", text, labels))
    return docs


def _project_file(container: str, documents: list[tuple[str, str, list[dict[str, Any]]]]) -> dict[str, Any]:
    return {
        "projectFileVersion": "2022-05-01",
        "stringIndexType": "Utf16CodeUnit",
        "metadata": {
            "projectKind": "CustomEntityRecognition",
            "storageInputContainerName": container,
            "projectName": PROJECT,
            "multilingual": False,
            "description": "pipeline test",
            "language": "en-us",
            "settings": {},
        },
        "assets": {
            "projectKind": "CustomEntityRecognition",
            "entities": [{"category": "Person"}, {"category": "City"}],
            "documents": [
                {
                    "location": location,
                    "language": "en-us",
                    "dataset": "Test" if index % 4 == 3 else "Train",
                    "entities": [{"regionOffset": 0, "regionLength": len(text), "labels": labels}],
                }
                for index, (location, text, labels) in enumerate(documents)
            ],
        },
    }


@pytest.fixture
def settings(app_settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("NER_TRAIN_MAX_STEPS", "12")
    monkeypatch.setenv("NER_TRAIN_EVAL_FREQUENCY", "4")
    monkeypatch.setenv("NER_TRAIN_PATIENCE", "100")
    monkeypatch.setenv("NER_TRAIN_CHUNK_SECONDS", "600")
    return get_settings()


def import_project(
    settings: Settings, container: str, documents: list[tuple[str, str, list[dict[str, Any]]]]
) -> dict[str, Any]:
    """Upload ``documents`` to a new input container and store the project; returns its project file."""
    service = BlobServiceClient.from_connection_string(settings.storage_connection)
    service.create_container(container)
    for location, text, _ in documents:
        service.get_blob_client(container, location).upload_blob(text.encode("utf-8"))
    project_file = _project_file(container, documents)
    BlobStore(settings).put_json(ASSETS_BLOB, project_file)
    now = utc_now()
    ProjectStore(settings).upsert(
        ProjectRecord(
            project_name=PROJECT,
            storage_input_container_name=container,
            language="en-us",
            created=now,
            last_modified=now,
            assets_blob=ASSETS_BLOB,
        )
    )
    return project_file


@pytest.fixture
def project(settings: Settings, unique_name: str) -> dict[str, Any]:
    """A project with 12 labelled documents in its own input container; returns its project file."""
    return import_project(settings, f"{unique_name}-input", _documents())


def _events(settings: Settings) -> list[dict[str, Any]]:
    queue = QueueClient.from_connection_string(settings.storage_connection, settings.events_queue)
    return [json.loads(base64.b64decode(m.content)) for m in queue.peek_messages(max_messages=32)]


def _run_pipeline(settings: Settings, job_id: str) -> FinalizeResult:
    """Call the steps as the orchestrator does (errors as the orchestrator would report them)."""
    ref = JobRef(PROJECT, job_id)
    phase = "splitting"
    try:
        prepared = prepare.prepare_training(settings, ref, shard_size=4)
        phase = "converting"
        for shard in prepared.all_shards:
            convert.convert_shard(settings, ShardTask(PROJECT, job_id, shard))
        phase = "training"
        plan = train.init_training(settings, ref)
        for _ in range(50):
            # A chunk records the job's progress itself (the orchestrator calls no progress activity).
            chunk = train.train_chunk(settings, ref)
            assert chunk.max_steps == plan.max_steps and chunk.percent_complete is not None
            if chunk.finished:
                break
        phase = "evaluating"
        train.start_evaluation(settings, ref)
        evaluations = [
            evaluate.evaluate_shard(settings, ShardTask(PROJECT, job_id, s)) for s in prepared.test_shards
        ]
        phase = "registering"
        return register.finalize_training(
            settings,
            FinalizeRequest(PROJECT, job_id, [e.counts for e in evaluations], [e.shard for e in evaluations]),
        )
    except AppError as error:
        reported = failure_from_text(StepFailure.from_error(error).to_text(), phase=phase).to_error()
        register.fail_training(settings, FailureReport(PROJECT, job_id, phase, [reported]))
        raise


@pytest.mark.slow
def test_training_job_succeeds_with_a_model_and_an_evaluation(
    settings: Settings, project: dict[str, Any]
) -> None:
    job = requests.create_training_job(
        settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    )
    assert job.status == JobStatus.NOT_STARTED
    assert job.expiration - job.created == timedelta(days=settings.job_ttl_days)

    result = _run_pipeline(settings, job.job_id)

    done = TrainingJobStore(settings).get(PROJECT, job.job_id)
    assert done.status == JobStatus.SUCCEEDED
    assert done.training_status.status == JobStatus.SUCCEEDED and done.training_status.percent_complete == 100
    assert (
        done.evaluation_status.status == JobStatus.SUCCEEDED
        and done.evaluation_status.percent_complete == 100
    )
    assert done.training_status.end is not None and done.evaluation_status.start is not None
    assert done.errors == []
    model = ModelStore(settings).get(PROJECT, "m1")
    assert model.model_id == result.model_id and model.job_id == job.job_id
    # A model reports the same expiration date as the training config it was trained with.
    config_expiry = {c["trainingConfigVersion"]: c["modelExpirationDate"] for c in training_config_versions()}
    assert model.to_public()["modelExpirationDate"] == config_expiry[model.training_config_version]
    blobs = BlobStore(settings)
    summary = blobs.get_json(model.evaluation_summary_blob)
    assert (
        summary["customEntityRecognitionEvaluation"]["entities"]
        or summary["customEntityRecognitionEvaluation"]
    )
    documents = blobs.get_json(model.evaluation_documents_blob)
    test_locations = {d["location"] for d in project["assets"]["documents"] if d["dataset"] == "Test"}
    assert test_locations <= {d["location"] for d in documents}
    assert all(d["projectKind"] == "CustomEntityRecognition" for d in documents)
    assert len(blobs.get_bytes(model.model_blob)) > 1000
    assert blobs.list_names(scratch_prefix(PROJECT, job.job_id)) == []
    stored_project = ProjectStore(settings).get(PROJECT)
    assert stored_project.running_job_id is None
    assert stored_project.last_trained is not None
    statuses = [e["data"].get("status") for e in _events(settings) if e["subject"].endswith(job.job_id)]
    assert statuses[0] == JobStatus.NOT_STARTED and JobStatus.RUNNING in statuses
    assert statuses[-1] == JobStatus.SUCCEEDED


@pytest.mark.slow
def test_two_candidates_train_from_their_own_checkpoints_and_the_better_one_is_registered(
    settings: Settings, project: dict[str, Any]
) -> None:
    wide = dataclasses.replace(settings, train_candidates=2)
    job = requests.create_training_job(wide, PROJECT, {"modelLabel": "wide", "trainingConfigVersion": "latest"})
    refs = [JobRef(PROJECT, job.job_id, candidate) for candidate in range(2)]
    workspace = refs[0].workspace
    blobs = BlobStore(wide)
    prepared = prepare.prepare_training(wide, refs[0], shard_size=4)
    assert prepared.candidates == 2
    for shard in prepared.all_shards:
        convert.convert_shard(wide, ShardTask(PROJECT, job.job_id, shard))
    for ref in refs:  # the orchestrator runs these (and each round of chunks) as parallel activities
        train.init_training(wide, ref)
    checkpoints = [blobs.get_bytes(workspace.candidate_checkpoint(n)) for n in range(2)]
    assert checkpoints[0] != checkpoints[1]  # seeds seed and seed+1: different initial weights

    last: list[ChunkSummary | None] = [None, None]
    for _ in range(50):
        for n in [n for n in range(2) if last[n] is None or not last[n].finished]:  # type: ignore[union-attr]
            last[n] = train.train_chunk(wide, refs[n])
        if all(chunk is not None and chunk.finished for chunk in last):
            break
    chunks = [chunk for chunk in last if chunk is not None]
    assert all(chunk.stop_reason != "cancelled" and chunk.best_score is not None for chunk in chunks)
    assert TrainingJobStore(wide).get(PROJECT, job.job_id).training_status.percent_complete == 100
    chosen = candidates.choose([chunk.best_score for chunk in chunks])
    assert chunks[chosen].best_score == max(chunk.best_score or 0.0 for chunk in chunks)

    train.start_evaluation(wide, refs[chosen])
    # only the chosen candidate's checkpoint is left of the candidates' scratch
    left = [name for name in blobs.list_names(workspace.prefix) if "checkpoint" in name or "candidates/" in name]
    assert left == [workspace.candidate_checkpoint(chosen)]
    evaluations = [evaluate.evaluate_shard(wide, ShardTask(PROJECT, job.job_id, s)) for s in prepared.test_shards]
    result = register.finalize_training(
        wide, FinalizeRequest(PROJECT, job.job_id, [e.counts for e in evaluations], [e.shard for e in evaluations])
    )
    assert ModelStore(wide).get(PROJECT, "wide").model_id == result.model_id
    assert blobs.list_names(scratch_prefix(PROJECT, job.job_id)) == []


def test_job_progress_of_several_candidates_is_the_slowest_ones(settings: Settings) -> None:
    workspace = JobRef(PROJECT, "progress-job").workspace
    blobs = BlobStore(settings)
    manifest = {"candidates": 3}
    candidates.write_progress(blobs, workspace, 1, candidates.CandidateProgress(40, 20.0, 40, finished=True))
    candidates.write_progress(blobs, workspace, 2, candidates.CandidateProgress(30, 30.0, 30))
    mine = candidates.CandidateProgress(50, 10.0, 50)

    overall = candidates.job_progress(blobs, workspace, manifest, (0, mine))

    # candidate 1 finished early: the job is as far as candidate 2, at the slowest pace seen (1 s/step)
    assert overall.step == 30 and not overall.finished and overall.seconds_per_step == 1.0
    mine.finished = True
    candidates.write_progress(blobs, workspace, 2, candidates.CandidateProgress(60, 30.0, 60, finished=True))
    done = candidates.job_progress(blobs, workspace, manifest, (0, mine))
    assert done.finished and done.step == 60
    # candidate 0 of a job from before fan-out finds its progress in the manifest
    assert candidates.read_progress(blobs, workspace, 0, {"step": 7, "timed_steps": 7}).step == 7


def test_missing_document_fails_the_job_naming_it_and_frees_the_slot(
    settings: Settings, project: dict[str, Any]
) -> None:
    service = BlobServiceClient.from_connection_string(settings.storage_connection)
    container = project["metadata"]["storageInputContainerName"]
    service.get_blob_client(container, "doc05.txt").delete_blob()
    job = requests.create_training_job(
        settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    )

    with pytest.raises(InvalidArgument):
        _run_pipeline(settings, job.job_id)

    failed = TrainingJobStore(settings).get(PROJECT, job.job_id)
    assert failed.status == JobStatus.FAILED
    assert failed.training_status.status == JobStatus.FAILED
    assert "doc05.txt" in json.dumps(failed.errors)
    assert ProjectStore(settings).get(PROJECT).running_job_id is None
    with pytest.raises(NotFound) as missing:
        ModelStore(settings).get(PROJECT, "m1")
    assert "m1" in str(missing.value)
    # The slot is free again: a new job can start.
    again = requests.create_training_job(
        settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    )
    assert again.job_id != job.job_id


def test_label_outside_its_document_is_reported_with_document_and_offset(
    settings: Settings, project: dict[str, Any]
) -> None:
    broken = json.loads(json.dumps(project))
    label = broken["assets"]["documents"][2]["entities"][0]["labels"][0]
    label["offset"] = 5000
    broken["assets"]["documents"][2]["entities"][0]["regionLength"] = 6000
    BlobStore(settings).put_json(ASSETS_BLOB, broken)
    job = requests.create_training_job(
        settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    )

    with pytest.raises(InvalidArgument):
        _run_pipeline(settings, job.job_id)

    failed = TrainingJobStore(settings).get(PROJECT, job.job_id)
    assert failed.status == JobStatus.FAILED
    reported = json.dumps(failed.errors)
    assert "doc02.txt" in reported and "5000" in reported
    # Labels are checked where the documents are read, when their shard is converted.
    assert failed.phase == "converting"
    assert ProjectStore(settings).get(PROJECT).running_job_id is None


def test_every_unusable_document_is_named_before_any_training(
    settings: Settings, project: dict[str, Any]
) -> None:
    service = BlobServiceClient.from_connection_string(settings.storage_connection)
    container = project["metadata"]["storageInputContainerName"]
    service.get_blob_client(container, "doc01.txt").delete_blob()
    service.get_blob_client(container, "doc04.txt").upload_blob(b"", overwrite=True)
    service.get_blob_client(container, "doc07.txt").upload_blob(
        b"a" * (MAX_DOCUMENT_BYTES + 1), overwrite=True
    )
    job = requests.create_training_job(
        settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    )

    with pytest.raises(InvalidArgument):
        _run_pipeline(settings, job.job_id)

    failed = TrainingJobStore(settings).get(PROJECT, job.job_id)
    assert failed.status == JobStatus.FAILED and failed.phase == "splitting"
    (error,) = failed.errors
    assert "3 document(s)" in error["message"]
    assert [detail["target"] for detail in error["details"]] == ["doc01.txt", "doc04.txt", "doc07.txt"]


def test_undecodable_document_and_bad_label_fail_their_shard_naming_both(
    settings: Settings, project: dict[str, Any]
) -> None:
    job = requests.create_training_job(
        settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    )
    ref = JobRef(PROJECT, job.job_id)
    prepare.prepare_training(settings, ref, shard_size=100)
    manifest = BlobStore(settings).get_json(
        scratch_prefix(PROJECT, job.job_id) + "manifest.json"
    )
    undecodable, mislabelled = manifest["shards"]["train-0000"][:2]
    # Break two documents of one shard after the split: only reading them can tell.
    service = BlobServiceClient.from_connection_string(settings.storage_connection)
    container = project["metadata"]["storageInputContainerName"]
    service.get_blob_client(container, undecodable).upload_blob("caf\u00e9".encode("latin-1"), overwrite=True)
    service.get_blob_client(container, mislabelled).upload_blob(b"Too short.", overwrite=True)

    with pytest.raises(InvalidArgument) as caught:
        convert.convert_shard(settings, ShardTask(PROJECT, job.job_id, "train-0000"))

    assert "2 document(s)" in caught.value.message
    targets = json.dumps([detail.to_dict() for detail in caught.value.details])
    assert undecodable in targets and "UTF-8" in targets
    assert mislabelled in targets


class _CountingBlobs(BlobStore):
    downloads = 0

    def get_bytes_and_etag(self, name: str) -> tuple[bytes, str | None]:
        self.downloads += 1
        return super().get_bytes_and_etag(name)


def test_checkpoint_written_elsewhere_is_downloaded_again(settings: Settings) -> None:
    name = "jobs/cache-test/job-1/checkpoint.bin"
    cache = caches.CheckpointCache()
    blobs = BlobStore(settings)
    cache.write(blobs, name, b"written here")
    assert cache.read(blobs, name) == b"written here"
    blobs.put_bytes(name, b"written by another worker")
    assert cache.read(blobs, name) == b"written by another worker"
    # a second candidate's checkpoint in the same process does not evict the first one's
    counting = _CountingBlobs(settings)
    other = "jobs/cache-test/job-1/candidates/1/checkpoint.bin"
    cache.write(counting, name, b"candidate 0")
    cache.write(counting, other, b"candidate 1")
    assert cache.read(counting, name) == b"candidate 0" and cache.read(counting, other) == b"candidate 1"
    assert counting.downloads == 0
    blobs.delete(other)
    blobs.delete(name)
    with pytest.raises(NotFound):
        cache.read(blobs, name)


def test_second_job_conflicts_while_the_first_holds_the_slot(
    settings: Settings, project: dict[str, Any]
) -> None:
    requests.create_training_job(
        settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    )

    with pytest.raises(Conflict):
        requests.create_training_job(
            settings, PROJECT, {"modelLabel": "m2", "trainingConfigVersion": "latest"}
        )


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"trainingConfigVersion": "latest"}, "modelLabel"),
        ({"modelLabel": "m1"}, "trainingConfigVersion"),
        ({"modelLabel": "m1", "trainingConfigVersion": "2019-01-01"}, "trainingConfigVersion"),
        ({"modelLabel": "bad label!", "trainingConfigVersion": "latest"}, "modelLabel"),
    ],
)
def test_invalid_train_request_names_the_field(
    settings: Settings, project: dict[str, Any], body: dict[str, Any], target: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        requests.create_training_job(settings, PROJECT, body)

    assert target in (error.value.target or "") + error.value.message
    assert ProjectStore(settings).get(PROJECT).running_job_id is None


def test_unknown_project_and_project_without_assets(settings: Settings, project: dict[str, Any]) -> None:
    body = {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    with pytest.raises(ProjectNotFound):
        requests.create_training_job(settings, "nosuchproject", body)
    record = ProjectStore(settings).get(PROJECT)
    record.assets_blob = None
    ProjectStore(settings).upsert(record)
    with pytest.raises(InvalidArgument) as error:
        requests.create_training_job(settings, PROJECT, body)
    assert PROJECT in error.value.message


def test_manual_split_check_uses_the_test_count_recorded_at_import(
    settings: Settings, project: dict[str, Any]
) -> None:
    record = ProjectStore(settings).get(PROJECT)
    record.test_document_count = 0
    record.document_count = 12
    ProjectStore(settings).upsert(record)
    BlobStore(settings).delete(ASSETS_BLOB)  # the recorded counts alone must decide: assets are not read
    body = {"modelLabel": "m1", "trainingConfigVersion": "latest", "evaluationOptions": {"kind": "manual"}}
    with pytest.raises(InvalidArgument) as error:
        requests.create_training_job(settings, PROJECT, body)
    assert error.value.target == "evaluationOptions.kind"
    assert ProjectStore(settings).get(PROJECT).running_job_id is None


def test_jobs_of_a_project_share_one_recorded_seed(settings: Settings, project: dict[str, Any]) -> None:
    body = {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    first = requests.create_training_job(settings, PROJECT, body)
    jobs.abandon(settings, PROJECT, first.job_id, "test: start over")
    second = requests.create_training_job(settings, PROJECT, {**body, "modelLabel": "m2"})
    assert first.seed == second.seed == requests.project_seed(PROJECT)
    assert requests.project_seed(PROJECT) != requests.project_seed(PROJECT + "-other")


def test_cancel_moves_through_cancelling_to_cancelled(settings: Settings, project: dict[str, Any]) -> None:
    job = requests.create_training_job(
        settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    )
    ref = JobRef(PROJECT, job.job_id)
    prepare.prepare_training(settings, ref)

    cancelling = jobs.request_cancel(settings, PROJECT, job.job_id)
    assert cancelling.status == JobStatus.CANCELLING
    # A chunk that starts now sees the cancel and does no work.
    assert train.train_chunk(settings, ref).stop_reason == "cancelled"
    cancelled = jobs.cancel_training(settings, PROJECT, job.job_id)

    assert cancelled.status == JobStatus.CANCELLED
    assert cancelled.training_status.status == JobStatus.CANCELLED
    assert ProjectStore(settings).get(PROJECT).running_job_id is None
    assert BlobStore(settings).list_names(scratch_prefix(PROJECT, job.job_id)) == []
    with pytest.raises(Conflict):
        jobs.request_cancel(settings, PROJECT, job.job_id)
    with pytest.raises(OperationNotFound):
        jobs.request_cancel(settings, PROJECT, "no-such-job")


def test_reconcile_fails_an_active_job_whose_instance_failed(
    settings: Settings, project: dict[str, Any]
) -> None:
    job = requests.create_training_job(
        settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": "latest"}
    )

    unchanged = runtime.reconcile_with_runtime(settings, PROJECT, job.job_id, "Running")
    fixed = runtime.reconcile_with_runtime(settings, PROJECT, job.job_id, "Failed")

    assert unchanged.status == JobStatus.NOT_STARTED
    assert fixed.status == JobStatus.FAILED
    assert "Failed" in fixed.errors[0]["message"]
    assert ProjectStore(settings).get(PROJECT).running_job_id is None
