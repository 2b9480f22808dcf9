"""Housekeeping run by the purge timer: expired jobs, orphaned scratch blobs and the heartbeat watchdog.

This module decides *what* to purge or stop; the timer function does the Durable side (purging
instance history, terminating instances) through its durable client, then calls back here. The order
(instance first, then row and blobs) means a crash midway leaves the row in place, so the next run
tries again instead of leaking an instance nobody knows about.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.config import Settings
from shared.errors import NotFound
from shared.jobs import apply, lifecycle
from shared.jobs.kinds import kind_named
from shared.jobs.status import TERMINAL, JobStatus
from shared.jobs.workspace import SCRATCH_ROOT, scratch_job_of, scratch_prefix
from shared.models import OperationJobRecord, TrainingJobRecord, utc_now
from shared.storage.blobs import BlobStore
from shared.storage.operation_jobs import OperationJobStore
from shared.storage.projects import ProjectStore
from shared.storage.training_jobs import TrainingJobStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobKey:
    """A job to purge or stop; ``instance_id`` is the Durable instance (= job id)."""

    project_name: str
    job_id: str

    @property
    def instance_id(self) -> str:
        return self.job_id


def find_expired_jobs(settings: Settings, now: datetime | None = None) -> list[JobKey]:
    """Jobs whose ``expirationDateTime`` passed (their rows, instances and scratch data go)."""
    moment = now or utc_now()
    return [JobKey(job.project_name, job.job_id) for job in TrainingJobStore(settings).list_expired(moment)]


def forget_job(settings: Settings, key: JobKey) -> None:
    """Delete an expired job's scratch blobs and row (its instance history is already purged).

    An expired job still holding its project's slot (it never finished) releases it first.
    """
    try:
        ProjectStore(settings).release_training_slot(key.project_name, key.job_id)
    except NotFound:
        pass  # the project was deleted; nothing holds a slot
    deleted = BlobStore(settings).delete_prefix(scratch_prefix(key.project_name, key.job_id))
    TrainingJobStore(settings).delete(key.project_name, key.job_id)
    logger.info(
        "[project=%s job=%s phase=purge] expired job purged (%d scratch blobs)",
        key.project_name,
        key.job_id,
        deleted,
        extra={"project": key.project_name, "jobId": key.job_id, "phase": "purge"},
    )


def purge_orphan_scratch(settings: Settings) -> int:
    """Delete scratch folders whose job row is gone or finished (e.g. a crash between steps).

    Returns:
        The number of blobs deleted.
    """
    blobs = BlobStore(settings)
    jobs = TrainingJobStore(settings)
    folders = {job for name in blobs.list_names(SCRATCH_ROOT) if (job := scratch_job_of(name)) is not None}
    deleted = 0
    for project_name, job_id in sorted(folders):
        try:
            record: TrainingJobRecord | None = jobs.get(project_name, job_id)
        except NotFound:
            record = None
        if record is None or record.status in TERMINAL:
            deleted += blobs.delete_prefix(scratch_prefix(project_name, job_id))
    return deleted


def fail_stale_jobs(settings: Settings, now: datetime | None = None) -> list[JobKey]:
    """The watchdog: fail active jobs of **every kind** silent for ``heartbeat_timeout_seconds``.

    Training jobs: no heartbeat or row change for that long. Operation jobs (import, export, deletion,
    load-snapshot and any later kind kept in the operations table): no row change for that long. An
    operation's activity writes its row when each attempt starts and ends, and ``functionTimeout``
    (10 min in host.json) bounds an attempt, so a live operation is never that quiet; a job whose
    orchestration never started (or whose messages were lost) is. So no job stays ``notStarted``,
    ``running`` or ``cancelling`` longer than the timeout plus one timer period.

    Returns:
        The jobs failed (or cancelled, when a cancel was pending); the caller terminates their
        Durable instances so no activity keeps running for them.
    """
    moment = now or utc_now()
    cutoff = moment - timedelta(seconds=settings.heartbeat_timeout_seconds)
    stopped: list[JobKey] = []
    for job in TrainingJobStore(settings).list_stale(cutoff):
        if not lifecycle.is_stale(job, cutoff):
            continue
        error = lifecycle.stale_error(job, settings.heartbeat_timeout_seconds)
        record = apply.fail_training(settings, job.project_name, job.job_id, [error])
        if record.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            stopped.append(JobKey(job.project_name, job.job_id))
    return stopped + _fail_stale_operations(settings, cutoff)


def _failing(error: dict[str, Any]) -> Callable[[OperationJobRecord], None]:
    def stop(record: OperationJobRecord) -> None:
        if record.status == JobStatus.CANCELLING:  # a cancel always wins (see shared.jobs.status)
            lifecycle.set_status(record, JobStatus.CANCELLED)
        else:
            lifecycle.fail_operation(record, [error])

    return stop


def _fail_stale_operations(settings: Settings, cutoff: datetime) -> list[JobKey]:
    stopped: list[JobKey] = []
    minutes = settings.heartbeat_timeout_seconds // 60 or 1
    for job in OperationJobStore(settings).list_stale(cutoff):
        error = lifecycle.internal_error(
            f"The {job.kind} job stopped responding (no progress since {job.last_updated.isoformat()}, "
            f"limit {minutes} min). Start it again."
        )
        try:
            kind = kind_named(job.kind)
        except ValueError:
            logger.warning("stale operation job %s has unknown kind %r; left alone", job.job_id, job.kind)
            continue
        record = apply.apply_operation(settings, kind, job.project_name, job.job_id, _failing(error))
        if record.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            logger.warning(
                "[project=%s job=%s phase=watchdog] stale %s job stopped",
                job.project_name,
                job.job_id,
                job.kind,
                extra={"project": job.project_name, "jobId": job.job_id, "phase": "watchdog"},
            )
            stopped.append(JobKey(job.project_name, job.job_id))
    return stopped
