"""The I/O side of the job lifecycle: the one place that creates job rows and writes a job's status.

A transition from :mod:`shared.jobs.lifecycle` runs inside an ETag-conditional read-modify-write (re-run
on a lost race, so it must depend only on the record), ``lastUpdatedDateTime`` is stamped, a status
change is logged and published as a CloudEvent, and a job that ended gives back the project's training
slot and its scratch blobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.config import Settings
from shared.jobs import lifecycle
from shared.jobs.ids import new_job_id
from shared.jobs.kinds import JobKind
from shared.jobs.status import TERMINAL, JobStatus
from shared.jobs.workspace import scratch_prefix
from shared.models import OperationJobRecord, TrainingJobRecord, utc_now
from shared.storage.blobs import BlobStore
from shared.storage.events import TRAINING_JOB_PROGRESSED, TRAINING_JOB_STATUS_CHANGED, JobEventPublisher
from shared.storage.operation_jobs import OperationJobStore
from shared.storage.projects import ProjectStore
from shared.storage.training_jobs import TrainingJobStore

logger = logging.getLogger(__name__)

TrainingTransition = Callable[[TrainingJobRecord, datetime], None]
OperationTransition = Callable[[OperationJobRecord], None]


def log_job(level: int, record: TrainingJobRecord, message: str, *args: Any) -> None:
    """A log line tagged with the job's project, id and phase."""
    logger.log(
        level,
        "[project=%s job=%s phase=%s] " + message,
        record.project_name,
        record.job_id,
        record.phase,
        *args,
        extra={"project": record.project_name, "jobId": record.job_id, "phase": record.phase},
    )


def publish_training_event(settings: Settings, record: TrainingJobRecord, *, progress: bool = False) -> None:
    """Publish the job's state (status change, or progress when ``progress``); failures are only logged."""
    event_type = TRAINING_JOB_PROGRESSED if progress else TRAINING_JOB_STATUS_CHANGED
    JobEventPublisher(settings).publish_training_job(record, event_type)


# --------------------------------------------------------------------------------- training jobs


def claim_training_slot(settings: Settings, project_name: str, job_id: str, *, now: datetime | None = None) -> None:
    """Make ``job_id`` the project's one running training job (see :func:`lifecycle.holds_slot`).

    Raises:
        ProjectNotFound; Conflict: another active job holds the slot; StorageError.
    """
    jobs = TrainingJobStore(settings)

    def holder_is_active(holder: str, claimed: datetime | None, at: datetime) -> bool:
        return lifecycle.holds_slot(jobs.read(project_name, holder), claimed, at)

    ProjectStore(settings).claim_training_slot(project_name, job_id, holder_is_active=holder_is_active, now=now)


def create_training(settings: Settings, record: TrainingJobRecord) -> TrainingJobRecord:
    """Claim the project's training slot for ``record`` and write its row (``notStarted``).

    Raises:
        ProjectNotFound; Conflict: another active job holds the slot; StorageError.
    """
    projects = ProjectStore(settings)
    claim_training_slot(settings, record.project_name, record.job_id)
    try:
        TrainingJobStore(settings).create(record)
    except BaseException:
        # Without a row nobody would ever release the slot.
        projects.release_training_slot(record.project_name, record.job_id)
        raise
    publish_training_event(settings, record)
    return record


def apply_training(
    settings: Settings,
    project_name: str,
    job_id: str,
    transition: TrainingTransition,
    *,
    ends: bool = False,
    progress: bool = False,
) -> TrainingJobRecord:
    """Apply ``transition`` to a training job's row and do what follows from it.

    Args:
        transition: a lifecycle function with its arguments bound but ``(record, now)``.
        ends: the transition may end the job (succeed, fail, cancel): once the job is terminal its slot
            is released and its scratch data deleted (again on a retry, which is harmless).
        progress: publish a progress event even without a status change.

    Raises:
        Whatever ``transition`` raises (nothing is written then); OperationNotFound; StorageError.
    """
    before: dict[str, str] = {}

    def change(record: TrainingJobRecord) -> None:
        before.setdefault("status", record.status)
        now = utc_now()
        transition(record, now)
        record.last_updated = now

    record = TrainingJobStore(settings).modify(project_name, job_id, change)
    if record.status != before.get("status"):
        log_job(logging.INFO, record, "status %s -> %s", before.get("status"), record.status)
        publish_training_event(settings, record)
    elif progress:
        publish_training_event(settings, record, progress=True)
    if ends and record.status in TERMINAL:
        if record.status == JobStatus.FAILED:
            messages = "; ".join(str(error.get("message")) for error in record.errors)
            log_job(logging.WARNING, record, "job failed: %s", messages)
        ProjectStore(settings).release_training_slot(project_name, job_id)
        BlobStore(settings).delete_prefix(scratch_prefix(project_name, job_id))
    return record


def fail_training(
    settings: Settings, project_name: str, job_id: str, errors: list[dict[str, Any]], *, phase: str | None = None
) -> TrainingJobRecord:
    """End a job ``failed`` with ``errors`` (``cancelled`` if a cancel was pending)."""
    return apply_training(
        settings,
        project_name,
        job_id,
        lambda record, now: lifecycle.fail(record, errors, now, phase=phase),
        ends=True,
    )


def cancel_training(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """End a job ``cancelled`` (a job that already finished is returned unchanged)."""
    return apply_training(settings, project_name, job_id, lifecycle.complete_cancel, ends=True)


# -------------------------------------------------------------------------------- operation jobs


def create_operation(
    settings: Settings, kind: JobKind, project_name: str, *, job_id: str | None = None, **extra: Any
) -> OperationJobRecord:
    """Write a new ``notStarted`` row of an operation ``kind`` and publish it.

    ``job_id`` defaults to :func:`new_job_id`; the runtime's extraction jobs pass a plain UUID (its spec).

    Raises:
        StorageError.
    """
    now = utc_now()
    record = OperationJobRecord(
        kind=kind.name,
        project_name=kind.scope(project_name),
        job_id=job_id or new_job_id(now),
        status=JobStatus.NOT_STARTED,
        created=now,
        last_updated=now,
        expiration=lifecycle.expiration(now, settings.job_ttl_days),
        **extra,
    )
    OperationJobStore(settings).create(record)
    JobEventPublisher(settings).publish_operation_job(record, kind.event_type)
    return record


def apply_operation(
    settings: Settings, kind: JobKind, project_name: str, job_id: str, transition: OperationTransition
) -> OperationJobRecord:
    """Apply ``transition`` to an operation job's row and publish its state."""

    def change(record: OperationJobRecord) -> None:
        transition(record)
        record.last_updated = utc_now()

    record = OperationJobStore(settings).modify(kind.name, kind.scope(project_name), job_id, change)
    JobEventPublisher(settings).publish_operation_job(record, kind.event_type)
    return record
