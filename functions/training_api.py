"""Training routes: start (``:train``), get, list and cancel (``:cancel``) training jobs.

The job row is the source of truth; the Durable instance (id = job id) is consulted to reconcile a row
that still says active after its orchestration failed, was terminated or vanished. A healthy job
writes its row at least once per training chunk, so the runtime is only asked about a row that has
gone quiet (the rule is :func:`shared.jobs.lifecycle.needs_runtime_check`): a status poll of a live job
costs one table read.
"""

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from functions.operations import NOT_STARTED_MESSAGE, NOT_STARTED_REASON
from shared.config import Settings, get_settings
from shared.errors import StorageError
from shared.jobs.kinds import TRAINING
from shared.jobs.runtime import needs_runtime_check, reconcile_with_runtime
from shared.models import TrainingJobRecord, utc_now
from shared.service import projects
from shared.training import jobs, requests

log = logging.getLogger(__name__)

bp = df.Blueprint()

PROJECT = f"{_http.PROJECTS_ROUTE}/{{projectName}}"


def _job_path(project_name: str, job_id: str) -> str:
    return TRAINING.location_path(project_name, job_id)


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
        reconcile_with_runtime, settings, job.project_name, job.job_id, runtime
    )


@bp.route(route=f"{PROJECT}/:train", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def start_training_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start a training job; 202 pointing at ``train/jobs/{jobId}``."""
    settings, name, body = get_settings(), _http.route(req, "projectName"), _http.read_json(req)
    job = await asyncio.to_thread(requests.create_training_job, settings, name, body)
    try:
        await client.start_new(TRAINING.orchestrator, job.job_id, {"projectName": name, "jobId": job.job_id})
    except Exception as exc:
        # The exception may name hosts and URLs: the job and the caller get a generic reason, the log the rest.
        log.exception("could not start the orchestration of training job %s", job.job_id)
        await asyncio.to_thread(jobs.abandon, settings, name, job.job_id, NOT_STARTED_REASON)
        raise StorageError(message=NOT_STARTED_MESSAGE) from exc
    return _http.accepted(_http.projects_url(req, _job_path(name, job.job_id)))


@bp.route(route=f"{PROJECT}/train/jobs/{{jobId}}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def get_training_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """A training job's state."""
    settings, name, job_id = get_settings(), _http.route(req, "projectName"), _http.route(req, "jobId")
    job = await asyncio.to_thread(jobs.read_job, settings, name, job_id)
    return _http.job_response((await _reconciled(settings, client, job)).to_public())


@bp.route(route=f"{PROJECT}/train/jobs", methods=["GET"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def list_training_jobs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The project's unexpired training jobs, newest first, paged."""
    settings, name = get_settings(), _http.route(req, "projectName")
    listed = await asyncio.to_thread(projects.list_training_jobs, settings, name)
    listed = [await _reconciled(settings, client, job) for job in listed]
    return _http.paged_response(req, listed, TRAINING.public)


@bp.route(route=f"{PROJECT}/train/jobs/{{jobId}}/:cancel", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def cancel_training_job(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Cancel a training job; 202 pointing at the job, which goes ``cancelling`` -> ``cancelled``."""
    settings, name, job_id = get_settings(), _http.route(req, "projectName"), _http.route(req, "jobId")
    await asyncio.to_thread(jobs.request_cancel, settings, name, job_id)
    try:
        await client.terminate(job_id, "cancelled by the user")
    except Exception:
        # Typically the instance is already gone (finished or never started): cancelling the row is right.
        log.warning("terminate of training job %s failed; completing the cancel", job_id, exc_info=True)
    await asyncio.to_thread(jobs.cancel_training, settings, name, job_id)
    return _http.accepted(_http.projects_url(req, _job_path(name, job_id)))
