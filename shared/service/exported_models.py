"""Exported models (2025-05-15-preview): a trained model version as a downloadable spaCy pipeline folder.

``PUT .../exported-models/{name}`` ``{"trainedModelLabel"}`` pins the label's current version (like a
deployment) and an export job writes the folder's files, plus a model card, under
``projects/{project}/exported-models/{name}/{jobId}/`` (inside the project's prefix, so deleting the
project deletes them). The row is written when every file is there, then the previous export of that
name is removed, so a replaced export stays readable until the new one is complete. The manifest lists
the files by relative name with a ``contentUri`` served by this API (same subscription key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from shared.config import Settings
from shared.errors import Conflict, InvalidArgument, InvalidRequest, NotFound
from shared.extraction.serving import load_calibrator
from shared.jobs.workspace import project_prefix
from shared.models import format_datetime, parse_datetime, utc_now
from shared.ner import config_versions
from shared.ner.model_card import DataCounts, ModelCard
from shared.ner.model_export import load_for_export, pipeline_files, training_settings, versions
from shared.ner.project_file import parse_project_file
from shared.service.model_versions import require_trained_model
from shared.storage._entities import check_key
from shared.storage.blobs import BlobStore
from shared.storage.exported_models import ExportedModelRecord, ExportedModelStore
from shared.storage.projects import ProjectStore


def exports_prefix(project_name: str) -> str:
    """Inside the project's prefix, so deleting the project deletes its exported models' files."""
    return f"{project_prefix(project_name)}exported-models/"


def files_prefix(project_name: str, name: str, job_id: str) -> str:
    """Where one export job writes the folder (one prefix per job: a replaced export is never half-written)."""
    return f"{exports_prefix(project_name)}{name}/{job_id}/"


def check_exported_model_name(name: str) -> str:
    """Raises InvalidArgument naming ``exportedModelName``."""
    check_key(name, "exportedModelName")
    if len(name) > 100:
        raise InvalidArgument(message="'exportedModelName' must be at most 100 characters.", target="exportedModelName")
    return name


@dataclass
class ExportPlan:
    """What one export job copies: the version pinned when the request was accepted (JSON-able)."""

    project_name: str
    exported_model_name: str
    model_label: str
    model_id: str
    model_blob: str
    snapshot_blob: str
    evaluation_summary_blob: str
    evaluation_documents_blob: str
    last_trained: str
    training_config_version: str
    model_expiration_date: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExportPlan:
        return cls(**data)


def plan_export(settings: Settings, project_name: str, name: str, body: Any) -> ExportPlan:
    """Validate ``PUT .../exported-models/{name}`` and pin the label's current model version.

    Raises:
        ProjectNotFound; InvalidRequest / InvalidArgument naming the field or the label without a model.
    """
    ProjectStore(settings).get(project_name)
    check_exported_model_name(name)
    if not isinstance(body, dict):
        raise InvalidRequest(message="The request body must be a JSON object: {\"trainedModelLabel\": \"<label>\"}.")
    model = require_trained_model(settings, project_name, body.get("trainedModelLabel"), "exported")
    if model.training_config_version == config_versions.TRANSFER:
        raise Conflict(
            message=(
                f"Model '{model.label}' was trained with trainingConfigVersion {config_versions.TRANSFER}, whose "
                "tok2vec and vectors come from this service's configured base pipeline and are not stored with "
                f"the model, so it cannot be exported; retrain it with {config_versions.EFFICIENCY} or "
                f"{config_versions.LATEST} to export it."
            ),
            target="trainedModelLabel",
        )
    return ExportPlan(
        project_name=project_name,
        exported_model_name=name,
        model_label=model.label,
        model_id=model.model_id,
        model_blob=model.model_blob,
        snapshot_blob=model.snapshot_blob,
        evaluation_summary_blob=model.evaluation_summary_blob,
        evaluation_documents_blob=model.evaluation_documents_blob,
        last_trained=format_datetime(model.last_trained) or "",
        training_config_version=model.training_config_version,
        model_expiration_date=model.model_expiration_date.isoformat(),
    )


def model_card(blobs: BlobStore, plan: ExportPlan, nlp: Any) -> ModelCard:
    """The card of the pinned version: labels, data counts, evaluation, settings, versions."""
    snapshot = parse_project_file(blobs.get_json(plan.snapshot_blob))
    test_documents = len(blobs.get_json(plan.evaluation_documents_blob))
    return ModelCard(
        project_name=plan.project_name,
        model_label=plan.model_label,
        model_id=plan.model_id,
        last_trained=plan.last_trained,
        language=snapshot.language,
        spacy_language=str(nlp.lang),
        labels=sorted(nlp.get_pipe("ner").labels),
        counts=DataCounts.from_snapshot(snapshot, test_documents),
        evaluation_summary=blobs.get_json(plan.evaluation_summary_blob),
        training_config_version=plan.training_config_version,
        training_settings=training_settings(nlp),
        versions=versions(),
        calibration=load_calibrator(blobs, plan.model_blob),  # what the deployment's scores go through
    )


def run_export(settings: Settings, plan: ExportPlan, job_id: str, *, now: datetime | None = None) -> ExportedModelRecord:
    """The export job's work: write the folder's files, then the row, then drop the previous export.

    Raises:
        NotFound: a blob of the pinned version is gone (the model was deleted meanwhile).
        TrainingFailed: the stored model bytes are not a spaCy pipeline.
    """
    blobs = BlobStore(settings)
    nlp = load_for_export(blobs.get_bytes(plan.model_blob))
    files = pipeline_files(nlp, model_card(blobs, plan, nlp))
    prefix = files_prefix(plan.project_name, plan.exported_model_name, job_id)
    for relative, data in files.items():
        blobs.put_bytes(prefix + relative, data)
    store = ExportedModelStore(settings)
    previous = store.find(plan.project_name, plan.exported_model_name)
    last_trained = parse_datetime(plan.last_trained)
    assert last_trained is not None, "plans carry the model's lastTrainedDateTime"
    record = store.upsert(
        ExportedModelRecord(
            project_name=plan.project_name,
            exported_model_name=plan.exported_model_name,
            model_label=plan.model_label,
            model_id=plan.model_id,
            last_trained=last_trained,
            last_exported=now or utc_now(),
            model_expiration_date=datetime.fromisoformat(plan.model_expiration_date).date(),
            training_config_version=plan.training_config_version,
            files_prefix=prefix,
            files=sorted(files),
            export_job_id=job_id,
        )
    )
    if previous is not None and previous.files_prefix != prefix:
        blobs.delete_prefix(previous.files_prefix)
    return record


def get_exported_model(settings: Settings, project_name: str, name: str) -> ExportedModelRecord:
    """Raises ProjectNotFound, or NotFound naming the exported model."""
    ProjectStore(settings).get(project_name)
    return ExportedModelStore(settings).get(project_name, name)


def list_exported_models(settings: Settings, project_name: str) -> list[ExportedModelRecord]:
    """Raises ProjectNotFound."""
    ProjectStore(settings).get(project_name)
    return ExportedModelStore(settings).list(project_name)


def delete_exported_model(settings: Settings, project_name: str, name: str) -> None:
    """The delete job's work: drop the row, then the files; an export already gone is not an error."""
    store = ExportedModelStore(settings)
    record = store.find(project_name, name)
    if record is None:
        return
    store.delete(project_name, name)
    BlobStore(settings).delete_prefix(record.files_prefix)


