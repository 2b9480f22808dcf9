"""Training routes: start (``:train``), get, list and cancel (``:cancel``) training jobs.

The job row is the source of truth; the Durable instance (id = job id) is consulted to reconcile a row
that still says active after its orchestration failed, was terminated or vanished. A healthy job
writes its row at least once per training chunk, so the runtime is only asked about a row that has
gone quiet (see :func:`needs_runtime_check`): a status poll of a live job costs one table read.
"""

import asyncio
import logging
from datetime import datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from shared.config import Settings, get_settings
from shared.errors import OperationNotFound, StorageError
from shared.models import JobStatus, TrainingJobRecord, utc_now
from shared.service import projects, training_jobs

log = logging.getLogger(__name__)

bp = df.Blueprint()

PROJECT = f"{_http.PROJECTS_ROUTE}/{{projectName}}"

QUIET_AFTER = timedelta(seconds=60)
"""A running job whose row has not changed for this long (or two training chunks, if longer) may have
lost its orchestration: only then is the Durable runtime consulted."""
NOT_STARTED_QUIET_AFTER = timedelta(seconds=5)
"""``start_new`` follows the row write within milliseconds and the first activity moves the job to
running; a job still ``notStarted`` after this long is checked against the runtime."""


def _job_path(project_name: str, job_id: str) -> str:
    return f"{project_name}/train/jobs/{job_id}"


def needs_runtime_check(settings: Settings, job: TrainingJobRecord, now: datetime) -> bool:
    """True when asking the Durable runtime about ``job`` could change what the API reports.

    Terminal rows are final. An active row that changed recently belongs to a live orchestration
    (heartbeats and progress are written at least once per chunk); a quiet one may belong to an
    orchestration that failed, was terminated or vanished behind the row's back.
    """
    if job.status not in JobStatus.ACTIVE:
        return False
    if job.status == JobStatus.NOT_STARTED:
        return now - job.created >= NOT_STARTED_QUIET_AFTER
    seen = max(job.last_updated, job.heartbeat) if job.heartbeat is not None else job.last_updated
    quiet_after = max(QUIET_AFTER, timedelta(seconds=2 * settings.train_chunk_seconds))
    return now - seen >= quiet_after


async def _reconciled(settings: Settings, client: df.DurableOrchestrationClient, job: TrainingJobRecord) -> TrainingJobRecord:
    """``job``, corrected if its orchestration ended without updating it (quiet active rows only)."""
    if not needs_runtime_check(settings, job, utc_now()):
        return job
    try:
        status = await client.get_status(job.job_id)
    except Exception:
        # The Durable runtime being unreachable must not hide the job: report the row as stored.
        log.warning("could not read the orchestration status of job %s", job.job_id, exc_info=True)
        return job
    runtime = status.runtime_status.value if status.runtime_status is not None else None
    return await asyncio.to_thread(
        training_jobs.reconcile_with_runtime, settings, job.project_name, job.job_id, runtime
    )


def _read_job(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """The job row; the project row is read only when no job row was found.

    Project deletion removes the job rows before the project row, and a job is only created on an
    existing project, so a job row found implies its project exists. Otherwise the project-first
    lookup decides the answer (ProjectNotFound, OperationNotFound or the storage failure).
    """
    try:
        return training_jobs.get_job(settings, project_name, job_id)
    except (OperationNotFound, StorageError):
        return projects.get_training_job(settings, project_name, job_id)


@bp.route(route=f"{PROJECT}/:train", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def start_training_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start a training job; 202 pointing at ``train/jobs/{jobId}``."""
    settings, name, body = get_settings(), _http.route(req, "projectName"), _http.read_json(req)
    job = await asyncio.to_thread(training_jobs.create_training_job, settings, name, body)
    try:
        await client.start_new(training_jobs.ORCHESTRATOR_NAME, job.job_id, {"projectName": name, "jobId": job.job_id})
    except Exception as exc:
        await asyncio.to_thread(training_jobs.abandon_training_job, settings, name, job.job_id, f"could not start: {exc}")
        raise
    return _http.accepted(_http.projects_url(req, _job_path(name, job.job_id)))


@bp.route(route=f"{PROJECT}/train/jobs/{{jobId}}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def get_training_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A training job's state."""
    settings, name, job_id = get_settings(), _http.route(req, "projectName"), _http.route(req, "jobId")
    job = await asyncio.to_thread(_read_job, settings, name, job_id)
    return _http.json_response((await _reconciled(settings, client, job)).to_public())


@bp.route(route=f"{PROJECT}/train/jobs", methods=["GET"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def list_training_jobs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The project's unexpired training jobs, newest first, paged."""
    settings, name = get_settings(), _http.route(req, "projectName")
    jobs = await asyncio.to_thread(projects.list_training_jobs, settings, name)
    jobs = [await _reconciled(settings, client, job) for job in jobs]
    return _http.paged_response(req, jobs, TrainingJobRecord.to_public)


@bp.route(route=f"{PROJECT}/train/jobs/{{jobId}}/:cancel", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def cancel_training_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Cancel a training job; 202 pointing at the job, which goes ``cancelling`` -> ``cancelled``."""
    settings, name, job_id = get_settings(), _http.route(req, "projectName"), _http.route(req, "jobId")
    await asyncio.to_thread(training_jobs.request_cancel, settings, name, job_id)
    try:
        await client.terminate(job_id, "cancelled by the user")
    except Exception:
        # Typically the instance is already gone (finished or never started): cancelling the row is right.
        log.warning("terminate of training job %s failed; completing the cancel", job_id, exc_info=True)
    await asyncio.to_thread(training_jobs.complete_cancel, settings, name, job_id)
    return _http.accepted(_http.projects_url(req, _job_path(name, job_id)))
