"""Exported-model rows: table ``<prefix>ExportedModels``, PartitionKey = project, RowKey = exported model name.

An exported model is a copy of one trained model version as a spaCy pipeline folder (plus a model
card) under its own blob prefix, so it stays downloadable when the label is retrained or deleted. The
row is written when the export job has copied every file; it lists the files' relative names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from azure.data.tables import TableEntity

from shared.config import Settings
from shared.errors import ErrorDetail, NotFound
from shared.models import format_datetime
from shared.storage._entities import (
    check_key,
    etag_of,
    from_json_property,
    from_property_datetime,
    to_json_property,
    to_property_datetime,
)
from shared.storage._project_rows import ProjectRows


def exported_models_table(settings: Settings) -> str:
    return f"{settings.table_prefix}ExportedModels"


@dataclass
class ExportedModelRecord:
    """One exported model: which version it copies and where its files are."""

    project_name: str
    exported_model_name: str
    model_label: str
    model_id: str
    last_trained: datetime
    last_exported: datetime
    model_expiration_date: date
    training_config_version: str
    files_prefix: str
    """Blob prefix of the pipeline folder; a file's blob is ``files_prefix + relative name``."""
    files: list[str] = field(default_factory=list)
    """Relative names of the folder's files (``/``-separated), in name order."""
    export_job_id: str | None = None
    etag: str | None = None

    def to_public(self) -> dict[str, Any]:
        """Azure's ``ExportedTrainedModel``."""
        return {
            "exportedModelName": self.exported_model_name,
            "modelId": self.model_id,
            "lastTrainedDateTime": format_datetime(self.last_trained),
            "lastExportedModelDateTime": format_datetime(self.last_exported),
            "modelExpirationDate": self.model_expiration_date.isoformat(),
            "modelTrainingConfigVersion": self.training_config_version,
        }


def exported_model_not_found(project: str, name: str) -> NotFound:
    """``NotFound`` naming the exported model."""
    return NotFound(
        message=f"The exported model '{name}' was not found in project '{project}'.",
        target="exportedModelName",
        details=[ErrorDetail(code="NotFound", message=name, target="exportedModelName")],
    )


def _to_entity(record: ExportedModelRecord) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": check_key(record.project_name, "projectName"),
        "RowKey": check_key(record.exported_model_name, "exportedModelName"),
        "modelLabel": record.model_label,
        "modelId": record.model_id,
        "lastTrained": to_property_datetime(record.last_trained),
        "lastExported": to_property_datetime(record.last_exported),
        "modelExpirationDate": record.model_expiration_date.isoformat(),
        "trainingConfigVersion": record.training_config_version,
        "filesPrefix": record.files_prefix,
        "files": to_json_property(record.files, "files"),
        "exportJobId": record.export_job_id,
    }
    return {key: value for key, value in entity.items() if value is not None}


def _from_entity(entity: TableEntity) -> ExportedModelRecord:
    last_trained = from_property_datetime(entity.get("lastTrained"))
    last_exported = from_property_datetime(entity.get("lastExported"))
    assert last_trained is not None and last_exported is not None, "exported-model rows carry both times"
    return ExportedModelRecord(
        project_name=str(entity["PartitionKey"]),
        exported_model_name=str(entity["RowKey"]),
        model_label=str(entity.get("modelLabel", "")),
        model_id=str(entity.get("modelId", "")),
        last_trained=last_trained,
        last_exported=last_exported,
        model_expiration_date=date.fromisoformat(str(entity["modelExpirationDate"])),
        training_config_version=str(entity.get("trainingConfigVersion", "")),
        files_prefix=str(entity.get("filesPrefix", "")),
        files=[str(name) for name in from_json_property(entity.get("files"), [])],
        export_job_id=entity.get("exportJobId"),
        etag=etag_of(entity),
    )


class ExportedModelStore(ProjectRows[ExportedModelRecord]):
    """Exported-model rows (``ExportedModelRecord``), ordered by name."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            exported_models_table(settings),
            noun="exported model",
            to_entity=_to_entity,
            from_entity=_from_entity,
            not_found=exported_model_not_found,
            sort_key=lambda record: record.exported_model_name,
        )
