"""Project use cases: create/update (JSON merge-patch), get, list, the global routes, training job reads.

The long-running operations on a project (import, export, deletion, load-snapshot) are in
:mod:`shared.operations`; the blob layout is in :mod:`shared.jobs.workspace`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shared.config import Settings
from shared.errors import ErrorDetail, InvalidArgument, InvalidRequest, ProjectNotFound, invalid_with_details
from shared.jobs.kinds import GLOBAL_SCOPE
from shared.models import PROJECT_KIND, ProjectRecord, TrainingJobRecord, utc_now
from shared.ner.languages import SUPPORTED_LANGUAGES, is_supported_language
from shared.ner.project_file import validate_project_name
from shared.storage.documents import check_container
from shared.storage.projects import ProjectStore
from shared.storage.training_jobs import TrainingJobStore

STRING_INDEX_TYPE = "Utf16CodeUnit"

WRITABLE_FIELDS = (
    "projectName",
    "projectKind",
    "storageInputContainerName",
    "settings",
    "multilingual",
    "description",
    "language",
)
_READ_ONLY_FIELDS = ("createdDateTime", "lastModifiedDateTime", "lastTrainedDateTime", "lastDeployedDateTime")


def check_name(project_name: str) -> None:
    validate_project_name(project_name)
    if project_name.lower() == GLOBAL_SCOPE:
        raise InvalidArgument(
            message=f"The project name '{project_name}' is reserved (it collides with the 'projects/global' "
            "routes). Choose another name.",
            target="projectName",
        )


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


def require_object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest(message=f"The request body must be a JSON object ({what}), got {type(body).__name__}.")
    return body


# ------------------------------------------------------------------------------------ create / update


def _validate_patch(project_name: str, patch: dict[str, Any], existing: ProjectRecord | None) -> list[ErrorDetail]:
    problems: list[ErrorDetail] = []

    def bad(target: str, message: str) -> None:
        problems.append(ErrorDetail("InvalidParameterValue", message, target))

    for key in patch:
        if key not in WRITABLE_FIELDS and key not in _READ_ONLY_FIELDS:
            bad(key, f"Unknown project field '{key}'. Allowed fields: {', '.join(WRITABLE_FIELDS)}.")
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
    check_name(project_name)
    patch = require_object(body, "project metadata")
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
