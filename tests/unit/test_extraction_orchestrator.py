"""The extraction orchestration on the real Durable SDK (replay driver): start -> fan-out -> finish.

Its failure path runs through ``call_activity_with_retry``, whose retries the driver does not emulate
(as in test_operation_orchestrator.py); the steps' failure handling is tested on Azurite
(tests/integration/test_extraction_jobs.py) and end to end.
"""

from __future__ import annotations

from typing import Any

from functions import analyze_text
from tests.durable_driver import drive

PLAN = {"models": {"0": "models/p/m/j1/model.bin", "2": "models/p/m/j2/model.bin"}, "taskErrors": {},
        "batches": [[0, 1], [2, 3], [4]], "cancelled": False}


def _activities(plan: dict[str, Any], fail_on: str | None = None) -> Any:
    def activity(name: str, payload: Any) -> Any:
        if name == fail_on:
            raise RuntimeError("storage is down")
        return {
            analyze_text.START_ACTIVITY: plan,
            analyze_text.PREDICT_ACTIVITY: len(payload.get("documents", [])),
            analyze_text.FINISH_ACTIVITY: "succeeded",
            analyze_text.FAIL_ACTIVITY: "failed",
        }[name]

    return activity


def test_every_task_and_batch_is_predicted_then_the_job_finishes() -> None:
    run = drive(analyze_text.bp, "extraction_orchestrator", {"jobId": "j"}, _activities(PLAN), instance_id="j")
    assert run.names()[0] == analyze_text.START_ACTIVITY and run.names()[-1] == analyze_text.FINISH_ACTIVITY
    predicted = [(p["taskIndex"], p["batch"], p["documents"], p["modelBlob"]) for p in run.payloads(analyze_text.PREDICT_ACTIVITY)]
    assert sorted(predicted) == [
        (0, 0, [0, 1], "models/p/m/j1/model.bin"),
        (0, 1, [2, 3], "models/p/m/j1/model.bin"),
        (0, 2, [4], "models/p/m/j1/model.bin"),
        (2, 0, [0, 1], "models/p/m/j2/model.bin"),
        (2, 1, [2, 3], "models/p/m/j2/model.bin"),
        (2, 2, [4], "models/p/m/j2/model.bin"),
    ]
    assert run.payloads(analyze_text.FINISH_ACTIVITY) == [{"jobId": "j", "plan": PLAN}]
    assert run.result is not None and run.result.output == {"status": "succeeded"}


def test_a_cancelled_job_predicts_nothing() -> None:
    plan = {**PLAN, "models": {}, "cancelled": True}
    run = drive(analyze_text.bp, "extraction_orchestrator", {"jobId": "j"}, _activities(plan), instance_id="j")
    assert run.names() == [analyze_text.START_ACTIVITY, analyze_text.FINISH_ACTIVITY]


def test_the_extraction_functions_are_registered_in_the_app() -> None:
    from pathlib import Path

    from devhost.indexer import load_app

    registered = {name: info.trigger_type for name, info in load_app(Path(__file__).resolve().parents[2]).functions.items()}
    for activity in (analyze_text.START_ACTIVITY, analyze_text.PREDICT_ACTIVITY, analyze_text.FINISH_ACTIVITY, analyze_text.FAIL_ACTIVITY):
        assert registered.get(activity) == "activityTrigger", activity
    assert registered.get("extraction_orchestrator") == "orchestrationTrigger"
    assert {registered.get(name) for name in ("submit_analyze_text_job", "get_analyze_text_job", "cancel_analyze_text_job")} == {"httpTrigger"}
