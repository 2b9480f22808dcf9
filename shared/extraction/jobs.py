"""Extraction jobs (``/language/analyze-text/jobs``) on the job framework: submit, run, read, cancel, expire.

A job is an operation row of kind ``extraction`` (:data:`EXTRACTION`, in the pseudo project ``global``:
the runtime's URLs name no project), its input and results in blobs under
``analyze-text/jobs/<jobId>/`` (:mod:`shared.jobs.workspace`), and a Durable orchestration (instance id =
job id) whose activities call the steps below:

1. :func:`start_job` — ``running``; every ``CustomEntityRecognition`` task's deployment is resolved to the
   trained model version it serves *now*, and that version is used for the whole job (a redeploy during
   the job does not mix two models in one result); the documents are cut into batches;
2. :func:`predict_batch` — fanned out, one per (task, batch): the worker's cached model predicts, the
   batch's ``documents``/``errors`` entries are written to a blob;
3. :func:`finish_job` — the batches are collected into each task's outcome, the job ends ``succeeded``
   (or ``failed`` when every task failed; ``cancelled`` when a cancel came first).

Submit checks what the client can fix before any job exists (body, limits, unknown project or deployment:
404 naming it). A deployment deleted between submit and start fails its task alone.

Cancel (:func:`cancel_job`) marks the job ``cancelling``; the orchestration ends it ``cancelled`` at its
next step (jobs are short: a batch is at most a few seconds of prediction), so every cancel ends.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.config import Settings
from shared.errors import AppError, Conflict, NotFound
from shared.extraction.analysis import analyze_batch
from shared.extraction.batches import plan_batches
from shared.extraction.request import AnalyzeJobRequest, CustomEntityTask, UnsupportedTask, parse_job_request
from shared.extraction.results import TaskOutcome, job_state, job_status
from shared.extraction.serving import served_model
from shared.jobs import lifecycle
from shared.jobs.apply import apply_operation, create_operation
from shared.jobs.kinds import EXTRACTION
from shared.jobs.status import TERMINAL, JobStatus
from shared.jobs.workspace import ExtractionWorkspace
from shared.models import OperationJobRecord, utc_now
from shared.storage.blobs import BlobStore
from shared.storage.operation_jobs import OperationJobStore

logger = logging.getLogger(__name__)

SCOPE = EXTRACTION.scope("")
FINISHED = frozenset(str(status) for status in TERMINAL)


# ------------------------------------------------------------------------------------------ blob names


def job_prefix(job_id: str) -> str:
    return ExtractionWorkspace(job_id).prefix


def request_blob(job_id: str) -> str:
    return ExtractionWorkspace(job_id).request


def batch_blob(job_id: str, task_index: int, batch_number: int) -> str:
    return ExtractionWorkspace(job_id).batch(task_index, batch_number)


def results_blob(job_id: str) -> str:
    return ExtractionWorkspace(job_id).results


# ------------------------------------------------------------------------------------------- resolving


class Deployed(Protocol):
    """What a deployment serves (``shared.service.deployments.DeployedModel``)."""

    @property
    def model_blob(self) -> str: ...


Resolver = Callable[[Settings, str, str], Deployed]
"""``(settings, projectName, deploymentName)`` -> the deployed model; raises ProjectNotFound / NotFound."""


def _resolve_task(settings: Settings, resolve: Resolver, task: CustomEntityTask) -> Deployed:
    """The task's deployment, or a 404 naming the task's project or deployment."""
    try:
        return resolve(settings, task.project_name, task.deployment_name)
    except NotFound as error:
        field = "projectName" if error.code == "ProjectNotFound" else "deploymentName"
        raise type(error)(
            message=error.message, target=f"tasks[{task.index}].parameters.{field}", details=error.details
        ) from None


# ------------------------------------------------------------------------------------------------ steps


@dataclass(frozen=True)
class BatchPlan:
    """The work of one job: per task its pinned model blob (or why it fails) and the document batches."""

    models: dict[int, str]
    task_errors: dict[int, dict[str, Any]]
    batches: list[list[int]]
    cancelled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": {str(k): v for k, v in self.models.items()},
            "taskErrors": {str(k): v for k, v in self.task_errors.items()},
            "batches": self.batches,
            "cancelled": self.cancelled,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BatchPlan:
        return cls(
            models={int(k): str(v) for k, v in data["models"].items()},
            task_errors={int(k): dict(v) for k, v in data["taskErrors"].items()},
            batches=[list(batch) for batch in data["batches"]],
            cancelled=bool(data.get("cancelled")),
        )

    def work(self) -> list[dict[str, Any]]:
        """One payload per (task, batch) to predict, for the fan-out."""
        return [
            {"taskIndex": task, "batch": number, "documents": batch, "modelBlob": blob}
            for task, blob in sorted(self.models.items())
            for number, batch in enumerate(self.batches)
        ]


def _store(settings: Settings) -> OperationJobStore:
    return OperationJobStore(settings)


def _change(settings: Settings, job_id: str, transition: Callable[[OperationJobRecord], None]) -> OperationJobRecord:
    """Apply ``transition`` to the job's row (the framework's one write path) and publish its state."""
    return apply_operation(settings, EXTRACTION, SCOPE, job_id, transition)


def _load_request(settings: Settings, job_id: str) -> AnalyzeJobRequest:
    return AnalyzeJobRequest.from_dict(BlobStore(settings).get_json(request_blob(job_id)))


def submit_job(settings: Settings, body: Any, resolve: Resolver) -> str:
    """Validate a job request, record the job (``notStarted``) and its input; returns the job id.

    Raises:
        InvalidRuntimeRequest / InvalidRuntimeArgument / PayloadTooLarge: the body (see request.py).
        ProjectNotFound / NotFound: a task names a project or deployment that does not exist.
        StorageError.
    """
    request = parse_job_request(body)
    for task in request.custom_tasks:
        _resolve_task(settings, resolve, task)
    job_id = str(uuid.uuid4())  # the runtime's job ids are plain UUIDs (spec: format uuid)
    BlobStore(settings).put_json(request_blob(job_id), request.to_dict())  # before the row: no job without input
    record = create_operation(settings, EXTRACTION, SCOPE, job_id=job_id)
    logger.info("[job=%s phase=submit] extraction job with %d documents, %d tasks", record.job_id,
                len(request.documents), len(request.tasks))
    return record.job_id


def start_job(settings: Settings, job_id: str, resolve: Resolver, *, max_documents: int, max_characters: int) -> BatchPlan:
    """``running``; pin each task's model version and cut the documents into batches."""

    def start(record: OperationJobRecord) -> None:
        if record.status == JobStatus.NOT_STARTED:
            lifecycle.set_status(record, JobStatus.RUNNING)

    record = _change(settings, job_id, start)
    request = _load_request(settings, job_id)
    if record.status == JobStatus.CANCELLING:
        return BatchPlan({}, {}, [], cancelled=True)
    models: dict[int, str] = {}
    errors: dict[int, dict[str, Any]] = {}
    for task in request.custom_tasks:
        try:
            models[task.index] = _resolve_task(settings, resolve, task).model_blob
        except AppError as error:
            errors[task.index] = {"code": error.code, "message": error.message}
    lengths = [len(document.text) for document in request.documents]
    return BatchPlan(models, errors, plan_batches(lengths, max_documents, max_characters))


