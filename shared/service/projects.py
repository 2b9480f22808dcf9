"""Project use cases: create/update (JSON merge-patch), get, list, import, export, delete, load-snapshot.

Import, export, deletion and load-snapshot are long-running operations. ``start_*`` validates the request
synchronously (so a bad request is a 4xx at once), records an operation job (``notStarted``) and returns
an :class:`OperationRequest`; the HTTP layer starts the operation orchestration with it, whose activity
calls :func:`run_operation`. Failures a user can fix end the job ``failed`` with an actionable
``errors[]`` entry; unexpected ones propagate to the orchestration, which calls :func:`abandon_operation`.

Blob layout in the app container (everything of a project lives under :func:`project_prefix`, so project
deletion removes it with one prefix delete): ``projects/<name>/assets.json`` (the imported project file,
Azure project-file JSON), ``projects/<name>/imports/<job>.json`` (staged import),
``projects/<name>/exports/<job>.json`` (export result).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shared.config import Settings
from shared.errors import (
    AppError,
    Conflict,
    ErrorDetail,
    InvalidArgument,
    InvalidRequest,
    NotFound,
    OperationNotFound,
    ProjectNotFound,
    StorageError,
    invalid_with_details,
)
from shared.models import (
    PROJECT_KIND,
    JobStatus,
    OperationJobRecord,
    ProjectRecord,
    TrainingJobRecord,
    utc_now,
)
from shared.ner.documents import check_labels_fit
from shared.ner.languages import SUPPORTED_LANGUAGES, is_supported_language
from shared.ner.project_file import ProjectFile, parse_project_file, validate_project_name
from shared.storage.blobs import BlobStore
from shared.storage.documents import check_container, iter_documents
from shared.storage.events import JobEventPublisher
from shared.storage.jobs import OperationJobStore, TrainingJobStore
from shared.storage.projects import ProjectStore
from shared.storage.trained_models import ModelStore

log = logging.getLogger(__name__)

IMPORT = "import"
EXPORT = "export"
DELETION = "deletion"
LOAD_SNAPSHOT = "load-snapshot"
OPERATION_KINDS = (IMPORT, EXPORT, DELETION, LOAD_SNAPSHOT)

GLOBAL_SCOPE = "global"
"""Deletion jobs are polled at ``projects/global/deletion-jobs/{jobId}`` (no project in the URL), so their
rows live under this pseudo project. It is also why no project may be called ``global``: its routes would
collide with ``projects/global/...``."""

STRING_INDEX_TYPE = "Utf16CodeUnit"
DEFAULT_PROJECT_FILE_VERSION = "2022-05-01"
MAX_IMPORT_PROBLEMS = 50

_WRITABLE_FIELDS = (
    "projectName",
    "projectKind",
    "storageInputContainerName",
    "settings",
    "multilingual",
    "description",
    "language",
)
_READ_ONLY_FIELDS = ("createdDateTime", "lastModifiedDateTime", "lastTrainedDateTime", "lastDeployedDateTime")


# --------------------------------------------------------------------------------------------- helpers


def project_prefix(project_name: str) -> str:
    """Blob-name prefix of everything the service stores for a project in the app container."""
    return f"projects/{project_name}/"


def assets_blob_name(project_name: str) -> str:
    return f"{project_prefix(project_name)}assets.json"


def new_job_id(now: datetime | None = None) -> str:
    """Azure's job-id shape: ``<guid>_<.NET ticks of the UTC day>``; callers treat it as opaque."""
    day = (now or utc_now()).date()
    ticks = (day.toordinal() - 1) * 864_000_000_000
    return f"{uuid.uuid4()}_{ticks}"


def _check_name(project_name: str) -> None:
    validate_project_name(project_name)
    if project_name.lower() == GLOBAL_SCOPE:
        raise InvalidArgument(
            message=f"The project name '{project_name}' is reserved (it collides with the 'projects/global' "
            "routes). Choose another name.",
            target="projectName",
        )


def _job_scope(kind: str, project_name: str) -> str:
    return GLOBAL_SCOPE if kind == DELETION else project_name


