"""The load-snapshot operation: make a trained model's data snapshot the project's assets again."""

from __future__ import annotations

from typing import Any

from shared.config import Settings
from shared.errors import Conflict
from shared.models import OperationJobRecord
from shared.ner.project_file import parse_project_file
from shared.operations.exports import snapshot_project_file
from shared.operations.imports import store_assets
from shared.operations.requests import LOAD_SNAPSHOT, OperationRequest, get_operation_job, start_job
from shared.storage.operation_jobs import operation_not_found
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore


def start_load_snapshot(settings: Settings, project_name: str, model_label: str) -> OperationRequest:
    """Start restoring the project's assets from a trained model's data snapshot.

    Raises:
        ProjectNotFound / NotFound (model); Conflict when the model has no snapshot.
    """
    ProjectStore(settings).get(project_name)
    model = ModelStore(settings).get(project_name, model_label)
    if not model.has_snapshot:
        raise Conflict(message=f"Model '{model_label}' has no data snapshot to load.", target="trainedModelLabel")
    job = start_job(settings, LOAD_SNAPSHOT, project_name, model_label=model_label)
    return OperationRequest(LOAD_SNAPSHOT.name, project_name, job.job_id, {"modelLabel": model_label})


def run_load_snapshot(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    data = snapshot_project_file(settings, request.project_name, request.params["modelLabel"])
    project_file = parse_project_file(data, expected_project_name=request.project_name)
    store_assets(settings, request.project_name, project_file)
    return {}


def get_load_snapshot_job(settings: Settings, project_name: str, model_label: str, job_id: str) -> OperationJobRecord:
    """The load-snapshot job ``job_id`` as seen from ``models/{model_label}/load-snapshot/jobs/{job_id}``.

    A job started for another model is not found under this model's URL (as if the id were unknown).

    Raises:
        OperationNotFound: no such job (or it expired), or it loads another model's snapshot.
    """
    job = get_operation_job(settings, LOAD_SNAPSHOT, project_name, job_id)
    if job.model_label is not None and job.model_label != model_label:
        raise operation_not_found(LOAD_SNAPSHOT.name, project_name, job_id)
    return job