def predict_batch(settings: Settings, job_id: str, work: dict[str, Any], *, cache_size: int) -> int:
    """Predict one batch of one task with the pinned model; write its entries. Returns the documents done."""
    request = _load_request(settings, job_id)
    task = request.tasks[int(work["taskIndex"])]
    if not isinstance(task, CustomEntityTask):
        raise ValueError(f"task {work['taskIndex']} is not a CustomEntityRecognition task")
    blobs = BlobStore(settings)
    model = served_model(blobs, str(work["modelBlob"]), cache_size)
    documents = [request.documents[index] for index in work["documents"]]
    result = analyze_batch(documents, model.predict, task.string_index_type)
    blobs.put_json(
        batch_blob(job_id, task.index, int(work["batch"])),
        {"documents": result.documents, "errors": result.errors},
    )
    return len(documents)


def _outcomes(
    settings: Settings, job_id: str, request: AnalyzeJobRequest, plan: BatchPlan, cancelled: bool
) -> list[TaskOutcome]:
    blobs = BlobStore(settings)
    now = utc_now()
    outcomes = []
    for task in request.tasks:
        outcome = TaskOutcome(task.index, task.kind, task.task_name, JobStatus.SUCCEEDED.value, now)
        if isinstance(task, UnsupportedTask):
            outcome.status, outcome.error = JobStatus.FAILED.value, {"code": "InvalidArgument", "message": task.message}
            outcomes.append(outcome)
            continue
        outcome.project_name, outcome.deployment_name = task.project_name, task.deployment_name
        if cancelled:
            outcome.status = JobStatus.CANCELLED.value  # empty results: how the 5.x client sees a cancelled task
        elif task.index in plan.task_errors:
            outcome.status, outcome.error = JobStatus.FAILED.value, plan.task_errors[task.index]
        else:
            for number in range(len(plan.batches)):
                part = blobs.get_json(batch_blob(job_id, task.index, number))
                outcome.documents.extend(part["documents"])
                outcome.errors.extend(part["errors"])
        outcomes.append(outcome)
    return outcomes


