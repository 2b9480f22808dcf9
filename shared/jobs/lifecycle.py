"""The job lifecycle, pure: every status change a job can make, as functions over its record.

No storage and no clock: each function takes the record and ``now`` and changes the record in place
(or raises, then nothing is written). :mod:`shared.jobs.apply` is the one place that runs them under an
ETag-conditional write and does the side effects (log, event, slot release, scratch clean-up).

What ``cancelling`` means: the user asked for the job to stop; no pipeline step may change it any more
(:func:`ensure_runnable` raises :class:`JobNotActive`), and whatever ends it (the orchestration
noticing, its termination, a failure, the watchdog, reconciliation) ends it ``cancelled``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from shared.errors import Conflict, ErrorDetail
from shared.jobs.status import ACTIVE, RUNNABLE, TERMINAL, JobStatus, can_change
from shared.models import OperationJobRecord, SubJobState, TrainingJobRecord

MAX_STORED_WARNINGS = 50
"""Warnings kept in the job row (a table property holds at most 64 KiB); the rest are counted."""
NOT_STARTED_GRACE = timedelta(seconds=60)
"""How long a notStarted job may lack its orchestration (between the row write and ``start_new``)."""
QUIET_AFTER = timedelta(seconds=60)
"""A running job whose row has not changed for this long (or two training chunks, if longer) may have
lost its orchestration: only then is the Durable runtime consulted."""
NOT_STARTED_QUIET_AFTER = timedelta(seconds=5)
"""``start_new`` follows the row write within milliseconds and the first activity moves the job to
running; a job still ``notStarted`` after this long is checked against the runtime."""
MISSING_JOB_GRACE = timedelta(minutes=2)
"""A slot whose job row does not exist is kept this long after the claim (the service claims the slot
*before* writing the job row), then treated as stale: the writer crashed between the two calls."""
LIVE_RUNTIME_STATUSES = frozenset({"Running", "Pending", "ContinuedAsNew"})
CANCELLED_RUNTIME_STATUSES = frozenset({"Terminated", "Canceled"})

Transition = Callable[[TrainingJobRecord], None]
"""A change of a training job record, ``now`` already bound (what :mod:`shared.jobs.apply` runs)."""


class JobNotActive(Conflict):
    """The job was cancelled or finished while a pipeline step was about to change it."""


class IllegalTransition(Conflict):
    """A status change the lifecycle does not allow (e.g. a finished job asked to run again)."""


def set_status(record: TrainingJobRecord | OperationJobRecord, status: JobStatus) -> None:
    """Move ``record`` to ``status`` if the table in :mod:`shared.jobs.status` allows it."""
    if not can_change(record.status, status):
        raise IllegalTransition(
            f"Job '{record.job_id}' is {record.status} and cannot become {status}.", target="jobId"
        )
    record.status = status


def is_terminal(record: TrainingJobRecord | OperationJobRecord) -> bool:
    return record.status in TERMINAL


def is_expired(record: TrainingJobRecord | OperationJobRecord, now: datetime) -> bool:
    """Past ``expirationDateTime``: gone for callers, purged by the timer (the pipeline may still end it)."""
    return record.expiration < now


def expiration(created: datetime, ttl_days: int) -> datetime:
    return created + timedelta(days=ttl_days)


def is_stop_requested(record: TrainingJobRecord) -> bool:
    """True when a running step should stop early (cancel requested or job already over)."""
    return record.status in (JobStatus.CANCELLING, JobStatus.CANCELLED, JobStatus.FAILED)


def holds_slot(holder: TrainingJobRecord | None, claimed: datetime | None, now: datetime) -> bool:
    """Whether the job holding a project's training slot keeps it against a new claim.

    An active, unexpired job keeps it; a finished or expired one has lost it (a crash that never
    released the slot heals itself); a job without a row keeps it only for :data:`MISSING_JOB_GRACE`.
    """
    if holder is None:
        return claimed is not None and now - claimed < MISSING_JOB_GRACE
    return holder.status in ACTIVE and not is_expired(holder, now)


def ensure_runnable(record: TrainingJobRecord) -> None:
    """Raise :class:`JobNotActive` unless a pipeline step may still change the job."""
    if record.status not in RUNNABLE:
        raise JobNotActive(
            f"Training job '{record.job_id}' is {record.status}; the pipeline stops here.", target="jobId"
        )


def _finish_sub_state(state: SubJobState, status: JobStatus, now: datetime) -> None:
    """Close a sub-status that did not finish on its own (it keeps ``succeeded`` if it had)."""
    if state.status in TERMINAL:
        return
    state.status = status
    if state.start is not None:
        state.end = now


# ---------------------------------------------------------------------------------- training jobs


def start_phase(record: TrainingJobRecord, phase: str, now: datetime) -> None:
    """A pipeline step begins ``phase``; the first one moves the job to ``running``."""
    ensure_runnable(record)
    record.phase = phase
    record.heartbeat = now
    if record.status == JobStatus.NOT_STARTED:
        set_status(record, JobStatus.RUNNING)
        record.training_status = SubJobState(status=JobStatus.RUNNING, percent_complete=0, start=now)


def heartbeat(record: TrainingJobRecord, now: datetime) -> None:
    """Show the watchdog that the job is alive."""
    record.heartbeat = now


def add_warnings(record: TrainingJobRecord, warnings: list[ErrorDetail], now: datetime) -> None:
    """Append warnings (first :data:`MAX_STORED_WARNINGS` kept, the rest counted in ``MoreWarnings``)."""
    kept = [w for w in record.warnings if w.get("code") != "MoreWarnings"]
    dropped = sum(_dropped_count(w) for w in record.warnings if w.get("code") == "MoreWarnings")
    for warning in warnings:
        if len(kept) < MAX_STORED_WARNINGS:
            kept.append(warning.to_dict())
        else:
            dropped += 1
    if dropped:
        kept.append({"code": "MoreWarnings", "message": f"{dropped} more warnings were not stored."})
    record.warnings = kept
    record.heartbeat = now


def _dropped_count(warning: dict[str, Any]) -> int:
    head = str(warning.get("message", "")).split(" ", 1)[0]
    return int(head) if head.isdigit() else 0


def percent_of(step: int, max_steps: int, finished: bool) -> int:
    """Training progress in whole percent; 100 only once training finished (early stop included)."""
    if finished:
        return 100
    if max_steps <= 0:
        return 0
    return max(0, min(99, int(step * 100 / max_steps)))


MAX_HISTORY_POINTS = 300
"""Per-chunk history kept with a job (the oldest points go first); a few KB of JSON at most."""


def record_progress(
    record: TrainingJobRecord,
    now: datetime,
    *,
    step: int,
    max_steps: int,
    finished: bool,
    seconds_per_step: float | None,
    loss: float | None = None,
    dev_score: float | None = None,
) -> None:
    """``percentComplete``, ``estimatedEndDateTime`` and the history point after a training chunk.

    ``percentComplete`` never goes back (the estimate before training may have shown a few percent).
    """
    ensure_runnable(record)
    record.heartbeat = now
    record.training_status.percent_complete = max(
        record.training_status.percent_complete, percent_of(step, max_steps, finished)
    )
    if seconds_per_step is not None and not finished:
        remaining = max(0, max_steps - step) * seconds_per_step
        record.estimated_end = now + timedelta(seconds=remaining)
    if loss is not None and not any(point.get("step") == step for point in record.history):
        # A retried chunk reports the same step again: one point per step.
        point = {"step": step, "loss": round(loss, 4), "devF1": None if dev_score is None else round(dev_score, 4)}
        record.history = [*record.history, point][-MAX_HISTORY_POINTS:]


def record_estimate(record: TrainingJobRecord, now: datetime, *, percent: int, estimated_end: datetime) -> None:
    """Progress before the first training chunk: a small ``percentComplete`` and an estimated end."""
    ensure_runnable(record)
    record.heartbeat = now
    record.training_status.percent_complete = max(record.training_status.percent_complete, percent)
    record.estimated_end = estimated_end


def record_evaluation_progress(record: TrainingJobRecord, now: datetime, *, done: int, total: int) -> None:
    """``evaluationStatus.percentComplete`` after ``done`` of ``total`` test shards (99 at most until the
    model is registered; never backwards, as shards finish in any order)."""
    ensure_runnable(record)
    record.heartbeat = now
    percent = min(99, int(done * 100 / total)) if total > 0 else 0
    record.evaluation_status.percent_complete = max(record.evaluation_status.percent_complete, percent)


def start_evaluation(record: TrainingJobRecord, now: datetime, estimated_end: datetime | None = None) -> None:
    """Training finished: close ``trainingStatus`` and open ``evaluationStatus``."""
    ensure_runnable(record)
    record.phase = "evaluating"
    record.heartbeat = now
    record.estimated_end = estimated_end
    record.training_status.status = JobStatus.SUCCEEDED
    record.training_status.percent_complete = 100
    record.training_status.end = now
    record.evaluation_status = SubJobState(status=JobStatus.RUNNING, percent_complete=0, start=now)


def succeed(record: TrainingJobRecord, now: datetime) -> None:
    """The model is registered: ``succeeded``, both sub-statuses 100 (idempotent).

    Raises:
        JobNotActive: the job was cancelled meanwhile (the caller must not keep its model).
    """
    if record.status == JobStatus.SUCCEEDED:
        return
    ensure_runnable(record)
    set_status(record, JobStatus.SUCCEEDED)
    record.phase = "done"
    record.estimated_end = None
    for state in (record.training_status, record.evaluation_status):
        state.status = JobStatus.SUCCEEDED
        state.percent_complete = 100
        state.start = state.start or now
        state.end = state.end or now


def request_cancel(record: TrainingJobRecord) -> None:
    """The user asked to cancel: ``cancelling`` (idempotent).

    Raises:
        Conflict: the job already finished.
    """
    if record.status in TERMINAL:
        raise Conflict(
            f"Training job '{record.job_id}' already {record.status} and cannot be cancelled.",
            target="jobId",
        )
    set_status(record, JobStatus.CANCELLING)


def complete_cancel(record: TrainingJobRecord, now: datetime) -> None:
    """The orchestration is gone or stopped: ``cancelled``. A finished job stays as it is."""
    if record.status in TERMINAL:
        return
    set_status(record, JobStatus.CANCELLED)
    record.phase = "done"
    record.estimated_end = None
    _finish_sub_state(record.training_status, JobStatus.CANCELLED, now)
    _finish_sub_state(record.evaluation_status, JobStatus.CANCELLED, now)


def fail(
    record: TrainingJobRecord, errors: list[dict[str, Any]], now: datetime, *, phase: str | None = None
) -> None:
    """``failed`` with ``errors``; a ``cancelling`` job ends ``cancelled``; a finished one is unchanged."""
    if record.status == JobStatus.CANCELLING:
        complete_cancel(record, now)
        return
    if record.status in TERMINAL:
        return
    set_status(record, JobStatus.FAILED)
    if phase:
        record.phase = phase
    record.errors = list(errors)
    record.estimated_end = None
    _finish_sub_state(record.training_status, JobStatus.FAILED, now)
    if record.evaluation_status.status == JobStatus.RUNNING:
        _finish_sub_state(record.evaluation_status, JobStatus.FAILED, now)


def internal_error(message: str) -> dict[str, Any]:
    return {"code": "InternalServerError", "message": message}


def not_started_error(reason: str) -> dict[str, Any]:
    """Why a job whose orchestration could not be started failed."""
    return internal_error(f"The training job could not be started: {reason}")


# ---------------------------------------------------------------- the Durable runtime and the watchdog


class Reconciliation(Enum):
    """What to do with an active row given its orchestration's runtime status."""

    KEEP = "keep"
    CANCEL = "cancel"
    FAIL = "fail"


