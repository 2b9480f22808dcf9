"""The import operation: validate and stage a project file now, check its documents and store it later."""

from __future__ import annotations

from typing import Any

from shared.config import Settings
from shared.errors import ErrorDetail, InvalidArgument, ProjectNotFound, invalid_with_details
from shared.jobs.workspace import assets_blob, staged_import_blob
from shared.models import ProjectRecord, utc_now
from shared.ner.documents import check_labels_fit
from shared.ner.project_file import ProjectFile, parse_project_file
from shared.operations.requests import IMPORT, OperationRequest, start_job
from shared.service.projects import check_name, require_object
from shared.storage.blobs import BlobStore
from shared.storage.documents import check_container, iter_documents
from shared.storage.projects import ProjectStore

MAX_IMPORT_PROBLEMS = 50


def start_import(settings: Settings, project_name: str, body: Any, *, file_format: str | None = None) -> OperationRequest:
    """Validate a project file and stage it for the import operation.

    The schema is checked now (400 with one detail per problem); the documents are checked by the
    operation, which may take long for large projects.

    Raises:
        InvalidArgument: for a bad project name, an unsupported ``format`` or an invalid project file.
    """
    check_name(project_name)
    if file_format is not None and file_format.lower() != "json":
        raise InvalidArgument(message=f"Import format '{file_format}' is not supported; use 'json'.", target="format")
    project_file = parse_project_file(require_object(body, "project file"), expected_project_name=project_name)
    job = start_job(settings, IMPORT, project_name)
    staged = staged_import_blob(project_name, job.job_id)
    BlobStore(settings).put_json(staged, project_file.to_dict())
    return OperationRequest(IMPORT.name, project_name, job.job_id, {"stagedBlob": staged})


def _check_documents(settings: Settings, project_file: ProjectFile) -> None:
    """Every document exists, decodes, fits the size limit and holds its labels; one detail per problem."""
    container = project_file.storage_input_container_name
    check_container(settings, container)
    by_location = {document.location: document for document in project_file.documents}
    problems: list[ErrorDetail] = []
    for location, text in iter_documents(settings, container, by_location):
        try:
            check_labels_fit(by_location[location], text)
        except InvalidArgument as exc:
            problems.extend(exc.details or [ErrorDetail(exc.code, exc.message, exc.target or location)])
        if len(problems) >= MAX_IMPORT_PROBLEMS:
            break
    if problems:
        raise invalid_with_details(
            f"{len(problems)} label problem(s) in the documents of project '{project_file.project_name}': "
            + " ".join(p.message for p in problems[:5]),
            problems,
        )


def store_assets(settings: Settings, project_name: str, project_file: ProjectFile) -> None:
    """Make ``project_file`` the project's assets and its metadata the project's metadata."""
    blob = assets_blob(project_name)
    BlobStore(settings).put_json(blob, project_file.to_dict())
    store = ProjectStore(settings)
    metadata = project_file.metadata
    now = utc_now()
    try:
        record = store.get(project_name)
    except ProjectNotFound:
        record = ProjectRecord(
            project_name=project_name,
            storage_input_container_name=project_file.storage_input_container_name,
            language=project_file.language,
            created=now,
            last_modified=now,
        )
    record.storage_input_container_name = project_file.storage_input_container_name
    record.language = project_file.language
    record.multilingual = bool(metadata.get("multilingual", False))
    record.description = metadata.get("description")
    record.settings = dict(metadata.get("settings") or {})
    record.assets_blob = blob
    record.test_document_count = sum(1 for document in project_file.documents if document.is_test)
    record.document_count = len(project_file.documents)
    record.last_modified = now
    store.upsert(record)


def run_import(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    blobs = BlobStore(settings)
    staged = request.params["stagedBlob"]
    project_file = parse_project_file(blobs.get_json(staged), expected_project_name=request.project_name)
    _check_documents(settings, project_file)
    store_assets(settings, request.project_name, project_file)
    blobs.delete(staged)
    return {}
