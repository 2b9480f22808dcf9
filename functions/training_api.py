"""Training routes: start (``:train``), get, list and cancel (``:cancel``) training jobs.

The job row is the source of truth; the Durable instance (id = job id) is consulted to reconcile a row
that still says active after its orchestration failed, was terminated or vanished.
"""

import asyncio
import logging

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from shared.config import Settings, get_settings
from shared.models import JobStatus, TrainingJobRecord
from shared.service import projects, training_jobs

log = logging.getLogger(__name__)

bp = df.Blueprint()

PROJECT = f"{_http.PROJECTS_ROUTE}/{{projectName}}"


def _job_path(project_name: str, job_id: str) -> str:
    return f"{project_name}/train/jobs/{job_id}"


def _job_public(job: TrainingJobRecord) -> dict:
    return job.to_public()


async def _reconciled(settings: Settings, client: df.DurableOrchestrationClient, job: TrainingJobRecord) -> TrainingJobRecord:
    """``job``, corrected if its orchestration ended without updating it (active rows only)."""
    if job.status not in JobStatus.ACTIVE:
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
    job = await asyncio.to_thread(projects.get_training_job, settings, name, job_id)
    return _http.json_response((await _reconciled(settings, client, job)).to_public())


@bp.route(route=f"{PROJECT}/train/jobs", methods=["GET"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def list_training_jobs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The project's unexpired training jobs, newest first, paged."""
    settings, name = get_settings(), _http.route(req, "projectName")
    jobs = await asyncio.to_thread(projects.list_training_jobs, settings, name)
    jobs = [await _reconciled(settings, client, job) for job in jobs]
    return _http.paged_response(req, jobs, _job_public)


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
