"""The training orchestrator, replayed by the real azure-functions-durable SDK (``tests.durable_driver``).

Activity results come from plain functions standing in for the activities, so these tests check the
orchestration logic only; the activities are tested against Azurite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from functions import activity_names as names
from functions import orchestrators
from shared.errors import ErrorDetail, InvalidArgument, StorageError
from shared.jobs.failures import StepFailed, StepFailure
from tests.durable_driver import Run
from tests.durable_driver import drive as drive_orchestrator

JOB = {"projectName": "loans", "jobId": "job-1"}


def drive(activity: Callable[[str, Any], Any]) -> Run:
    return drive_orchestrator(orchestrators.bp, names.TRAINING_ORCHESTRATOR, JOB, activity, instance_id=JOB["jobId"])


def failed(error: InvalidArgument | StorageError) -> StepFailed:
    """What an activity adapter raises for ``error``."""
    return StepFailed(StepFailure.from_error(error))


PREPARED = {
    "language": "en-us",
    "spacy_lang": "en",
    "labels": ["Date", "Name"],
    "train_shards": ["train-0000", "train-0001"],
    "dev_shards": ["dev-0000"],
    "test_shards": ["test-0000", "test-0001"],
    "train_documents": 300,
    "dev_documents": 30,
    "test_documents": 250,
    "warnings": 0,
    "seed": 7,
}


class Pipeline:
    """Stand-in activity results: training finishes after ``chunks`` chunks of 10 steps each."""

    def __init__(self, *, chunks: int = 2, stop_reason: str = "early_stopping") -> None:
        self.chunks = chunks
        self.stop_reason = stop_reason
        self.chunk = 0
        self.overrides: dict[str, Callable[[dict[str, Any]], Any]] = {}

    def __call__(self, name: str, payload: dict[str, Any]) -> Any:
        if name in self.overrides:
            return self.overrides[name](payload)
        if name == names.PREPARE_TRAINING:
            return PREPARED
        if name == names.CONVERT_SHARD:
            return {"shard": payload["shard"], "documents": 10, "warnings": 0}
        if name == names.INIT_TRAINING:
            return {"max_steps": 100}
        if name == names.TRAIN_CHUNK:
            self.chunk += 1
            finished = self.chunk >= self.chunks
            return {
                "step": self.chunk * 10,
                "max_steps": 100,
                "steps_run": 10,
                "seconds": 5.0,
                "loss": 1.0 / self.chunk,
                "dev_score": 0.5,
                "best_score": 0.5,
                "finished": finished,
                "stop_reason": self.stop_reason if finished else None,
                # train_chunk records the job's progress itself and returns it
                "percent_complete": 100 if finished else self.chunk * 10,
                "estimated_end": None if finished else f"2024-05-01T13:00:{self.chunk * 10:02d}+00:00",
            }
        if name == names.EVALUATE_SHARD:
            return {"shard": payload["shard"], "documents": 5, "counts": {"shard": payload["shard"]}}
        if name == names.FINALIZE_TRAINING:
            return {"model_label": "m1", "model_id": "m1-1", "micro_f1": 0.8, "test_documents": 10}
        if name in (names.START_EVALUATION, names.FAIL_TRAINING, names.CANCEL_TRAINING):
            return None
        raise AssertionError(f"unknown activity {name}")


def test_successful_job_runs_every_phase_in_order() -> None:
    run = drive(Pipeline(chunks=3))

    assert run.result is not None and run.result.is_done and not run.result.failed
    assert run.result.output["status"] == "succeeded"
    assert run.result.output["model_id"] == "m1-1"
    assert run.names() == [
        names.PREPARE_TRAINING,
        *[names.CONVERT_SHARD] * 5,
        names.INIT_TRAINING,
        *[names.TRAIN_CHUNK] * 3,
        names.START_EVALUATION,
        names.EVALUATE_SHARD,
        names.EVALUATE_SHARD,
        names.FINALIZE_TRAINING,
    ]
    assert {p["shard"] for p in run.payloads(names.CONVERT_SHARD)} == {
        "train-0000",
        "train-0001",
        "dev-0000",
        "test-0000",
        "test-0001",
    }
    assert all(p["projectName"] == "loans" and p["jobId"] == "job-1" for _, p in run.calls)
    assert names.FAIL_TRAINING not in run.names()


def test_evaluation_counts_of_every_test_shard_reach_finalize() -> None:
    run = drive(Pipeline())

    (finalize,) = run.payloads(names.FINALIZE_TRAINING)
    assert finalize["eval_shards"] == ["test-0000", "test-0001"]
    assert finalize["shard_counts"] == [{"shard": "test-0000"}, {"shard": "test-0001"}]


def test_progress_recorded_by_each_chunk_reaches_the_custom_status() -> None:
    run = drive(Pipeline(chunks=3))

    # Each episode reports the status in force; collapse repeats to see each update once.
    training: list[dict[str, Any]] = []
    for status in run.statuses:
        if isinstance(status, dict) and status.get("phase") == "training" and status.get("step"):
            if not training or training[-1] != status:
                training.append(status)
    assert [s["percentComplete"] for s in training] == [10, 20, 100]
    assert [s["step"] for s in training] == [10, 20, 30]
    assert [s["estimatedEndDateTime"] for s in training] == [
        "2024-05-01T13:00:10+00:00",
        "2024-05-01T13:00:20+00:00",
        None,
    ]
    assert training[0]["maxSteps"] == 100
    assert run.statuses[-1]["phase"] == "succeeded"


def test_user_error_fails_the_job_without_retrying() -> None:
    pipeline = Pipeline()
    error = InvalidArgument(
        "Document '07.txt' was not found in container 'loans'.",
        target="07.txt",
        details=[ErrorDetail("InvalidArgument", "Document '07.txt' was not found.", "07.txt")],
    )

    def missing_document(payload: dict[str, Any]) -> Any:
        raise failed(error)

    pipeline.overrides[names.PREPARE_TRAINING] = missing_document
    run = drive(pipeline)

    assert run.result is not None and run.result.is_done and not run.result.failed
    assert run.result.output["status"] == "failed"
    assert run.names() == [names.PREPARE_TRAINING, names.FAIL_TRAINING]
    assert run.timers == 0
    (report,) = run.payloads(names.FAIL_TRAINING)
    assert report["phase"] == "splitting"
    assert report["errors"] == [error.to_dict()]
    assert report["errors"][0]["target"] == "07.txt"
    assert run.statuses[-1]["phase"] == "failed"


def test_transient_failure_of_a_checked_activity_is_retried_after_a_timer() -> None:
    pipeline = Pipeline()
    attempts: list[int] = []

    def flaky(payload: dict[str, Any]) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("connection reset by peer")
        return PREPARED

    pipeline.overrides[names.PREPARE_TRAINING] = flaky
    run = drive(pipeline)

    assert run.timers == 1
    assert run.names().count(names.PREPARE_TRAINING) == 2
    assert run.result is not None and run.result.output["status"] == "succeeded"


def test_persistent_crash_fails_the_job_naming_the_phase() -> None:
    pipeline = Pipeline()

    def crash(payload: dict[str, Any]) -> Any:
        raise RuntimeError("worker lost")

    pipeline.overrides[names.PREPARE_TRAINING] = crash
    run = drive(pipeline)

    assert run.names().count(names.PREPARE_TRAINING) == orchestrators.CHECKED_ATTEMPTS
    (report,) = run.payloads(names.FAIL_TRAINING)
    assert report["errors"][0]["code"] == "InternalServerError"
    assert "splitting" in report["errors"][0]["message"]
    assert "worker lost" in report["errors"][0]["message"]
    assert run.result is not None and run.result.output["status"] == "failed"


def test_chunk_that_notices_a_cancel_ends_the_job_as_cancelled() -> None:
    run = drive(Pipeline(chunks=2, stop_reason="cancelled"))

    assert run.names()[-1] == names.CANCEL_TRAINING
    assert names.START_EVALUATION not in run.names()
    assert names.FINALIZE_TRAINING not in run.names()
    assert run.result is not None and run.result.output == {"status": "cancelled"}


def test_registration_failure_is_reported_with_the_registering_phase() -> None:
    pipeline = Pipeline()
    def refuse(payload: dict[str, Any]) -> Any:
        raise failed(InvalidArgument("Model limit reached.", target="modelLabel"))

    pipeline.overrides[names.FINALIZE_TRAINING] = refuse
    run = drive(pipeline)

    (report,) = run.payloads(names.FAIL_TRAINING)
    assert report["phase"] == "registering"
    assert report["errors"][0]["message"] == "Model limit reached."
    assert run.names().count(names.FINALIZE_TRAINING) == 1


def test_storage_failure_of_a_checked_activity_is_retried() -> None:
    pipeline = Pipeline()
    attempts: list[int] = []

    def storage_hiccup(payload: dict[str, Any]) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise failed(StorageError("Storage call failed: read project."))
        return PREPARED

    pipeline.overrides[names.PREPARE_TRAINING] = storage_hiccup
    run = drive(pipeline)

    assert run.timers == 1
    assert run.result is not None and run.result.output["status"] == "succeeded"
