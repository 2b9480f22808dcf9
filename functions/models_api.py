"""Trained-model routes: list, get, delete, evaluation summary/results and load-snapshot."""

import asyncio

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from functions.operations import start_operation
from shared.config import get_settings
from shared.models import TrainedModelRecord
from shared.operations import snapshots
from shared.service import trained_models

bp = df.Blueprint()

MODELS = f"{_http.PROJECTS_ROUTE}/{{projectName}}/models"
MODEL = f"{MODELS}/{{trainedModelLabel}}"


def _model_public(model: TrainedModelRecord) -> dict:
    return model.to_public()


def _same(item: dict) -> dict:
    return item


@bp.route(route=MODELS, methods=["GET"])
@_http.api_handler
def list_trained_models(req: func.HttpRequest) -> func.HttpResponse:
    """The project's trained models, paged."""
    return _http.paged_response(req, trained_models.list_models(get_settings(), _http.route(req, "projectName")), _model_public)


@bp.route(route=MODEL, methods=["GET"])
@_http.api_handler
def get_trained_model(req: func.HttpRequest) -> func.HttpResponse:
    """One trained model."""
    name, label = _http.route(req, "projectName"), _http.route(req, "trainedModelLabel")
    return _http.json_response(trained_models.get_model(get_settings(), name, label).to_public())


@bp.route(route=MODEL, methods=["DELETE"])
@_http.api_handler
def delete_trained_model(req: func.HttpRequest) -> func.HttpResponse:
    """Delete a trained model; 204."""
    trained_models.delete_model(get_settings(), _http.route(req, "projectName"), _http.route(req, "trainedModelLabel"))
    return _http.no_content()


@bp.route(route=f"{MODEL}/evaluation/summary-result", methods=["GET"])
@_http.api_handler
def get_evaluation_summary(req: func.HttpRequest) -> func.HttpResponse:
    """The model's evaluation summary (per-entity and micro/macro metrics, confusion matrix)."""
    name, label = _http.route(req, "projectName"), _http.route(req, "trainedModelLabel")
    return _http.json_response(trained_models.get_evaluation_summary(get_settings(), name, label))


@bp.route(route=f"{MODEL}/evaluation/result", methods=["GET"])
@_http.api_handler
def list_evaluation_results(req: func.HttpRequest) -> func.HttpResponse:
    """Expected vs. predicted entities of each test document, paged."""
    name, label = _http.route(req, "projectName"), _http.route(req, "trainedModelLabel")
    index_type = req.params.get("stringIndexType")
    results = trained_models.list_evaluation_results(get_settings(), name, label, string_index_type=index_type)
    return _http.paged_response(req, results, _same)


@bp.route(route=f"{MODEL}/:load-snapshot", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def load_model_snapshot(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Restore the project's assets from the model's snapshot; 202 pointing at ``load-snapshot/jobs/{jobId}``."""
    name, label = _http.route(req, "projectName"), _http.route(req, "trainedModelLabel")
    op = await asyncio.to_thread(snapshots.start_load_snapshot, get_settings(), name, label)
    return await start_operation(req, client, op)


@bp.route(route=f"{MODEL}/load-snapshot/jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_load_snapshot_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of a load-snapshot job."""
    name, label, job_id = _http.route(req, "projectName"), _http.route(req, "trainedModelLabel"), _http.route(req, "jobId")
    job = snapshots.get_load_snapshot_job(get_settings(), name, label, job_id)
    return _http.job_response(job.to_public())
