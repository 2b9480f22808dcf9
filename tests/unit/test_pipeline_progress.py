"""The orchestrator with training chunks that record the job's progress themselves (shared/service/pipeline.py).

Driven by the real azure-functions-durable SDK through the replay driver of
tests/unit/test_training_orchestrator.py.
"""

from __future__ import annotations

from typing import Any

from functions import activity_names as names
from tests.unit.test_training_orchestrator import Pipeline, drive


class ReportingPipeline(Pipeline):
    """Chunks return ``percent_complete`` / ``estimated_end``, as ``pipeline.train_chunk`` does now."""

    def __call__(self, name: str, payload: dict[str, Any]) -> Any:
        result = super().__call__(name, payload)
        if name == names.TRAIN_CHUNK:
            percent = 100 if result["finished"] else result["step"]
            result = {
                **result,
                "percent_complete": percent,
                "estimated_end": f"2024-05-01T13:00:{percent:02d}",
            }
        return result


def test_chunks_that_record_progress_need_no_progress_activity() -> None:
    run = drive(ReportingPipeline(chunks=3))

    assert run.result is not None and run.result.output["status"] == "succeeded"
    assert names.RECORD_TRAINING_PROGRESS not in run.names()
    assert run.names().count(names.TRAIN_CHUNK) == 3
    training: list[dict[str, Any]] = []
    for status in run.statuses:
        if isinstance(status, dict) and status.get("phase") == "training" and status.get("step"):
            if not training or training[-1] != status:
                training.append(status)
    assert [s["percentComplete"] for s in training] == [10, 20, 100]
    assert [s["estimatedEndDateTime"] for s in training] == [
        "2024-05-01T13:00:10",
        "2024-05-01T13:00:20",
        "2024-05-01T13:00:100",
    ]