def needs_runtime_check(record: TrainingJobRecord, now: datetime, *, chunk_seconds: float) -> bool:
    """True when asking the Durable runtime about ``record`` could change what the API reports.

    Terminal rows are final. An active row that changed recently belongs to a live orchestration
    (heartbeats and progress are written at least once per chunk); a quiet one may belong to an
    orchestration that failed, was terminated or vanished behind the row's back.
    """
    if record.status not in ACTIVE:
        return False
    if record.status == JobStatus.NOT_STARTED:
        return now - record.created >= NOT_STARTED_QUIET_AFTER
    seen = max(record.last_updated, record.heartbeat) if record.heartbeat is not None else record.last_updated
    quiet_after = max(QUIET_AFTER, timedelta(seconds=2 * chunk_seconds))
    return now - seen >= quiet_after


def reconcile(record: TrainingJobRecord, runtime_status: str | None, now: datetime) -> Reconciliation:
    """Decide the fate of an active row whose orchestration has ``runtime_status`` (None: missing)."""
    if record.status in TERMINAL or runtime_status in LIVE_RUNTIME_STATUSES:
        return Reconciliation.KEEP
    if runtime_status is None and record.status == JobStatus.NOT_STARTED:
        if now - record.created < NOT_STARTED_GRACE:
            return Reconciliation.KEEP  # the API may not have called start_new yet
    if record.status == JobStatus.CANCELLING or runtime_status in CANCELLED_RUNTIME_STATUSES:
        return Reconciliation.CANCEL
    return Reconciliation.FAIL