def _deep_merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396 JSON merge-patch of two objects (null removes a member)."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _require_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest(message=f"The request body must be a JSON object ({what}), got {type(body).__name__}.")
    return body


# ------------------------------------------------------------------------------------ create / update


def _validate_patch(project_name: str, patch: dict[str, Any], existing: ProjectRecord | None) -> list[ErrorDetail]:
    problems: list[ErrorDetail] = []

    def bad(target: str, message: str) -> None:
        problems.append(ErrorDetail("InvalidParameterValue", message, target))

    for key in patch:
        if key not in _WRITABLE_FIELDS and key not in _READ_ONLY_FIELDS:
            bad(key, f"Unknown project field '{key}'. Allowed fields: {', '.join(_WRITABLE_FIELDS)}.")
    if existing is None:
        for key in ("projectKind", "storageInputContainerName", "language"):
            if patch.get(key) is None:
                bad(key, f"'{key}' is required to create project '{project_name}'.")
    for key in ("projectKind", "storageInputContainerName", "language", "projectName"):
        if key in patch and patch[key] is None and existing is not None:
            bad(key, f"'{key}' cannot be removed (null) from a project.")
    name = patch.get("projectName")
    if name is not None and name != project_name:
        bad("projectName", f"'projectName' in the body ('{name}') must match the project name in the URL "
            f"('{project_name}').")
    kind = patch.get("projectKind")
    if kind is not None and (not isinstance(kind, str) or kind.lower() != PROJECT_KIND.lower()):
        bad("projectKind", f"'projectKind' must be '{PROJECT_KIND}' (the only kind this service supports), got {kind!r}.")
    container = patch.get("storageInputContainerName")
    if container is not None and not isinstance(container, str):
        bad("storageInputContainerName", "'storageInputContainerName' must be a string.")
    language = patch.get("language")
    if language is not None and (not isinstance(language, str) or not is_supported_language(language)):
        bad("language", f"'language' must be a supported language code such as 'en-us' (see "
            f"global/languages), got {language!r}.")
    if patch.get("multilingual") is not None and not isinstance(patch["multilingual"], bool):
        bad("multilingual", f"'multilingual' must be true or false, got {patch['multilingual']!r}.")
    if patch.get("description") is not None and not isinstance(patch["description"], str):
        bad("description", "'description' must be a string.")
    if patch.get("settings") is not None and not isinstance(patch["settings"], dict):
        bad("settings", "'settings' must be a JSON object.")
    return problems


def create_or_update_project(settings: Settings, project_name: str, body: Any) -> tuple[ProjectRecord, bool]:
    """Apply a JSON merge-patch to a project, creating it if it does not exist.

    Args:
        settings: App settings.
        project_name: The project name from the URL.
        body: The parsed request body (``CreateProjectOptions`` fields, merge-patch semantics).

    Returns:
        The stored project and whether it was created (201) rather than updated (200).

    Raises:
        InvalidArgument: naming every invalid field; or when the storage container does not exist.
    """
    _check_name(project_name)
    patch = _require_object(body, "project metadata")
    store = ProjectStore(settings)
    try:
        existing: ProjectRecord | None = store.get(project_name)
    except ProjectNotFound:
        existing = None
    problems = _validate_patch(project_name, patch, existing)
    if problems:
        raise invalid_with_details(
            f"Invalid project metadata for '{project_name}': " + " ".join(p.message for p in problems), problems
        )
    now = utc_now()
    if existing is None:
        record = ProjectRecord(
            project_name=project_name,
            storage_input_container_name=patch["storageInputContainerName"],
            language=patch["language"],
            created=now,
            last_modified=now,
        )
    else:
        record = replace(existing, last_modified=now)
    if patch.get("storageInputContainerName") is not None:
        record.storage_input_container_name = patch["storageInputContainerName"]
    if patch.get("language") is not None:
        record.language = patch["language"]
    if "multilingual" in patch:
        record.multilingual = bool(patch["multilingual"])
    if "description" in patch:
        record.description = patch["description"]
    if "settings" in patch:
        record.settings = {} if patch["settings"] is None else _deep_merge(record.settings, patch["settings"])
    if existing is None or existing.storage_input_container_name != record.storage_input_container_name:
        check_container(settings, record.storage_input_container_name)
    return store.upsert(record), existing is None


