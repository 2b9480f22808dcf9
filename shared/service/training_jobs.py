"""Training job use cases: create, cancel, reconcile, and the state changes the pipeline makes.

Every state change of a job goes through :class:`~shared.storage.jobs.TrainingJobStore.modify`
(ETag-conditional, retried on conflicts), is logged with the project, job id and phase, and is
published as an event on the events queue. The project's training slot is claimed when a job is
created and released whenever the job reaches a terminal state.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from shared.config import Settings
from shared.errors import (
    AppError,
    Conflict,
    ErrorDetail,
    InvalidArgument,
    InvalidRequest,
)
from shared.models import (
    MAX_MODELS_PER_PROJECT,
    TRAINING_CONFIG_VERSION,
    JobStatus,
    SubJobState,
    TrainingJobRecord,
    utc_now,
)
from shared.ner.project_file import parse_project_file, validate_model_label
from shared.ner.splitting import check_manual_split, parse_evaluation_options, split_documents
from shared.storage.blobs import BlobStore
from shared.storage.events import (
    TRAINING_JOB_PROGRESSED,
    TRAINING_JOB_STATUS_CHANGED,
    JobEventPublisher,
)
from shared.storage.jobs import TrainingJobStore
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore

logger = logging.getLogger(__name__)

ORCHESTRATOR_NAME = "training_orchestrator"

SUPPORTED_CONFIG_VERSIONS = ("latest", TRAINING_CONFIG_VERSION)
"""Accepted ``trainingConfigVersion`` values; ``latest`` is recorded as the version it resolves to."""

MAX_STORED_WARNINGS = 50
"""Warnings kept in the job row (a table property holds at most 64 KiB); the rest are counted."""
NOT_STARTED_GRACE = timedelta(seconds=60)
"""How long a notStarted job may lack its orchestration (between the row write and ``start_new``)."""


class JobNotActive(Conflict):
    """The job was cancelled or finished while a pipeline step was about to change it."""


# ----------------------------------------------------------------------------------------------
# Helpers


def scratch_prefix(project_name: str, job_id: str) -> str:
    """Blob prefix of a job's scratch data (split, shards, checkpoints, per-shard evaluations)."""
    return f"jobs/{project_name}/{job_id}/"


def new_job_id(now: datetime) -> str:
    """Azure's job id shape: ``<guid>_<.NET ticks of the day>`` (treated as opaque by clients)."""
    days = (now.date() - date(1, 1, 1)).days
    return f"{uuid.uuid4()}_{days * 864_000_000_000}"


def _log(level: int, record: TrainingJobRecord, message: str, *args: Any) -> None:
    logger.log(
        level,
        "[project=%s job=%s phase=%s] " + message,
        record.project_name,
        record.job_id,
        record.phase,
        *args,
        extra={"project": record.project_name, "jobId": record.job_id, "phase": record.phase},
    )


def publish_job_event(settings: Settings, record: TrainingJobRecord, *, progress: bool = False) -> None:
    """Publish the job's state as a CloudEvent (status change, or progress when ``progress``).

    The publisher logs and swallows queue failures: the job row is the truth and is already written.
    """
    event_type = TRAINING_JOB_PROGRESSED if progress else TRAINING_JOB_STATUS_CHANGED
    JobEventPublisher(settings).publish_training_job(record, event_type)


def _modify(
    settings: Settings, project_name: str, job_id: str, change: Callable[[TrainingJobRecord], None]
) -> TrainingJobRecord:
    def apply(record: TrainingJobRecord) -> None:
        change(record)
        record.last_updated = utc_now()

    return TrainingJobStore(settings).modify(project_name, job_id, apply)


