"""Trained model rows: ``settings.models_table``, PartitionKey = project name, RowKey = model label.

The model itself, its evaluation results and the assets snapshot are blobs in the app container; the
row names them.
"""

from __future__ import annotations

import builtins
from datetime import date
from typing import Any

from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.config import Settings
from shared.errors import ErrorDetail, NotFound
from shared.models import EvaluationOptions, TrainedModelRecord
from shared.storage._entities import (
    check_key,
    etag_from_response,
    etag_of,
    from_json_property,
    from_property_datetime,
    read_entity,
    to_json_property,
    to_property_datetime,
)
from shared.storage.clients import storage_call, table_client


def model_not_found(project: str, label: str) -> NotFound:
    """``NotFound`` for a trained model label the project does not have."""
    return NotFound(
        message=f"The trained model '{label}' was not found in project '{project}'.",
        target="trainedModelLabel",
        details=[ErrorDetail(code="NotFound", message=label, target="trainedModelLabel")],
    )


def _to_entity(record: TrainedModelRecord) -> dict[str, Any]:
    last_trained = to_property_datetime(record.last_trained)
    return {
        "PartitionKey": check_key(record.project_name, "projectName"),
        "RowKey": check_key(record.label, "modelLabel"),
        "modelId": record.model_id,
        "jobId": record.job_id,
        "lastTrained": last_trained,
        "lastTrainingDurationSeconds": int(record.last_training_duration_seconds),
        "modelExpirationDate": record.model_expiration_date.isoformat(),
        "trainingConfigVersion": record.training_config_version,
        "evaluationOptions": to_json_property(record.evaluation_options.to_public(), "evaluationOptions"),
        "modelBlob": record.model_blob,
        "evaluationSummaryBlob": record.evaluation_summary_blob,
        "evaluationDocumentsBlob": record.evaluation_documents_blob,
        "snapshotBlob": record.snapshot_blob,
        "hasSnapshot": bool(record.has_snapshot),
    }


def _from_entity(entity: TableEntity) -> TrainedModelRecord:
    last_trained = from_property_datetime(entity.get("lastTrained"))
    assert last_trained is not None, "model rows always carry lastTrained"
    return TrainedModelRecord(
        project_name=str(entity["PartitionKey"]),
        label=str(entity["RowKey"]),
        model_id=str(entity.get("modelId", "")),
        job_id=str(entity.get("jobId", "")),
        last_trained=last_trained,
        last_training_duration_seconds=int(entity.get("lastTrainingDurationSeconds", 0)),
        model_expiration_date=date.fromisoformat(str(entity["modelExpirationDate"])),
        training_config_version=str(entity.get("trainingConfigVersion", "")),
        evaluation_options=EvaluationOptions.from_public(
            from_json_property(entity.get("evaluationOptions"), {})
        ),
        model_blob=str(entity.get("modelBlob", "")),
        evaluation_summary_blob=str(entity.get("evaluationSummaryBlob", "")),
        evaluation_documents_blob=str(entity.get("evaluationDocumentsBlob", "")),
        snapshot_blob=str(entity.get("snapshotBlob", "")),
        has_snapshot=bool(entity.get("hasSnapshot", True)),
        etag=etag_of(entity),
    )


class ModelStore:
    """Trained model rows (``TrainedModelRecord``)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._table_name = settings.models_table

    @property
    def _client(self) -> TableClient:
        return table_client(self._settings.storage_connection, self._table_name)

    def upsert(self, record: TrainedModelRecord) -> TrainedModelRecord:
        """Store the model under its label, replacing a model with the same label (retraining).

        Returns:
            ``record`` with its new ``etag``.

        Raises:
            InvalidArgument: a field cannot be stored.
            StorageError: storage failed.
        """
        what = f"upsert model '{record.label}' of project '{record.project_name}' in table {self._table_name}"
        with storage_call(what):
            response = self._client.upsert_entity(entity=_to_entity(record), mode=UpdateMode.REPLACE)
        record.etag = etag_from_response(response)
        return record

    def get(self, project: str, label: str) -> TrainedModelRecord:
        """The model trained under ``label``.

        Raises:
            NotFound: the project has no model with this label.
            StorageError: storage failed.
        """
        entity = read_entity(
            self._client,
            project,
            label,
            f"read model '{label}' of project '{project}' from table {self._table_name}",
        )
        if entity is None:
            raise model_not_found(project, label)
        return _from_entity(entity)

    def list(self, project: str) -> builtins.list[TrainedModelRecord]:
        """The project's models ordered by label.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"list models of project '{project}' in table {self._table_name}"):
            entities = builtins.list(
                self._client.query_entities(query_filter="PartitionKey eq @pk", parameters={"pk": project})
            )
        return [_from_entity(entity) for entity in entities]

    def count(self, project: str) -> int:
        """How many models the project has.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"count models of project '{project}' in table {self._table_name}"):
            return sum(
                1
                for _ in self._client.query_entities(
                    query_filter="PartitionKey eq @pk", parameters={"pk": project}, select=["RowKey"]
                )
            )

    def delete(self, project: str, label: str) -> None:
        """Delete the model row (its blobs are the caller's to delete); a missing row is not an error.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"delete model '{label}' of project '{project}' from table {self._table_name}"):
            self._client.delete_entity(partition_key=project, row_key=label)
