"""The training orchestrator: split -> convert (fan-out) -> train in chunks -> evaluate (fan-out) -> register.

Training itself fans out when the job has several candidates (``NER_TRAIN_CANDIDATES``, fixed by the
prepare step): every candidate trains its chunks as a parallel activity, round by round, until each has
finished; the one with the best dev score is evaluated and registered (:mod:`shared.training.candidates`).

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
from shared.training.candidates import choose
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


def _candidate_refs(ref: dict[str, Any], width: int) -> list[dict[str, Any]]:
    # Width 1 keeps the payloads of a job from before fan-out, so its history replays unchanged.
    return [ref] if width == 1 else [{**ref, "candidate": n} for n in range(width)]


def _training_status(chunks: list[ChunkSummary], max_steps: int, width: int) -> dict[str, Any]:
    """Custom status after a round of chunks: the slowest candidate's progress, the best score so far."""
    percents = [c.percent_complete for c in chunks if c.percent_complete is not None]
    scores = [c.best_score for c in chunks if c.best_score is not None]
    ends = [c.estimated_end for c in chunks if c.estimated_end is not None]
    values: dict[str, Any] = {
        "step": min(c.step for c in chunks),
        "maxSteps": max_steps,
        "percentComplete": min(percents) if percents else None,
        "loss": chunks[0].loss if width == 1 else min(c.loss for c in chunks),
        "bestScore": max(scores) if scores else None,
        "estimatedEndDateTime": max(ends) if ends else None,
    }
    if width > 1:
        values["candidates"] = width
    return _status("training", **values)


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
        width = prepared.candidates
        candidates = _candidate_refs(ref, width)
        plans = yield context.task_all(
            [context.call_activity_with_retry(names.INIT_TRAINING, RETRY, c) for c in candidates]
        )
        max_steps = TrainingPlan.from_dict(plans[0]).max_steps
        context.set_custom_status(_status(phase, step=0, maxSteps=max_steps, percentComplete=0))
        # Rounds: every unfinished candidate trains one chunk in parallel; a finished one keeps its last summary.
        last: list[ChunkSummary | None] = [None] * width
        while True:
            running = [n for n in range(width) if last[n] is None or not last[n].finished]  # type: ignore[union-attr]
            results = yield context.task_all(
                [context.call_activity_with_retry(names.TRAIN_CHUNK, RETRY, candidates[n]) for n in running]
            )
            for n, result in zip(running, results, strict=True):
                last[n] = ChunkSummary.from_dict(result)
                _log(context, ref, phase, last[n].describe() + (f" (candidate {n})" if width > 1 else ""))  # type: ignore[union-attr]
            chunks = [chunk for chunk in last if chunk is not None]
            if any(chunk.stop_reason == "cancelled" for chunk in chunks):
                # The job is cancelling: every candidate's chunk stopped at its next check; end it once.
                yield context.call_activity_with_retry(names.CANCEL_TRAINING, RETRY, ref)
                context.set_custom_status(_status("cancelled", step=min(c.step for c in chunks)))
                _log(context, ref, phase, f"status cancelled at step {min(c.step for c in chunks)}")
                return {"status": "cancelled"}
            # The chunks recorded the job's progress themselves: no extra activity round trip per round.
            context.set_custom_status(_training_status(chunks, max_steps, width))
            if all(chunk.finished for chunk in chunks):
                break
        chosen = choose([chunk.best_score for chunk in chunks])
        _log(
            context,
            ref,
            phase,
            f"training stopped at step {chunks[chosen].step} ({chunks[chosen].stop_reason})"
            + (f"; candidate {chosen} of {width} kept, dev scores {[c.best_score for c in chunks]}" if width > 1 else ""),
        )

        phase = "evaluating"
        yield context.call_activity_with_retry(names.START_EVALUATION, RETRY, candidates[chosen])
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
        # The job's error stays free of internals; the raw failure text goes to the log only.
        _log(context, ref, phase, f"status failed: {error.get('message')} (raw: {str(exc)[:2000]})")
        yield context.call_activity_with_retry(
            names.FAIL_TRAINING, RETRY, {**ref, "phase": phase, "errors": [error]}
        )
        context.set_custom_status(_status("failed", failedPhase=phase, error=error))
        return {"status": "failed", "errors": [error]}