def get_project(settings: Settings, project_name: str) -> ProjectRecord:
    """The project's metadata. Raises ProjectNotFound."""
    return ProjectStore(settings).get(project_name)


def list_projects(settings: Settings) -> list[ProjectRecord]:
    """Every project, ordered by name."""
    return sorted(ProjectStore(settings).list(), key=lambda record: record.project_name)


def check_project_kind(project_kind: str | None) -> None:
    """The ``projectKind`` query parameter of the global routes: absent or ``CustomEntityRecognition``.

    Raises:
        InvalidArgument: for any other project kind.
    """
    if project_kind is not None and project_kind.lower() != PROJECT_KIND.lower():
        raise InvalidArgument(
            message=f"projectKind '{project_kind}' is not supported; this service serves '{PROJECT_KIND}'.",
            target="projectKind",
        )


def supported_languages(project_kind: str | None) -> list[dict[str, str]]:
    """``global/languages`` items for ``projectKind`` (see :func:`check_project_kind`)."""
    check_project_kind(project_kind)
    return [{"languageName": name, "languageCode": code} for code, name in SUPPORTED_LANGUAGES]


# ------------------------------------------------------------------------------------ training jobs


def get_training_job(settings: Settings, project_name: str, job_id: str) -> TrainingJobRecord:
    """One training job of an existing project. Raises ProjectNotFound / OperationNotFound."""
    ProjectStore(settings).get(project_name)
    return TrainingJobStore(settings).get(project_name, job_id)


def list_training_jobs(settings: Settings, project_name: str) -> list[TrainingJobRecord]:
    """The project's unexpired training jobs, newest first. Raises ProjectNotFound."""
    ProjectStore(settings).get(project_name)
    return TrainingJobStore(settings).list(project_name)


# ------------------------------------------------------------------------------ long-running operations


@dataclass
class OperationRequest:
    """What the operation orchestration needs to run one operation (small, JSON-able)."""

    kind: str
    project_name: str
    job_id: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "projectName": self.project_name, "jobId": self.job_id, "params": self.params}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> OperationRequest:
        return cls(
            kind=str(body["kind"]),
            project_name=str(body["projectName"]),
            job_id=str(body["jobId"]),
            params=dict(body.get("params") or {}),
        )


def _create_job(settings: Settings, kind: str, project_name: str, **extra: Any) -> OperationJobRecord:
    now = utc_now()
    record = OperationJobRecord(
        kind=kind,
        project_name=_job_scope(kind, project_name),
        job_id=new_job_id(now),
        status=JobStatus.NOT_STARTED,
        created=now,
        last_updated=now,
        expiration=now + timedelta(days=settings.job_ttl_days),
        **extra,
    )
    OperationJobStore(settings).create(record)
    JobEventPublisher(settings).publish_operation_job(record)
    return record


def check_string_index_type(value: str | None) -> str:
    """``stringIndexType`` is required and must be ``Utf16CodeUnit`` (the only authoring value)."""
    if value is None or value == "":
        raise InvalidArgument(
            message=f"The 'stringIndexType' query parameter is required; use '{STRING_INDEX_TYPE}'.",
            target="stringIndexType",
        )
    if value.lower() != STRING_INDEX_TYPE.lower():
        raise InvalidArgument(
            message=f"stringIndexType '{value}' is not supported; use '{STRING_INDEX_TYPE}'.",
            target="stringIndexType",
        )
    return STRING_INDEX_TYPE