def manifest(
    settings: Settings, project_name: str, name: str, content_uri: Callable[[str], str]
) -> dict[str, Any]:
    """``ExportedModelManifest``: ``{"modelFiles": [{"name", "contentUri"}]}``.

    Args:
        content_uri: the download URL of a file from its relative name (the HTTP layer knows the host).
    """
    record = get_exported_model(settings, project_name, name)
    return {"modelFiles": [{"name": relative, "contentUri": content_uri(relative)} for relative in record.files]}


def read_file(settings: Settings, project_name: str, name: str, relative: str) -> bytes:
    """The content of one listed file (only names in the manifest: no path tricks reach other blobs).

    Raises:
        ProjectNotFound; NotFound naming the exported model or the file.
    """
    record = get_exported_model(settings, project_name, name)
    if relative not in record.files:
        raise NotFound(
            message=f"The exported model '{name}' has no file '{relative[:200]}'; see its manifest.",
            target="fileName",
        )
    return BlobStore(settings).get_bytes(record.files_prefix + relative)


def delete_project_exports(settings: Settings, project_name: str) -> int:
    """Remove every exported-model row of a project (its files go with the project's blob prefix)."""
    store = ExportedModelStore(settings)
    records = store.list(project_name)
    for record in records:
        store.delete(project_name, record.exported_model_name)
    return len(records)