def _change_status(
    settings: Settings, project_name: str, job_id: str, change: Callable[[TrainingJobRecord], None]
) -> TrainingJobRecord:
    """Apply ``change``; publish an event and log when the top-level status changed."""
    before: dict[str, str] = {}

    def apply(record: TrainingJobRecord) -> None:
        before.setdefault("status", record.status)
        change(record)

    record = _modify(settings, project_name, job_id, apply)
    if record.status != before.get("status"):
        _log(logging.INFO, record, "status %s -> %s", before.get("status"), record.status)
        publish_job_event(settings, record)
    return record


def _release_slot(settings: Settings, record: TrainingJobRecord) -> None:
    ProjectStore(settings).release_training_slot(record.project_name, record.job_id)


def _ensure_active(record: TrainingJobRecord) -> None:
    if record.status not in (JobStatus.NOT_STARTED, JobStatus.RUNNING):
        raise JobNotActive(
            f"Training job '{record.job_id}' is {record.status}; the pipeline stops here.", target="jobId"
        )


def _finish_sub_state(state: SubJobState, status: str, now: datetime) -> None:
    """Close a sub-status that did not finish on its own (it keeps ``succeeded`` if it had)."""
    if state.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
        return
    state.status = status
    if state.start is not None:
        state.end = now


# ----------------------------------------------------------------------------------------------
# Use cases called by the HTTP API and the queue trigger


