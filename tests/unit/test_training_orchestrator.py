"""The training orchestrator, replayed by the real azure-functions-durable SDK.

A small driver plays the Durable extension's part: it calls the orchestrator's user function with
``func.OrchestrationContext(<context JSON>)``, schedules the actions it returns, feeds the activity
results back as history events (one episode per round, all completions batched) and repeats until the
orchestration is done. Activity results come from plain functions standing in for the activities,
so these tests check the orchestration logic only; the activities are tested against Azurite.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.durable import history as h
from functions import activity_names as names
from functions import orchestrators
from shared.errors import ErrorDetail, InvalidArgument
from shared.service.pipeline import encode_error

JOB = {"projectName": "loans", "jobId": "job-1"}
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

Activity = Callable[[str, dict[str, Any]], Any]


class Run:
    """Outcome of a driven orchestration."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.statuses: list[Any] = []
        self.timers = 0
        self.result: h.OrchestratorResult | None = None

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def payloads(self, name: str) -> list[dict[str, Any]]:
        return [payload for called, payload in self.calls if called == name]


@functools.cache
def _user_function() -> Callable[[func.OrchestrationContext], str]:
    # get_functions() may run only once per app (it re-checks names), hence our own app and the cache.
    app = df.DFApp()
    app.register_functions(orchestrators.bp)
    for function in app.get_functions():
        if function.get_function_name() == names.TRAINING_ORCHESTRATOR:
            return function.get_user_function()  # type: ignore[no-any-return]
    raise AssertionError("training orchestrator is not registered")


def drive(activity: Activity, *, max_episodes: int = 100) -> Run:
    """Run the orchestrator to completion, answering each activity with ``activity(name, payload)``."""
    handler = _user_function()
    input_text = json.dumps(JOB)
    events = [
        h.orchestrator_started(START),
        h.execution_started(names.TRAINING_ORCHESTRATOR, input_text, JOB["jobId"], "exec-1", timestamp=START),
    ]
    run = Run()
    scheduled = 0
    for episode in range(1, max_episodes + 1):
        context = h.context_json(events, instance_id=JOB["jobId"], input_text=input_text)
        try:
            state = h.parse_orchestrator_state(handler(func.OrchestrationContext(context)))
        except Exception as exc:  # the SDK raises when the orchestrator itself fails
            state = h.parse_orchestrator_exception(exc)
        run.statuses.append(state.custom_status)
        if state.is_done or state.failed:
            run.result = state
            return run
        now = START + timedelta(seconds=episode)
        completions = []
        for action in h.flatten_actions(state.actions)[scheduled:]:
            seq = scheduled
            scheduled += 1
            if action["actionType"] in (h.ActionType.CALL_ACTIVITY, h.ActionType.CALL_ACTIVITY_WITH_RETRY):
                name = action["functionName"]
                payload = json.loads(action["input"])
                events.append(h.task_scheduled(seq, name, action["input"], now))
                run.calls.append((name, payload))
                try:
                    completions.append(h.task_completed(seq, json.dumps(activity(name, payload)), now))
                except Exception as exc:
                    reason = f"Activity function '{name}' failed: {exc}"
                    completions.append(
                        h.task_failed(seq, reason, "Traceback (most recent call last): ...", now)
                    )
            elif action["actionType"] == h.ActionType.CREATE_TIMER:
                run.timers += 1
                fire_at = h.parse_timestamp(action["fireAt"])
                events.append(h.timer_created(seq, fire_at, now))
                completions.append(h.timer_fired(seq, action["fireAt"], now))
            else:
                raise AssertionError(f"unexpected action {action}")
        events.append(h.orchestrator_completed(now))
        events.append(h.orchestrator_started(now))
        events.extend(completions)
    raise AssertionError("orchestration did not finish")


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
            }
        if name == names.RECORD_TRAINING_PROGRESS:
            percent = 100 if payload["finished"] else payload["step"] * 100 // payload["max_steps"]
            return {"percent_complete": percent, "estimated_end": "2024-05-01T13:00:00+00:00"}
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
        *[names.TRAIN_CHUNK, names.RECORD_TRAINING_PROGRESS] * 3,
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


def test_progress_reports_step_and_measured_time_per_step() -> None:
    run = drive(Pipeline(chunks=3))

    progress = run.payloads(names.RECORD_TRAINING_PROGRESS)
    assert [p["step"] for p in progress] == [10, 20, 30]
    assert [p["finished"] for p in progress] == [False, False, True]
    assert all(p["max_steps"] == 100 for p in progress)
    assert progress[0]["seconds_per_step"] == pytest.approx(0.5)
    # Each episode reports the status in force; collapse repeats to see each update once.
    training: list[dict[str, Any]] = []
    for status in run.statuses:
        if isinstance(status, dict) and status.get("phase") == "training" and status.get("step"):
            if not training or training[-1] != status:
                training.append(status)
    assert [s["percentComplete"] for s in training] == [10, 20, 100]
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
        raise RuntimeError(encode_error(error))

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
    conflict_text = encode_error(InvalidArgument("Model limit reached.", target="modelLabel"))

    def refuse(payload: dict[str, Any]) -> Any:
        raise RuntimeError(conflict_text)

    pipeline.overrides[names.FINALIZE_TRAINING] = refuse
    run = drive(pipeline)

    (report,) = run.payloads(names.FAIL_TRAINING)
    assert report["phase"] == "registering"
    assert report["errors"][0]["message"] == "Model limit reached."
    assert run.names().count(names.FINALIZE_TRAINING) == 1