def finish_job(settings: Settings, job_id: str, plan: BatchPlan) -> str:
    """Collect the batches into the tasks' outcomes and end the job; returns its final status."""
    request = _load_request(settings, job_id)
    record = _store(settings).get(EXTRACTION.name, SCOPE, job_id)
    cancelled = plan.cancelled or record.status == JobStatus.CANCELLING
    outcomes = _outcomes(settings, job_id, request, plan, cancelled)
    BlobStore(settings).put_json(results_blob(job_id), {"tasks": [outcome.to_dict() for outcome in outcomes]})
    final = job_status([o.status for o in outcomes], cancel_requested=cancelled)

    def end(record: OperationJobRecord) -> None:
        if record.status in TERMINAL:
            return
        if record.status == JobStatus.CANCELLING:
            lifecycle.set_status(record, JobStatus.CANCELLED)
        else:
            lifecycle.set_status(record, JobStatus(final))

    return str(_change(settings, job_id, end).status)


def abandon_job(settings: Settings, job_id: str, reason: str) -> str:
    """End a job whose orchestration failed or never started: ``failed`` (``cancelled`` if cancelling)."""
    logger.warning("[job=%s phase=failed] extraction job failed: %s", job_id, reason)

    def end(record: OperationJobRecord) -> None:
        if record.status in TERMINAL:
            return
        if record.status == JobStatus.CANCELLING:
            lifecycle.set_status(record, JobStatus.CANCELLED)
            return
        lifecycle.set_status(record, JobStatus.FAILED)
        record.errors = [lifecycle.internal_error(
            f"The extraction job could not be completed; the service log has the details of job {job_id}."
        )]

    return str(_change(settings, job_id, end).status)


# ------------------------------------------------------------------------------------------ read, cancel


def read_job(
    settings: Settings, job_id: str, *, top: int | None, skip: int, next_link: Callable[[int, int], str]
) -> dict[str, Any]:
    """The job's ``AnalyzeTextJobState`` (one page of documents).

    Raises:
        OperationNotFound: unknown or expired job. StorageError.
    """
    record = _store(settings).get(EXTRACTION.name, SCOPE, job_id)
    blobs = BlobStore(settings)
    request = _load_request(settings, job_id)
    if record.status in TERMINAL and blobs.exists(results_blob(job_id)):
        outcomes = [TaskOutcome.from_dict(item) for item in blobs.get_json(results_blob(job_id))["tasks"]]
    else:
        # Not finished (or failed before any result): every task shares the job's progress.
        status = JobStatus.RUNNING.value if record.status == JobStatus.CANCELLING else str(record.status)
        if record.status in TERMINAL:
            status = JobStatus.CANCELLED.value if record.status == JobStatus.CANCELLED else JobStatus.FAILED.value
        outcomes = [
            TaskOutcome(
                t.index,
                t.kind,
                t.task_name,
                status,
                record.last_updated,
                # a cancelled task keeps its (empty) results, which is how the 5.x client recognises it
                project_name=getattr(t, "project_name", None),
                deployment_name=getattr(t, "deployment_name", None),
            )
            for t in request.tasks
        ]
    return job_state(
        job_id=job_id,
        created=record.created,
        last_updated=record.last_updated,
        expires=record.expiration,
        status=str(record.status),
        display_name=request.display_name,
        document_ids=[document.id for document in request.documents],
        outcomes=outcomes,
        top=top,
        skip=skip,
        next_link=next_link,
        job_errors=record.errors,
    )


def cancel_job(settings: Settings, job_id: str) -> None:
    """Ask to cancel: ``cancelling`` (idempotent); the orchestration ends the job ``cancelled``.

    Raises:
        OperationNotFound; Conflict: the job already finished.
    """
    _store(settings).get(EXTRACTION.name, SCOPE, job_id)  # 404 for an expired job, as reads answer

    def cancel(record: OperationJobRecord) -> None:
        if record.status in TERMINAL:
            raise Conflict(f"The job '{job_id}' already {record.status} and cannot be cancelled.", target="jobId")
        lifecycle.set_status(record, JobStatus.CANCELLING)

    _change(settings, job_id, cancel)


# ------------------------------------------------------------------------------------------------ expiry


def find_expired(settings: Settings) -> list[str]:
    """Ids of extraction jobs whose expiration passed (the purge timer purges their instances first)."""
    return [record.job_id for record in _store(settings).list_expired(utc_now()) if record.kind == EXTRACTION.name]


def forget_job(settings: Settings, job_id: str) -> None:
    """Delete an expired job's blobs and row (after its Durable history, so a crash midway retries)."""
    BlobStore(settings).delete_prefix(job_prefix(job_id))
    _store(settings).delete(EXTRACTION.name, SCOPE, job_id)
    logger.info("[job=%s phase=purge] expired extraction job purged", job_id)
