"""Reconciling a job row with its Durable orchestration's runtime status.

The row is the truth the API reports; the runtime is asked only about a row that went quiet
(:func:`shared.jobs.lifecycle.needs_runtime_check`), and a row whose orchestration is gone is ended
as :func:`shared.jobs.lifecycle.reconcile` decides.
"""

from __future__ import annotations

from datetime import datetime

from shared.config import Settings
from shared.jobs import apply, lifecycle
from shared.jobs.lifecycle import Reconciliation
from shared.models import TrainingJobRecord, utc_now
from shared.storage.training_jobs import TrainingJobStore


def needs_runtime_check(settings: Settings, record: TrainingJobRecord, now: datetime) -> bool:
    """True when the runtime's view of ``record`` could change what the API reports."""
    return lifecycle.needs_runtime_check(record, now, chunk_seconds=settings.train_chunk_seconds)


def reconcile_with_runtime(
    settings: Settings, project_name: str, job_id: str, runtime_status: str | None
) -> TrainingJobRecord:
    """Fix an active job row whose orchestration is gone (Failed, Terminated, Completed or missing).

    ``runtime_status`` is the Durable runtime status (``Running``, ``Pending``, ``Completed``,
    ``Failed``, ``Terminated``...) or None when the instance does not exist.
    """
    record = TrainingJobStore(settings).get(project_name, job_id)
    decision = lifecycle.reconcile(record, runtime_status, utc_now())
    if decision is Reconciliation.CANCEL:
        return apply.cancel_training(settings, project_name, job_id)
    if decision is Reconciliation.FAIL:
        error = lifecycle.runtime_lost_error(record, runtime_status)
        return apply.fail_training(settings, project_name, job_id, [error])
    return record
