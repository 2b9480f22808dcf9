"""The export operation: write the project file (or a model's snapshot) with the current metadata."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.config import Settings
from shared.errors import Conflict, NotFound, OperationNotFound
from shared.jobs.status import JobStatus
from shared.jobs.workspace import export_blob
from shared.models import PROJECT_KIND
from shared.operations.requests import EXPORT, OperationRequest, get_operation_job, start_job
from shared.service.projects import STRING_INDEX_TYPE, WRITABLE_FIELDS, check_string_index_type
from shared.storage.blobs import BlobStore
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore

DEFAULT_PROJECT_FILE_VERSION = "2022-05-01"


def start_export(
    settings: Settings,
    project_name: str,
    *,
    string_index_type: str | None,
    trained_model_label: str | None,
    link: Callable[[str], str],
) -> OperationRequest:
    """Start exporting a project (or a trained model's snapshot) as an Azure project file.

    Args:
        link: Turns a path below ``authoring/analyze-text/projects/`` into the absolute URL clients use;
            the job's ``resultUrl`` is built with it.

    Raises:
        ProjectNotFound / NotFound: unknown project or model; InvalidArgument: bad ``stringIndexType``.
    """
    check_string_index_type(string_index_type)
    ProjectStore(settings).get(project_name)
    if trained_model_label:
        model = ModelStore(settings).get(project_name, trained_model_label)
        if not model.has_snapshot:
            raise Conflict(message=f"Model '{trained_model_label}' has no data snapshot to export.",
                           target="trainedModelLabel")
    job = start_job(settings, EXPORT, project_name)
    params = {
        "trainedModelLabel": trained_model_label,
        "resultUrl": link(f"{project_name}/export/jobs/{job.job_id}/result"),
    }
    return OperationRequest(EXPORT.name, project_name, job.job_id, params)


def get_export_result(settings: Settings, project_name: str, job_id: str) -> dict[str, Any]:
    """The exported project file of a succeeded export job.

    Raises:
        OperationNotFound: unknown job; Conflict: the export has not succeeded (yet).
    """
    job = get_operation_job(settings, EXPORT, project_name, job_id)
    if job.status != JobStatus.SUCCEEDED:
        raise Conflict(message=f"Export job '{job_id}' is {job.status}; its result is available once it succeeded.")
    try:
        result: dict[str, Any] = BlobStore(settings).get_json(export_blob(project_name, job_id))
    except NotFound as exc:
        raise OperationNotFound(message=f"The result of export job '{job_id}' no longer exists.") from exc
    return result


def snapshot_project_file(settings: Settings, project_name: str, model_label: str) -> dict[str, Any]:
    model = ModelStore(settings).get(project_name, model_label)
    snapshot: dict[str, Any] = BlobStore(settings).get_json(model.snapshot_blob)
    # The snapshot is the project file as trained; tolerate a wrapper that also records the split.
    if "projectFile" in snapshot and "projectFileVersion" not in snapshot:
        snapshot = snapshot["projectFile"]
    return snapshot


def run_export(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    project = ProjectStore(settings).get(request.project_name)
    label = request.params.get("trainedModelLabel")
    if label:
        data = snapshot_project_file(settings, request.project_name, label)
    elif project.assets_blob:
        data = BlobStore(settings).get_json(project.assets_blob)
    else:
        data = {
            "projectFileVersion": DEFAULT_PROJECT_FILE_VERSION,
            "stringIndexType": STRING_INDEX_TYPE,
            "assets": {"projectKind": PROJECT_KIND, "entities": [], "documents": []},
        }
    # Metadata may have been patched since the import: export what the project says now.
    metadata = {key: value for key, value in project.to_public().items() if key in WRITABLE_FIELDS}
    data["metadata"] = metadata
    BlobStore(settings).put_json(export_blob(request.project_name, request.job_id), data)
    return {"result_url": request.params["resultUrl"]}
