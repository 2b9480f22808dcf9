"""The project deletion operation: models, job rows, every blob of the project, then the project row."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from shared.config import Settings
from shared.errors import Conflict, NotFound, ProjectNotFound
from shared.jobs.workspace import project_prefixes
from shared.operations.requests import DELETION, OperationRequest, start_job
from shared.service.deployments import delete_project_deployments
from shared.service.exported_models import delete_project_exports
from shared.storage.blobs import BlobStore
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore
from shared.storage.training_jobs import TrainingJobStore

log = logging.getLogger(__name__)


def start_deletion(settings: Settings, project_name: str) -> OperationRequest:
    """Start deleting a project with its jobs, models and blobs.

    Raises:
        ProjectNotFound; Conflict while a training job holds the project's training slot.
    """
    project = ProjectStore(settings).get(project_name)
    if project.running_job_id:
        raise Conflict(
            message=f"Project '{project_name}' has a training job in progress ({project.running_job_id}); "
            "cancel it or wait for it to finish before deleting the project.",
            target="projectName",
        )
    job = start_job(settings, DELETION, project_name)
    return OperationRequest(DELETION.name, project_name, job.job_id)


def _delete_blobs(blobs: BlobStore, names: Iterable[str]) -> None:
    for name in names:
        try:
            blobs.delete(name)
        except NotFound:
            pass


def run_deletion(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    name = request.project_name
    blobs = BlobStore(settings)
    models = ModelStore(settings)
    for model in models.list(name):
        _delete_blobs(
            blobs,
            (model.model_blob, model.evaluation_summary_blob, model.evaluation_documents_blob, model.snapshot_blob),
        )
        models.delete(name, model.label)
    TrainingJobStore(settings).delete_project_jobs(name)
    delete_project_deployments(settings, name)
    delete_project_exports(settings, name)
    # Our own blobs, plus the training pipeline's job scratch data and every model version it kept.
    removed = sum(blobs.delete_prefix(prefix) for prefix in project_prefixes(name))
    try:
        ProjectStore(settings).delete(name)
    except ProjectNotFound:
        pass  # a retried deletion already removed the row
    log.info("project %s deleted (%d blobs)", name, removed)
    return {}