def _validate_train_body(body: Any) -> tuple[str, str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest(
            "The request body must be a JSON object with 'modelLabel' and 'trainingConfigVersion'."
        )
    label = body.get("modelLabel")
    if not isinstance(label, str) or not label:
        raise InvalidArgument(
            "The 'modelLabel' field is required and must be a non-empty string.", target="modelLabel"
        )
    validate_model_label(label)
    version = body.get("trainingConfigVersion")
    if not isinstance(version, str) or not version:
        raise InvalidArgument(
            "The 'trainingConfigVersion' field is required; supported versions: "
            + ", ".join(SUPPORTED_CONFIG_VERSIONS)
            + ".",
            target="trainingConfigVersion",
        )
    if version not in SUPPORTED_CONFIG_VERSIONS:
        raise InvalidArgument(
            f"Training config version '{version}' is not supported; supported versions: "
            + ", ".join(SUPPORTED_CONFIG_VERSIONS)
            + ".",
            target="trainingConfigVersion",
        )
    resolved = TRAINING_CONFIG_VERSION if version == "latest" else version
    options = parse_evaluation_options(body.get("evaluationOptions"))
    return label, resolved, options


def check_model_quota(settings: Settings, project_name: str, label: str) -> None:
    models = ModelStore(settings).list(project_name)
    labels = sorted(model.label for model in models)
    if label in labels or len(labels) < MAX_MODELS_PER_PROJECT:
        return
    raise Conflict(
        f"Project '{project_name}' already has {len(labels)} trained models, the maximum of "
        f"{MAX_MODELS_PER_PROJECT}. Delete a model or retrain an existing label ({', '.join(labels)}).",
        target="modelLabel",
    )


def project_seed(project_name: str) -> int:
    """The seed of every training job of a project: stable, derived from the project name.

    Azure draws a new random split per job, which its FAQ admits makes evaluations of retrained models
    non-comparable. With one seed per project, the same documents give the same train/dev/test split and
    the same training order on every job, so two models of a project are evaluated on the same test
    documents, and retraining unchanged data reproduces the model. The seed is recorded in the job and in
    its ``split.json``.
    """
    return int.from_bytes(hashlib.sha256(project_name.encode("utf-8")).digest()[:4], "big") % 2**31


def create_training_job(
    settings: Settings, project_name: str, body: dict[str, Any]
) -> TrainingJobRecord:
    """Validate a ``:train`` request, claim the project's training slot and write the job row.

    Args:
        settings: App settings.
        project_name: The project to train.
        body: The ``TrainingJobOptions`` JSON (``modelLabel``, ``trainingConfigVersion``,
            optional ``evaluationOptions``).

    Returns:
        The new job, ``notStarted``. The caller starts the orchestration with instance id = job id
        and calls :func:`abandon_training_job` if that fails.

    Raises:
        InvalidArgument: a field is missing or invalid, or the project has no imported assets.
        ProjectNotFound: no such project.
        Conflict: another job holds the project's slot, or the project has 10 models already.
    """
    label, config_version, options = _validate_train_body(body)
    project = ProjectStore(settings).get(project_name)
    if not project.assets_blob:
        raise InvalidArgument(
            f"Project '{project_name}' has no labelled data to train on: import a project file first.",
            target="projectName",
        )
    if options.kind == "manual":
        # A manual split without Test documents is the caller's mistake: 400 now, not a failed job later.
        if project.test_document_count is not None:
            check_manual_split(project.test_document_count)
        else:  # a project imported before the count was recorded: read its assets
            assets = parse_project_file(
                BlobStore(settings).get_json(project.assets_blob), expected_project_name=project_name
            )
            split_documents(assets.documents, options, seed=0)
    check_model_quota(settings, project_name, label)

    now = utc_now()
    job_id = new_job_id(now)
    record = TrainingJobRecord(
        project_name=project_name,
        job_id=job_id,
        model_label=label,
        training_config_version=config_version,
        evaluation_options=options,
        status=JobStatus.NOT_STARTED,
        created=now,
        last_updated=now,
        expiration=now + timedelta(days=settings.job_ttl_days),
        heartbeat=now,
        seed=project_seed(project_name),
    )
    projects = ProjectStore(settings)
    projects.claim_training_slot(project_name, job_id)
    try:
        TrainingJobStore(settings).create(record)
    except BaseException:
        # Without a row nobody would ever release the slot.
        projects.release_training_slot(project_name, job_id)
        raise
    _log(logging.INFO, record, "training job created for model '%s' (seed %d)", label, record.seed)
    publish_job_event(settings, record)
    return record


def abandon_training_job(settings: Settings, project_name: str, job_id: str, reason: str) -> None:
    """Mark a job failed whose orchestration could not be started, and release the slot."""
    fail_job(
        settings,
        project_name,
        job_id,
        [{"code": "InternalServerError", "message": f"The training job could not be started: {reason}"}],
    )


def request_cancel(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """Move an active job to ``cancelling`` (idempotent for a job already cancelling).

    Raises:
        OperationNotFound: unknown or expired job.
        Conflict: the job already finished.
    """

    def change(record: TrainingJobRecord) -> None:
        if record.status in JobStatus.TERMINAL:
            raise Conflict(
                f"Training job '{job_id}' already {record.status} and cannot be cancelled.", target="jobId"
            )
        record.status = JobStatus.CANCELLING

    return _change_status(settings, project_name, job_id, change)


def complete_cancel(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """After the orchestration was terminated: mark ``cancelled``, release the slot, drop scratch data.

    A job that already reached a terminal state (it finished before the cancel landed) is returned
    unchanged.
    """

    def change(record: TrainingJobRecord) -> None:
        if record.status in JobStatus.TERMINAL:
            return
        now = utc_now()
        record.status = JobStatus.CANCELLED
        record.phase = "done"
        record.estimated_end = None
        _finish_sub_state(record.training_status, JobStatus.CANCELLED, now)
        _finish_sub_state(record.evaluation_status, JobStatus.CANCELLED, now)

    record = _change_status(settings, project_name, job_id, change)
    if record.status == JobStatus.CANCELLED:
        _release_slot(settings, record)
        BlobStore(settings).delete_prefix(scratch_prefix(project_name, job_id))
    return record


def reconcile_with_runtime(
    settings: Settings, project_name: str, job_id: str, runtime_status: str | None
) -> TrainingJobRecord:
    """Fix an active job row whose orchestration is gone (Failed, Terminated, Completed or missing).

    ``runtime_status`` is the Durable runtime status (``Running``, ``Pending``, ``Completed``,
    ``Failed``, ``Terminated``...) or None when the instance does not exist.
    """
    record = TrainingJobStore(settings).get(project_name, job_id)
    if record.status in JobStatus.TERMINAL or runtime_status in ("Running", "Pending", "ContinuedAsNew"):
        return record
    if runtime_status is None and record.status == JobStatus.NOT_STARTED:
        if utc_now() - record.created < NOT_STARTED_GRACE:
            return record  # the API may not have called start_new yet
    if record.status == JobStatus.CANCELLING or runtime_status in ("Terminated", "Canceled"):
        return complete_cancel(settings, project_name, job_id)
    described = runtime_status or "missing"
    return fail_job(
        settings,
        project_name,
        job_id,
        [
            {
                "code": "InternalServerError",
                "message": f"The training orchestration stopped unexpectedly (runtime status {described}) "
                f"during phase '{record.phase}'. Start a new training job.",
            }
        ],
    )


def parse_queued_request(body: bytes | str) -> tuple[str, dict[str, Any]]:
    """Read a training request from the train-requests queue: the ``:train`` body plus ``projectName``.

    Raises:
        InvalidRequest: the message is not a JSON object or has no ``projectName``.
    """
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"The training request message is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidRequest("The training request message must be a JSON object.")
    project = data.get("projectName")
    if not isinstance(project, str) or not project:
        raise InvalidArgument(
            "The training request message needs a 'projectName' string.", target="projectName"
        )
    return project, {key: value for key, value in data.items() if key != "projectName"}


def reject_queued_request(settings: Settings, project_name: str | None, error: AppError) -> None:
    """Log a queue message that cannot run and publish it as a failed ``TrainingJobStatusChanged`` event.

    There is no job (nothing was created), so the subject is the project's ``train`` path.
    """
    logger.warning(
        "[project=%s] training request from the queue rejected: %s",
        project_name,
        error.message,
        extra={"project": project_name, "phase": "queued"},
    )
    data = {
        "projectName": project_name,
        "status": JobStatus.FAILED,
        "phase": "queued",
        "errors": [error.to_dict()],
    }
    subject = f"projects/{project_name}/train" if project_name else "train-requests"
    JobEventPublisher(settings).publish(TRAINING_JOB_STATUS_CHANGED, subject, data)


# ----------------------------------------------------------------------------------------------
# State changes made by the pipeline's activities


def get_job(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    return TrainingJobStore(settings).get(project_name, job_id)


def mark_phase(settings: Settings, project_name: str, job_id: str, phase: str) -> TrainingJobRecord:
    """Record the pipeline phase and a heartbeat; the first call moves the job to ``running``.

    Raises:
        JobNotActive: the job is cancelling, cancelled or finished.
    """

    def change(record: TrainingJobRecord) -> None:
        _ensure_active(record)
        now = utc_now()
        record.phase = phase
        record.heartbeat = now
        if record.status == JobStatus.NOT_STARTED:
            record.status = JobStatus.RUNNING
            record.training_status = SubJobState(status=JobStatus.RUNNING, percent_complete=0, start=now)

    return _change_status(settings, project_name, job_id, change)


def heartbeat(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """Show the watchdog that the job is alive."""

    def change(record: TrainingJobRecord) -> None:
        record.heartbeat = utc_now()

    return _modify(settings, project_name, job_id, change)


def add_warnings(settings: Settings, project_name: str, job_id: str, warnings: list[ErrorDetail]) -> None:
    """Append warnings to the job (first :data:`MAX_STORED_WARNINGS` kept, the rest counted)."""
    if not warnings:
        return

    def change(record: TrainingJobRecord) -> None:
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
        record.heartbeat = utc_now()

    record = _modify(settings, project_name, job_id, change)
    _log(logging.INFO, record, "%d warnings recorded", len(warnings))


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


def record_progress(
    settings: Settings,
    project_name: str,
    job_id: str,
    *,
    step: int,
    max_steps: int,
    finished: bool,
    seconds_per_step: float | None,
) -> TrainingJobRecord:
    """Update ``percentComplete`` and ``estimatedEndDateTime`` after a training chunk."""

    def change(record: TrainingJobRecord) -> None:
        _ensure_active(record)
        now = utc_now()
        record.heartbeat = now
        record.training_status.percent_complete = percent_of(step, max_steps, finished)
        if seconds_per_step is not None and not finished:
            remaining = max(0, max_steps - step) * seconds_per_step
            record.estimated_end = now + timedelta(seconds=remaining)

    record = _modify(settings, project_name, job_id, change)
    publish_job_event(settings, record, progress=True)
    return record


def start_evaluation(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """Training finished: close ``trainingStatus`` and open ``evaluationStatus``."""

    def change(record: TrainingJobRecord) -> None:
        _ensure_active(record)
        now = utc_now()
        record.phase = "evaluating"
        record.heartbeat = now
        record.estimated_end = None
        record.training_status.status = JobStatus.SUCCEEDED
        record.training_status.percent_complete = 100
        record.training_status.end = now
        record.evaluation_status = SubJobState(status=JobStatus.RUNNING, percent_complete=0, start=now)

    record = _modify(settings, project_name, job_id, change)
    _log(logging.INFO, record, "training finished, evaluation started")
    return record


def succeed_job(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """Mark the job ``succeeded`` (both sub-statuses 100) and release the slot.

    Raises:
        JobNotActive: the job was cancelled meanwhile (the caller must not keep its model).
    """

    def change(record: TrainingJobRecord) -> None:
        if record.status == JobStatus.SUCCEEDED:
            return
        _ensure_active(record)
        now = utc_now()
        record.status = JobStatus.SUCCEEDED
        record.phase = "done"
        record.estimated_end = None
        for state in (record.training_status, record.evaluation_status):
            state.status = JobStatus.SUCCEEDED
            state.percent_complete = 100
            state.start = state.start or now
            state.end = state.end or now

    record = _change_status(settings, project_name, job_id, change)
    _release_slot(settings, record)
    return record


def fail_job(
    settings: Settings,
    project_name: str,
    job_id: str,
    errors: list[dict[str, Any]],
    *,
    phase: str | None = None,
) -> TrainingJobRecord:
    """Mark the job ``failed`` with ``errors``, release the slot and drop scratch data.

    A job that is ``cancelling`` becomes ``cancelled`` instead (the user asked for it to stop); a job
    already terminal is returned unchanged, so the call is safe to retry.
    """
    current = TrainingJobStore(settings).get(project_name, job_id)
    if current.status == JobStatus.CANCELLING:
        return complete_cancel(settings, project_name, job_id)

    def change(record: TrainingJobRecord) -> None:
        if record.status in JobStatus.TERMINAL:
            return
        now = utc_now()
        record.status = JobStatus.FAILED
        if phase:
            record.phase = phase
        record.errors = list(errors)
        record.estimated_end = None
        _finish_sub_state(record.training_status, JobStatus.FAILED, now)
        if record.evaluation_status.status == JobStatus.RUNNING:
            _finish_sub_state(record.evaluation_status, JobStatus.FAILED, now)

    record = _change_status(settings, project_name, job_id, change)
    if record.status == JobStatus.FAILED:
        _log(logging.WARNING, record, "job failed: %s", "; ".join(str(e.get("message")) for e in errors))
        _release_slot(settings, record)
        BlobStore(settings).delete_prefix(scratch_prefix(project_name, job_id))
    return record


def is_stop_requested(record: TrainingJobRecord) -> bool:
    """True when a running step should stop early (cancel requested or job already over)."""
    return record.status in (JobStatus.CANCELLING, JobStatus.CANCELLED, JobStatus.FAILED)
