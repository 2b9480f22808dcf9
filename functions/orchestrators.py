"""The training orchestrator: split -> convert (fan-out) -> train in chunks -> evaluate (fan-out) -> register.

Deterministic and I/O-free: every side effect happens in an activity, time comes from
``context.current_utc_datetime`` and logs are written only when not replaying. Instance id = job id;
input ``{"projectName", "jobId"}``. Any failure is recorded on the job by ``fail_training`` and the
orchestration then *completes*, so the job row and the instance never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from functions import activity_names as names
from shared.jobs.failures import failure_from_text
from shared.training.payloads import ChunkSummary, PreparedTraining, ShardEvaluation, TrainingPlan

bp = df.Blueprint()
logger = logging.getLogger(__name__)

# Most activities get the Durable retry policy (every failure retried a few times); the checked ones,
# where a user's mistake is the likely failure, retry only what the failure contract marks retryable.
RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5_000, max_number_of_attempts=3)
CHECKED_ATTEMPTS = 3
CHECKED_RETRY_DELAY = timedelta(seconds=5)


def _log(context: df.DurableOrchestrationContext, ref: dict[str, Any], phase: str, message: str) -> None:
    if not context.is_replaying:
        logger.info(
            "[project=%s job=%s phase=%s] %s",
            ref.get("projectName"),
            ref.get("jobId"),
            phase,
            message,
            extra={"project": ref.get("projectName"), "jobId": ref.get("jobId"), "phase": phase},
        )


def _call_checked(
    context: df.DurableOrchestrationContext, name: str, payload: dict[str, Any], phase: str
) -> Generator[Any, Any, Any]:
    """Call an activity that may fail on user input: retry only failures marked ``retryable``."""
    attempt = 1
    while True:
        try:
            result = yield context.call_activity(name, payload)
            return result
        except Exception as exc:
            if not failure_from_text(str(exc), phase=phase).retryable or attempt >= CHECKED_ATTEMPTS:
                raise
            attempt += 1
            yield context.create_timer(context.current_utc_datetime + CHECKED_RETRY_DELAY)


def _status(phase: str, **values: Any) -> dict[str, Any]:
    return {"phase": phase, **values}


@bp.orchestration_trigger(context_name="context", orchestration=names.TRAINING_ORCHESTRATOR)
def training_orchestrator(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run one training job from split to registered model."""
    raw = context.get_input() or {}
    ref = {"projectName": raw.get("projectName"), "jobId": raw.get("jobId") or context.instance_id}
    phase = "splitting"
    try:
        context.set_custom_status(_status(phase))
        prepared = PreparedTraining.from_dict((yield from _call_checked(context, names.PREPARE_TRAINING, ref, phase)))
        _log(
            context, ref, phase,
            f"status running: {prepared.train_documents + prepared.dev_documents} training documents "
            f"({prepared.dev_documents} dev), {prepared.test_documents} test",
        )  # fmt: skip

        phase = "converting"
        shards = prepared.all_shards
        context.set_custom_status(_status(phase, shards=len(shards)))
        _log(context, ref, phase, f"converting {len(shards)} shards")
        yield context.task_all(
            [
                context.call_activity_with_retry(names.CONVERT_SHARD, RETRY, {**ref, "shard": s})
                for s in shards
            ]
        )

        phase = "training"
        # Initialising the model is training work: report the phase before it, not after.
        context.set_custom_status(_status(phase, step=0, percentComplete=0))
        plan = TrainingPlan.from_dict((yield context.call_activity_with_retry(names.INIT_TRAINING, RETRY, ref)))
        max_steps = plan.max_steps
        context.set_custom_status(_status(phase, step=0, maxSteps=max_steps, percentComplete=0))
        while True:
            chunk = ChunkSummary.from_dict((yield context.call_activity_with_retry(names.TRAIN_CHUNK, RETRY, ref)))
            if chunk.stop_reason == "cancelled":
                yield context.call_activity_with_retry(names.CANCEL_TRAINING, RETRY, ref)
                context.set_custom_status(_status("cancelled", step=chunk.step))
                _log(context, ref, phase, f"status cancelled at step {chunk.step}")
                return {"status": "cancelled"}
            # The chunk recorded the job's progress itself: no extra activity round trip per chunk.
            context.set_custom_status(
                _status(
                    phase,
                    step=chunk.step,
                    maxSteps=max_steps,
                    percentComplete=chunk.percent_complete,
                    loss=chunk.loss,
                    bestScore=chunk.best_score,
                    estimatedEndDateTime=chunk.estimated_end,
                )
            )
            _log(context, ref, phase, chunk.describe())
            if chunk.finished:
                _log(context, ref, phase, f"training stopped at step {chunk.step} ({chunk.stop_reason})")
                break

        phase = "evaluating"
        yield context.call_activity_with_retry(names.START_EVALUATION, RETRY, ref)
        context.set_custom_status(_status(phase, shards=len(prepared.test_shards)))
        _log(context, ref, phase, f"evaluating {prepared.test_documents} test documents in {len(prepared.test_shards)} shards")
        results = yield context.task_all(
            [
                context.call_activity_with_retry(names.EVALUATE_SHARD, RETRY, {**ref, "shard": s})
                for s in prepared.test_shards
            ]
        )
        evaluations = [ShardEvaluation.from_dict(result) for result in results]

        phase = "registering"
        context.set_custom_status(_status(phase))
        result = yield from _call_checked(
            context,
            names.FINALIZE_TRAINING,
            {
                **ref,
                "shard_counts": [evaluation.counts for evaluation in evaluations],
                "eval_shards": [evaluation.shard for evaluation in evaluations],
            },
            phase,
        )
        context.set_custom_status(_status("succeeded", percentComplete=100, modelId=result["model_id"]))
        _log(context, ref, "done", f"status succeeded: model '{result['model_label']}' registered")
        return {"status": "succeeded", **result}
    except Exception as exc:  # every failure ends as a failed job with errors[], not a Failed instance
        error = failure_from_text(str(exc), phase=phase).to_error()
        _log(context, ref, phase, f"status failed: {error.get('message')}")
        yield context.call_activity_with_retry(
            names.FAIL_TRAINING, RETRY, {**ref, "phase": phase, "errors": [error]}
        )
        context.set_custom_status(_status("failed", failedPhase=phase, error=error))
        return {"status": "failed", "errors": [error]}