def runtime_lost_error(record: TrainingJobRecord, runtime_status: str | None) -> dict[str, Any]:
    described = runtime_status or "missing"
    return internal_error(
        f"The training orchestration stopped unexpectedly (runtime status {described}) "
        f"during phase '{record.phase}'. Start a new training job."
    )


def is_stale(record: TrainingJobRecord, cutoff: datetime) -> bool:
    """An active job with no sign of life (heartbeat or row change) since ``cutoff``."""
    if record.status not in ACTIVE:
        return False
    seen = max(record.last_updated, record.heartbeat) if record.heartbeat else record.last_updated
    return seen < cutoff


def stale_error(record: TrainingJobRecord, timeout_seconds: int) -> dict[str, Any]:
    seen = record.heartbeat or record.last_updated
    minutes = timeout_seconds // 60 or 1
    return internal_error(
        f"The training job stopped responding during phase '{record.phase}' "
        f"(no heartbeat since {seen.isoformat() if seen else 'creation'}, limit {minutes} min). "
        "Start a new training job."
    )


# ------------------------------------------------------------------------------- operation jobs


def start_operation(record: OperationJobRecord) -> None:
    """The operation's activity begins (again, after a retry): ``running``."""
    set_status(record, JobStatus.RUNNING)


def succeed_operation(record: OperationJobRecord, *, result_url: str | None = None) -> None:
    set_status(record, JobStatus.SUCCEEDED)
    if result_url is not None:
        record.result_url = result_url


def fail_operation(record: OperationJobRecord, errors: list[dict[str, Any]]) -> None:
    """``failed`` with ``errors``; an operation already finished stays as it is."""
    if record.status in TERMINAL:
        return
    set_status(record, JobStatus.FAILED)
    record.errors = list(errors)