def start_import(settings: Settings, project_name: str, body: Any, *, file_format: str | None = None) -> OperationRequest:
    """Validate a project file and stage it for the import operation.

    The schema is checked now (400 with one detail per problem); the documents are checked by the
    operation, which may take long for large projects.

    Raises:
        InvalidArgument: for a bad project name, an unsupported ``format`` or an invalid project file.
    """
    _check_name(project_name)
    if file_format is not None and file_format.lower() != "json":
        raise InvalidArgument(message=f"Import format '{file_format}' is not supported; use 'json'.", target="format")
    project_file = parse_project_file(_require_object(body, "project file"), expected_project_name=project_name)
    job = _create_job(settings, IMPORT, project_name)
    staged = f"{project_prefix(project_name)}imports/{job.job_id}.json"
    BlobStore(settings).put_json(staged, project_file.to_dict())
    return OperationRequest(IMPORT, project_name, job.job_id, {"stagedBlob": staged})


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
    job = _create_job(settings, EXPORT, project_name)
    params = {
        "trainedModelLabel": trained_model_label,
        "resultUrl": link(f"{project_name}/export/jobs/{job.job_id}/result"),
    }
    return OperationRequest(EXPORT, project_name, job.job_id, params)


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
    job = _create_job(settings, DELETION, project_name)
    return OperationRequest(DELETION, project_name, job.job_id)


def start_load_snapshot(settings: Settings, project_name: str, model_label: str) -> OperationRequest:
    """Start restoring the project's assets from a trained model's data snapshot.

    Raises:
        ProjectNotFound / NotFound (model); Conflict when the model has no snapshot.
    """
    ProjectStore(settings).get(project_name)
    model = ModelStore(settings).get(project_name, model_label)
    if not model.has_snapshot:
        raise Conflict(message=f"Model '{model_label}' has no data snapshot to load.", target="trainedModelLabel")
    job = _create_job(settings, LOAD_SNAPSHOT, project_name, model_label=model_label)
    return OperationRequest(LOAD_SNAPSHOT, project_name, job.job_id, {"modelLabel": model_label})


def get_operation_job(settings: Settings, kind: str, project_name: str, job_id: str) -> OperationJobRecord:
    """An import/export/load-snapshot job of ``project_name``, or (kind ``deletion``) a deletion job.

    Raises:
        OperationNotFound: unknown or expired job id.
    """
    return OperationJobStore(settings).get(kind, _job_scope(kind, project_name), job_id)


def get_export_result(settings: Settings, project_name: str, job_id: str) -> dict[str, Any]:
    """The exported project file of a succeeded export job.

    Raises:
        OperationNotFound: unknown job; Conflict: the export has not succeeded (yet).
    """
    job = get_operation_job(settings, EXPORT, project_name, job_id)
    if job.status != JobStatus.SUCCEEDED:
        raise Conflict(message=f"Export job '{job_id}' is {job.status}; its result is available once it succeeded.")
    try:
        result: dict[str, Any] = BlobStore(settings).get_json(_export_blob(project_name, job_id))
    except NotFound as exc:
        raise OperationNotFound(message=f"The result of export job '{job_id}' no longer exists.") from exc
    return result


def _export_blob(project_name: str, job_id: str) -> str:
    return f"{project_prefix(project_name)}exports/{job_id}.json"


def _set_status(settings: Settings, request: OperationRequest, status: str, **changes: Any) -> OperationJobRecord:
    def change(record: OperationJobRecord) -> None:
        record.status = status
        record.last_updated = utc_now()
        for key, value in changes.items():
            setattr(record, key, value)

    scope = _job_scope(request.kind, request.project_name)
    record = OperationJobStore(settings).modify(request.kind, scope, request.job_id, change)
    JobEventPublisher(settings).publish_operation_job(record)
    return record


def run_operation(settings: Settings, request: OperationRequest) -> OperationJobRecord:
    """Run one long-running operation to its end and record the outcome on its job.

    Errors the user can fix (bad documents, missing container or model) end the job ``failed`` with the
    error in ``errors[]``. Storage outages and unexpected errors propagate so the orchestration can retry.
    """
    runners: dict[str, Callable[[Settings, OperationRequest], dict[str, Any]]] = {
        IMPORT: _run_import,
        EXPORT: _run_export,
        DELETION: _run_deletion,
        LOAD_SNAPSHOT: _run_load_snapshot,
    }
    runner = runners.get(request.kind)
    if runner is None:
        raise ValueError(f"unknown operation kind {request.kind!r}")
    _set_status(settings, request, JobStatus.RUNNING)
    try:
        changes = runner(settings, request)
    except StorageError:
        raise
    except AppError as exc:
        log.info("%s job %s of project %s failed: %s", request.kind, request.job_id, request.project_name, exc)
        return _set_status(settings, request, JobStatus.FAILED, errors=[exc.to_dict()])
    return _set_status(settings, request, JobStatus.SUCCEEDED, **changes)


