"""Extraction jobs on Azurite with a real (tiny) trained model: the steps the orchestration runs, reads,
paging, cancel, per-task and per-document errors, expiry.

The deployment resolver is injected: here a dictionary of deployments whose model bytes are in the app
container (the service's resolver reads deployment rows; the end-to-end tests use it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import AppError, Conflict, NotFound, OperationNotFound, ProjectNotFound
from shared.extraction import jobs
from shared.extraction.prediction import predict_entities
from shared.ner import training
from shared.storage.blobs import BlobStore
from shared.storage.operation_jobs import OperationJobStore
from tests.unit import tiny_ner

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL_BLOB = "models/loans/m1/job-1/model.bin"


@dataclass(frozen=True)
class Deployed:
    model_blob: str


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    options = tiny_ner.options("2022-05-01", max_steps=80, eval_frequency=20)
    bins = tiny_ner.doc_bin()
    checkpoint = training.train_chunk(training.init_checkpoint(options, [bins]), [bins], [bins]).checkpoint
    return training.best_model_bytes(checkpoint)


@pytest.fixture
def deployments(settings: Settings, model_bytes: bytes) -> dict[tuple[str, str], str]:
    BlobStore(settings).put_bytes(MODEL_BLOB, model_bytes)
    return {("loans", "prod"): MODEL_BLOB}


def resolver(deployments: dict[tuple[str, str], str]) -> jobs.Resolver:
    def resolve(settings: Settings, project: str, deployment: str) -> Deployed:
        if project not in {p for p, _ in deployments}:
            raise ProjectNotFound(f"The project '{project}' was not found.", target="projectName")
        if (project, deployment) not in deployments:
            raise NotFound(f"The deployment '{deployment}' of project '{project}' was not found.", target="deploymentName")
        return Deployed(deployments[(project, deployment)])

    return resolve


def _task(name: str = "0", **parameters: str) -> dict[str, Any]:
    return {
        "kind": "CustomEntityRecognition",
        "taskName": name,
        "parameters": {"projectName": "loans", "deploymentName": "prod", **parameters},
    }


def _run(settings: Settings, job_id: str, resolve: jobs.Resolver, *, max_documents: int = 2) -> str:
    """What the orchestration does, in order (the fan-out sequentially)."""
    plan = jobs.start_job(settings, job_id, resolve, max_documents=max_documents, max_characters=10_000)
    plan = jobs.BatchPlan.from_dict(plan.to_dict())  # as it travels through the orchestration
    for work in plan.work():
        jobs.predict_batch(settings, job_id, work, cache_size=2)
    return jobs.finish_job(settings, job_id, plan)


def _read(settings: Settings, job_id: str, top: int | None = None, skip: int = 0) -> dict[str, Any]:
    return jobs.read_job(settings, job_id, top=top, skip=skip, next_link=lambda t, s: f"next?top={t}&skip={s}")


def test_a_job_runs_to_succeeded_with_the_models_predictions(
    settings: Settings, deployments: dict[tuple[str, str], str], model_bytes: bytes
) -> None:
    resolve = resolver(deployments)
    texts = ["Alice Smith lives in Paris.", "Dan Brown works in Vienna.", "  ", "Bob Jones moved to Berlin."]
    body = {
        "displayName": "tiny",
        "analysisInput": {"documents": [{"id": f"d{i}", "text": t, "language": "en"} for i, t in enumerate(texts)]},
        "tasks": [_task("custom", stringIndexType="UnicodeCodePoint"), {"kind": "EntityRecognition", "taskName": "prebuilt"}],
    }
    job_id = jobs.submit_job(settings, body, resolve)
    queued = _read(settings, job_id)
    assert queued["status"] == "notStarted" and queued["tasks"]["inProgress"] == 2
    assert _run(settings, job_id, resolve) == "succeeded"

    state = _read(settings, job_id)
    assert state["status"] == "succeeded" and state["displayName"] == "tiny"
    assert {k: state["tasks"][k] for k in ("total", "completed", "failed", "inProgress")} == {
        "total": 2, "completed": 1, "failed": 1, "inProgress": 0,
    }
    custom, prebuilt = state["tasks"]["items"]
    assert (custom["kind"], custom["taskName"], custom["status"]) == ("CustomEntityRecognitionLROResults", "custom", "succeeded")
    assert (custom["results"]["projectName"], custom["results"]["deploymentName"]) == ("loans", "prod")
    expected = predict_entities(training.load_model(model_bytes), [t for t in texts if t.strip()])
    documents = custom["results"]["documents"]
    assert [d["id"] for d in documents] == ["d0", "d1", "d3"]
    for document, entities in zip(documents, expected, strict=True):
        assert [(e["offset"], e["length"], e["category"]) for e in document["entities"]] == [
            (e.start, e.end - e.start, e.category) for e in entities
        ]
        assert all(0 <= e["confidenceScore"] <= 1 for e in document["entities"])
    assert sum(len(d["entities"]) for d in documents) >= 3
    assert [(e["id"], e["error"]["innererror"]["code"]) for e in custom["results"]["errors"]] == [("d2", "InvalidDocument")]
    assert "results" not in prebuilt and prebuilt["status"] == "failed"
    assert state["errors"] == [
        {"code": "InvalidArgument", "message": prebuilt_message(), "target": "#/tasks/items/1"}
    ]


def prebuilt_message() -> str:
    return "Task kind 'EntityRecognition' is not supported by this service; only 'CustomEntityRecognition' tasks run here."


def test_unknown_project_or_deployment_is_refused_at_submit(settings: Settings, deployments: dict[tuple[str, str], str]) -> None:
    resolve = resolver(deployments)
    body = {"analysisInput": {"documents": [{"id": "1", "text": "Hi"}]}, "tasks": [_task(deploymentName="staging")]}
    with pytest.raises(NotFound) as caught:
        jobs.submit_job(settings, body, resolve)
    assert caught.value.status == 404 and "staging" in caught.value.message
    assert caught.value.target == "tasks[0].parameters.deploymentName"
    body["tasks"] = [_task(projectName="nope")]
    with pytest.raises(ProjectNotFound) as missing:
        jobs.submit_job(settings, body, resolve)
    assert missing.value.target == "tasks[0].parameters.projectName"


def test_a_deployment_deleted_before_the_job_starts_fails_its_task(settings: Settings, deployments: dict[tuple[str, str], str]) -> None:
    body = {"analysisInput": {"documents": [{"id": "1", "text": "Alice Smith lives in Paris."}]}, "tasks": [_task()]}
    job_id = jobs.submit_job(settings, body, resolver(deployments))
    assert _run(settings, job_id, resolver({})) == "failed"
    state = _read(settings, job_id)
    assert state["status"] == "failed" and state["tasks"]["failed"] == 1
    assert state["errors"][0]["target"] == "#/tasks/items/0" and state["errors"][0]["code"] == "ProjectNotFound"


def test_results_page_over_documents(settings: Settings, deployments: dict[tuple[str, str], str]) -> None:
    resolve = resolver(deployments)
    documents = [{"id": f"d{i:02d}", "text": f"Alice Smith number {i} lives in Paris."} for i in range(25)]
    job_id = jobs.submit_job(settings, {"analysisInput": {"documents": documents}, "tasks": [_task()]}, resolve)
    assert _run(settings, job_id, resolve, max_documents=10) == "succeeded"
    first = _read(settings, job_id)
    assert len(first["tasks"]["items"][0]["results"]["documents"]) == 20
    assert first["nextLink"] == "next?top=20&skip=20"
    second = _read(settings, job_id, top=20, skip=20)
    assert [d["id"] for d in second["tasks"]["items"][0]["results"]["documents"]] == [f"d{i}" for i in range(20, 25)]
    assert "nextLink" not in second


def test_cancel_ends_the_job_cancelled_and_a_finished_job_cannot_be_cancelled(
    settings: Settings, deployments: dict[tuple[str, str], str]
) -> None:
    resolve = resolver(deployments)
    body = {"analysisInput": {"documents": [{"id": "1", "text": "Alice Smith lives in Paris."}]}, "tasks": [_task()]}
    job_id = jobs.submit_job(settings, body, resolve)
    jobs.cancel_job(settings, job_id)
    jobs.cancel_job(settings, job_id)  # idempotent while cancelling
    assert _read(settings, job_id)["status"] == "cancelling"
    assert _run(settings, job_id, resolve) == "cancelled"
    state = _read(settings, job_id)
    assert state["status"] == "cancelled" and state["tasks"]["items"][0]["status"] == "cancelled"
    # empty results, not none: azure-ai-textanalytics 5.x pads a cancelled task's documents from that
    assert state["tasks"]["items"][0]["results"] == {"projectName": "loans", "deploymentName": "prod", "documents": [], "errors": []}
    with pytest.raises(Conflict):
        jobs.cancel_job(settings, job_id)
    with pytest.raises(OperationNotFound):
        jobs.cancel_job(settings, "00000000-0000-4000-8000-000000000000")


def test_a_failed_orchestration_fails_the_job_without_internals(settings: Settings, deployments: dict[tuple[str, str], str]) -> None:
    body = {"analysisInput": {"documents": [{"id": "1", "text": "x"}]}, "tasks": [_task()]}
    job_id = jobs.submit_job(settings, body, resolver(deployments))
    assert jobs.abandon_job(settings, job_id, "Traceback: /secret/path boom") == "failed"
    state = _read(settings, job_id)
    assert state["status"] == "failed" and "secret" not in str(state) and job_id in state["errors"][0]["message"]


def test_expired_jobs_are_purged_with_their_blobs(settings: Settings, deployments: dict[tuple[str, str], str]) -> None:
    from datetime import timedelta

    from shared.models import utc_now

    resolve = resolver(deployments)
    body = {"analysisInput": {"documents": [{"id": "1", "text": "Alice Smith lives in Paris."}]}, "tasks": [_task()]}
    old, fresh = jobs.submit_job(settings, body, resolve), jobs.submit_job(settings, body, resolve)
    _run(settings, old, resolve)

    def expire(record: Any) -> None:
        record.expiration = utc_now() - timedelta(minutes=1)

    OperationJobStore(settings).modify(jobs.EXTRACTION.name, jobs.SCOPE, old, expire)
    with pytest.raises(OperationNotFound):
        _read(settings, old)  # expired jobs are gone for callers at once
    assert jobs.find_expired(settings) == [old]
    jobs.forget_job(settings, old)
    assert jobs.find_expired(settings) == []
    assert BlobStore(settings).list_names(jobs.job_prefix(old)) == []
    assert BlobStore(settings).list_names(jobs.job_prefix(fresh)) != []
    assert _read(settings, fresh)["status"] == "notStarted"


def test_bad_bodies_never_create_a_job(settings: Settings, deployments: dict[tuple[str, str], str]) -> None:
    with pytest.raises(AppError) as caught:
        jobs.submit_job(settings, {"analysisInput": {"documents": []}, "tasks": [_task()]}, resolver(deployments))
    assert caught.value.status == 400
    assert BlobStore(settings).list_names("analyze-text/") == []
