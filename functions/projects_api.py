"""Project routes: create/update (merge-patch), get, list, delete, import, export and their job status.

Handlers stay thin: parse -> one service call -> map. Storage work runs in a thread (``asyncio.to_thread``)
in the async handlers that also need the Durable client.
"""

import asyncio

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from functions.operations import start_operation
from shared.config import get_settings
from shared.models import ProjectRecord
from shared.operations import deletion, exports, imports
from shared.operations.requests import DELETION, EXPORT, IMPORT, get_operation_job
from shared.service import projects

bp = df.Blueprint()

PROJECTS = _http.PROJECTS_ROUTE
PROJECT = f"{PROJECTS}/{{projectName}}"


def _project_public(project: ProjectRecord) -> dict:
    return project.to_public()


@bp.route(route=PROJECT, methods=["PATCH"])
@_http.api_handler
def create_or_update_project(req: func.HttpRequest) -> func.HttpResponse:
    """Create a project or update its metadata (JSON merge-patch); 201 when created, 200 when updated."""
    body = _http.read_json(req)
    project, created = projects.create_or_update_project(get_settings(), _http.route(req, "projectName"), body)
    return _http.json_response(project.to_public(), status=201 if created else 200)


@bp.route(route=PROJECT, methods=["GET"])
@_http.api_handler
def get_project(req: func.HttpRequest) -> func.HttpResponse:
    """A project's metadata."""
    project = projects.get_project(get_settings(), _http.route(req, "projectName"))
    return _http.json_response(project.to_public())


@bp.route(route=PROJECTS, methods=["GET"])
@_http.api_handler
def list_projects(req: func.HttpRequest) -> func.HttpResponse:
    """The projects, paged."""
    return _http.paged_response(req, projects.list_projects(get_settings()), _project_public)


@bp.route(route=PROJECT, methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def delete_project(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start deleting a project; 202 pointing at ``global/deletion-jobs/{jobId}``."""
    op = await asyncio.to_thread(deletion.start_deletion, get_settings(), _http.route(req, "projectName"))
    return await start_operation(req, client, op)


@bp.route(route=f"{PROJECTS}/global/deletion-jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_project_deletion_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of a project deletion job."""
    job = get_operation_job(get_settings(), DELETION, "", _http.route(req, "jobId"))
    return _http.job_response(job.to_public())


@bp.route(route=f"{PROJECT}/:import", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def import_project(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Validate a project file and start importing it; 202 pointing at ``import/jobs/{jobId}``."""
    body = _http.read_json(req)
    name, file_format = _http.route(req, "projectName"), req.headers.get("format")
    op = await asyncio.to_thread(imports.start_import, get_settings(), name, body, file_format=file_format)
    return await start_operation(req, client, op)


@bp.route(route=f"{PROJECT}/import/jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_import_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of an import job."""
    name, job_id = _http.route(req, "projectName"), _http.route(req, "jobId")
    return _http.job_response(get_operation_job(get_settings(), IMPORT, name, job_id).to_public())


@bp.route(route=f"{PROJECT}/:export", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def export_project(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Start exporting the project (or ``trainedModelLabel``'s snapshot); 202 pointing at ``export/jobs/{jobId}``."""
    op = await asyncio.to_thread(
        exports.start_export,
        get_settings(),
        _http.route(req, "projectName"),
        string_index_type=req.params.get("stringIndexType"),
        trained_model_label=req.params.get("trainedModelLabel"),
        link=_http.link_builder(req),
    )
    return await start_operation(req, client, op)


@bp.route(route=f"{PROJECT}/export/jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_export_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of an export job; ``resultUrl`` once it succeeded."""
    name, job_id = _http.route(req, "projectName"), _http.route(req, "jobId")
    return _http.job_response(get_operation_job(get_settings(), EXPORT, name, job_id).to_public())


@bp.route(route=f"{PROJECT}/export/jobs/{{jobId}}/result", methods=["GET"])
@_http.api_handler
def get_export_result(req: func.HttpRequest) -> func.HttpResponse:
    """The exported project file (the export job's ``resultUrl``)."""
    name, job_id = _http.route(req, "projectName"), _http.route(req, "jobId")
    return _http.json_response(exports.get_export_result(get_settings(), name, job_id))