def abandon_operation(settings: Settings, request: OperationRequest, reason: str) -> OperationJobRecord:
    """Mark an operation failed after an unexpected error (its orchestration failed or never started)."""
    error = {
        "code": "InternalServerError",
        "message": f"The {request.kind} operation failed unexpectedly: {reason}",
        "details": [],
    }
    return _set_status(settings, request, JobStatus.FAILED, errors=[error])


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


def _store_assets(settings: Settings, project_name: str, project_file: ProjectFile) -> None:
    """Make ``project_file`` the project's assets and its metadata the project's metadata."""
    blob = assets_blob_name(project_name)
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
    record.last_modified = now
    store.upsert(record)


def _run_import(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    blobs = BlobStore(settings)
    staged = request.params["stagedBlob"]
    project_file = parse_project_file(blobs.get_json(staged), expected_project_name=request.project_name)
    _check_documents(settings, project_file)
    _store_assets(settings, request.project_name, project_file)
    blobs.delete(staged)
    return {}


def _snapshot_project_file(settings: Settings, project_name: str, model_label: str) -> dict[str, Any]:
    model = ModelStore(settings).get(project_name, model_label)
    snapshot: dict[str, Any] = BlobStore(settings).get_json(model.snapshot_blob)
    # The snapshot is the project file as trained; tolerate a wrapper that also records the split.
    if "projectFile" in snapshot and "projectFileVersion" not in snapshot:
        snapshot = snapshot["projectFile"]
    return snapshot


def _run_export(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    project = ProjectStore(settings).get(request.project_name)
    label = request.params.get("trainedModelLabel")
    if label:
        data = _snapshot_project_file(settings, request.project_name, label)
    elif project.assets_blob:
        data = BlobStore(settings).get_json(project.assets_blob)
    else:
        data = {
            "projectFileVersion": DEFAULT_PROJECT_FILE_VERSION,
            "stringIndexType": STRING_INDEX_TYPE,
            "assets": {"projectKind": PROJECT_KIND, "entities": [], "documents": []},
        }
    # Metadata may have been patched since the import: export what the project says now.
    metadata = {key: value for key, value in project.to_public().items() if key in _WRITABLE_FIELDS}
    data["metadata"] = metadata
    BlobStore(settings).put_json(_export_blob(request.project_name, request.job_id), data)
    return {"result_url": request.params["resultUrl"]}


def _delete_blobs(blobs: BlobStore, names: Iterable[str]) -> None:
    for name in names:
        try:
            blobs.delete(name)
        except NotFound:
            pass


def _owned_prefixes(project_name: str) -> tuple[str, ...]:
    """Every blob prefix holding data of one project (see shared.service.pipeline / training_jobs)."""
    return (project_prefix(project_name), f"jobs/{project_name}/", f"models/{project_name}/")


def _run_deletion(settings: Settings, request: OperationRequest) -> dict[str, Any]:
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
    # Our own blobs, plus the training pipeline's job scratch data and every model version it kept.
    removed = sum(blobs.delete_prefix(prefix) for prefix in _owned_prefixes(name))
    try:
        ProjectStore(settings).delete(name)
    except ProjectNotFound:
        pass  # a retried deletion already removed the row
    log.info("project %s deleted (%d blobs)", name, removed)
    return {}


def _run_load_snapshot(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    data = _snapshot_project_file(settings, request.project_name, request.params["modelLabel"])
    project_file = parse_project_file(data, expected_project_name=request.project_name)
    _store_assets(settings, request.project_name, project_file)
    return {}
