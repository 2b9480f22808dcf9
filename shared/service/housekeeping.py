"""Housekeeping run by the purge timer: expired jobs, orphaned scratch blobs and the heartbeat watchdog.

The service decides *what* to purge or stop; the timer function does the Durable side (purging
instance history, terminating instances) through its durable client, then calls back here. The order
(instance first, then row and blobs) means a crash midway leaves the row in place, so the next run
tries again instead of leaking an instance nobody knows about.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.config import Settings
from shared.errors import NotFound
from shared.models import JobStatus, TrainingJobRecord, utc_now
from shared.service import training_jobs
from shared.storage.blobs import BlobStore
from shared.storage.jobs import TrainingJobStore
from shared.storage.projects import ProjectStore

logger = logging.getLogger(__name__)

SCRATCH_ROOT = "jobs/"


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
    _release_slot(settings, key)
    deleted = BlobStore(settings).delete_prefix(training_jobs.scratch_prefix(key.project_name, key.job_id))
    TrainingJobStore(settings).delete(key.project_name, key.job_id)
    logger.info(
        "[project=%s job=%s phase=purge] expired job purged (%d scratch blobs)",
        key.project_name,
        key.job_id,
        deleted,
        extra={"project": key.project_name, "jobId": key.job_id, "phase": "purge"},
    )


def _release_slot(settings: Settings, key: JobKey) -> None:
    try:
        ProjectStore(settings).release_training_slot(key.project_name, key.job_id)
    except NotFound:
        pass  # the project was deleted; nothing holds a slot


def purge_orphan_scratch(settings: Settings) -> int:
    """Delete scratch folders whose job row is gone or finished (e.g. a crash between steps).

    Returns:
        The number of blobs deleted.
    """
    blobs = BlobStore(settings)
    jobs = TrainingJobStore(settings)
    folders = {
        tuple(name[len(SCRATCH_ROOT) :].split("/", 2)[:2])
        for name in blobs.list_names(SCRATCH_ROOT)
        if name.count("/") >= 3
    }
    deleted = 0
    for project_name, job_id in sorted(folders):
        try:
            record = jobs.get(project_name, job_id)
        except NotFound:
            record = None
        if record is None or record.status in JobStatus.TERMINAL:
            deleted += blobs.delete_prefix(training_jobs.scratch_prefix(project_name, job_id))
    return deleted


def fail_stale_jobs(settings: Settings, now: datetime | None = None) -> list[JobKey]:
    """The watchdog: fail active jobs whose heartbeat stopped for ``heartbeat_timeout_seconds``.

    Returns:
        The jobs failed (or cancelled, when a cancel was pending); the caller terminates their
        Durable instances so no activity keeps running for them.
    """
    moment = now or utc_now()
    cutoff = moment - timedelta(seconds=settings.heartbeat_timeout_seconds)
    stopped: list[JobKey] = []
    for job in TrainingJobStore(settings).list_stale(cutoff):
        if job.status not in JobStatus.ACTIVE:
            continue
        record = _fail_stale(settings, job)
        if record.status in (JobStatus.FAILED, JobStatus.CANCELLED):
            stopped.append(JobKey(job.project_name, job.job_id))
    return stopped


def _fail_stale(settings: Settings, job: TrainingJobRecord) -> TrainingJobRecord:
    seen = job.heartbeat or job.last_updated
    minutes = settings.heartbeat_timeout_seconds // 60 or 1
    return training_jobs.fail_job(
        settings,
        job.project_name,
        job.job_id,
        [
            {
                "code": "InternalServerError",
                "message": f"The training job stopped responding during phase '{job.phase}' "
                f"(no heartbeat since {seen.isoformat() if seen else 'creation'}, limit {minutes} min). "
                "Start a new training job.",
            }
        ],
    )
