"""The state changes a training job's pipeline makes, each one lifecycle transition applied.

Thin on purpose: the rules are in :mod:`shared.jobs.lifecycle`, the I/O in :mod:`shared.jobs.apply`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.config import Settings
from shared.errors import ErrorDetail, OperationNotFound, StorageError
from shared.jobs import apply, lifecycle
from shared.jobs.apply import cancel_training, fail_training
from shared.models import TrainingJobRecord
from shared.storage.projects import ProjectStore
from shared.storage.training_jobs import TrainingJobStore

__all__ = [
    "add_warnings",
    "cancel_training",
    "fail_training",
    "get_job",
    "heartbeat",
    "mark_phase",
    "read_job",
    "record_estimate",
    "record_evaluation_progress",
    "record_progress",
    "request_cancel",
    "start_evaluation",
    "succeed_job",
]


def read_job(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """The job row; the project row is read only when no job row was found.

    Project deletion removes the job rows before the project row, and a job is only created on an
    existing project, so a job row found implies its project exists. Otherwise the project-first
    lookup decides the answer (ProjectNotFound, OperationNotFound or the storage failure).
    """
    try:
        return get_job(settings, project_name, job_id)
    except (OperationNotFound, StorageError):
        ProjectStore(settings).get(project_name)
        return TrainingJobStore(settings).get(project_name, job_id)


def get_job(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """The job as callers see it (OperationNotFound when unknown or expired)."""
    return TrainingJobStore(settings).get(project_name, job_id)


def mark_phase(settings: Settings, project_name: str, job_id: str, phase: str) -> TrainingJobRecord:
    """Record the pipeline phase and a heartbeat; the first call moves the job to ``running``.

    Raises:
        JobNotActive: the job is cancelling, cancelled or finished.
    """
    return apply.apply_training(
        settings, project_name, job_id, lambda record, now: lifecycle.start_phase(record, phase, now)
    )


def heartbeat(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """Show the watchdog that the job is alive."""
    return apply.apply_training(settings, project_name, job_id, lifecycle.heartbeat)


def add_warnings(settings: Settings, project_name: str, job_id: str, warnings: list[ErrorDetail]) -> None:
    """Append warnings to the job (the first :data:`lifecycle.MAX_STORED_WARNINGS` kept, the rest counted)."""
    if not warnings:
        return
    record = apply.apply_training(
        settings, project_name, job_id, lambda record, now: lifecycle.add_warnings(record, warnings, now)
    )
    apply.log_job(logging.INFO, record, "%d warnings recorded", len(warnings))


def record_progress(
    settings: Settings,
    project_name: str,
    job_id: str,
    *,
    step: int,
    max_steps: int,
    finished: bool,
    seconds_per_step: float | None,
    loss: float | None = None,
    dev_score: float | None = None,
) -> TrainingJobRecord:
    """Update ``percentComplete``, ``estimatedEndDateTime`` and the history after a training chunk."""

    def transition(record: TrainingJobRecord, now: datetime) -> None:
        lifecycle.record_progress(
            record, now, step=step, max_steps=max_steps, finished=finished, seconds_per_step=seconds_per_step,
            loss=loss, dev_score=dev_score,
        )  # fmt: skip

    return apply.apply_training(settings, project_name, job_id, transition, progress=True)


def record_estimate(
    settings: Settings, project_name: str, job_id: str, *, percent: int, estimated_end: datetime
) -> TrainingJobRecord:
    """Progress before the first training chunk (see :mod:`shared.training.estimate`)."""

    def transition(record: TrainingJobRecord, now: datetime) -> None:
        lifecycle.record_estimate(record, now, percent=percent, estimated_end=estimated_end)

    return apply.apply_training(settings, project_name, job_id, transition, progress=True)


def record_evaluation_progress(settings: Settings, project_name: str, job_id: str, *, done: int, total: int) -> None:
    """``evaluationStatus.percentComplete`` after ``done`` of ``total`` test shards."""

    def transition(record: TrainingJobRecord, now: datetime) -> None:
        lifecycle.record_evaluation_progress(record, now, done=done, total=total)

    apply.apply_training(settings, project_name, job_id, transition, progress=True)


def start_evaluation(
    settings: Settings, project_name: str, job_id: str, estimated_end: datetime | None = None
) -> TrainingJobRecord:
    """Training finished: close ``trainingStatus`` and open ``evaluationStatus`` (with an estimated end)."""

    def transition(record: TrainingJobRecord, now: datetime) -> None:
        lifecycle.start_evaluation(record, now, estimated_end)

    record = apply.apply_training(settings, project_name, job_id, transition)
    apply.log_job(logging.INFO, record, "training finished, evaluation started")
    return record


def succeed_job(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """Mark the job ``succeeded``, release the slot and drop scratch data.

    Raises:
        JobNotActive: the job was cancelled meanwhile (the caller must not keep its model).
    """
    return apply.apply_training(settings, project_name, job_id, lifecycle.succeed, ends=True)


def request_cancel(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """Move an active job to ``cancelling`` (idempotent for a job already cancelling).

    Raises:
        OperationNotFound: unknown job; Conflict: the job already finished.
    """
    return apply.apply_training(
        settings, project_name, job_id, lambda record, now: lifecycle.request_cancel(record)
    )


def abandon(settings: Settings, project_name: str, job_id: str, reason: str) -> TrainingJobRecord:
    """Fail a job whose orchestration could not be started (releases the slot)."""
    return fail_training(settings, project_name, job_id, [lifecycle.not_started_error(reason)])

