"""Exported-model routes (2025-05-15-preview): create/replace, get, list, delete, job status, manifest, files."""

import asyncio

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from functions.operations import start_operation
from shared.config import get_settings
from shared.jobs.kinds import EXPORTED_MODEL as EXPORTED_MODEL_JOB
from shared.jobs.kinds import EXPORTED_MODEL_DELETION
from shared.operations import deployments as ops
from shared.service import exported_models
from shared.storage.exported_models import ExportedModelRecord

bp = df.Blueprint()

EXPORTED_MODELS = f"{_http.PROJECTS_ROUTE}/{{projectName}}/exported-models"
EXPORTED_MODEL = f"{EXPORTED_MODELS}/{{exportedModelName}}"


def _public(record: ExportedModelRecord) -> dict:
    return record.to_public()


@bp.route(route=EXPORTED_MODELS, methods=["GET"])
@_http.api_handler
def list_exported_models(req: func.HttpRequest) -> func.HttpResponse:
    """The project's exported models, paged."""
    records = exported_models.list_exported_models(get_settings(), _http.route(req, "projectName"))
    return _http.paged_response(req, records, _public)


@bp.route(route=EXPORTED_MODEL, methods=["GET"])
@_http.api_handler
def get_exported_model(req: func.HttpRequest) -> func.HttpResponse:
    """One exported model."""
    name, exported = _http.route(req, "projectName"), _http.route(req, "exportedModelName")
    return _http.json_response(exported_models.get_exported_model(get_settings(), name, exported).to_public())


@bp.route(route=f"{EXPORTED_MODEL}/manifest", methods=["GET"])
@_http.api_handler
def get_exported_model_manifest(req: func.HttpRequest) -> func.HttpResponse:
    """The files of the exported spaCy pipeline folder, each with a ``contentUri`` on this API."""
    name, exported = _http.route(req, "projectName"), _http.route(req, "exportedModelName")

    def content_uri(relative: str) -> str:
        return _http.projects_url(req, f"{name}/exported-models/{exported}/files/{relative}")

    return _http.json_response(exported_models.manifest(get_settings(), name, exported, content_uri))


@bp.route(route=f"{EXPORTED_MODEL}/files/{{*filePath}}", methods=["GET"])
@_http.api_handler
def get_exported_model_file(req: func.HttpRequest) -> func.HttpResponse:
    """One file of an exported model (the manifest's ``contentUri``), as bytes."""
    name, exported = _http.route(req, "projectName"), _http.route(req, "exportedModelName")
    data = exported_models.read_file(get_settings(), name, exported, _http.route(req, "filePath"))
    return func.HttpResponse(body=data, status_code=200, mimetype="application/octet-stream")


@bp.route(route=EXPORTED_MODEL, methods=["PUT"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def create_or_update_exported_model(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Export a trained model's current version; 202 pointing at ``exported-models/{name}/jobs/{jobId}``."""
    name, exported = _http.route(req, "projectName"), _http.route(req, "exportedModelName")
    body = _http.read_json(req)
    op = await asyncio.to_thread(ops.start_exported_model, get_settings(), name, exported, body)
    return await start_operation(req, client, op)


@bp.route(route=EXPORTED_MODEL, methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def delete_exported_model(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Delete an exported model and its files; 202 + job."""
    name, exported = _http.route(req, "projectName"), _http.route(req, "exportedModelName")
    op = await asyncio.to_thread(ops.start_delete_exported_model, get_settings(), name, exported)
    return await start_operation(req, client, op)


@bp.route(route=f"{EXPORTED_MODEL}/jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_exported_model_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of an export or delete job of an exported model."""
    name, job_id = _http.route(req, "projectName"), _http.route(req, "jobId")
    exported = _http.route(req, "exportedModelName")
    job = ops.get_job(get_settings(), (EXPORTED_MODEL_JOB, EXPORTED_MODEL_DELETION), name, job_id, exported)
    return _http.job_response(job.to_public())
