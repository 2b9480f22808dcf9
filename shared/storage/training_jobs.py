"""Training job rows: ``settings.jobs_table``, PartitionKey = project name, RowKey = job id.

A job past its ``expiration`` no longer exists for callers (``get`` raises ``OperationNotFound``,
``list`` skips it) even before the purge timer deletes its row. ``modify`` deliberately works on expired
rows too, so the pipeline can still finish or fail a job it is running.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableEntity

from shared.config import Settings
from shared.errors import Conflict, ErrorDetail, OperationNotFound
from shared.models import (
    EvaluationOptions,
    JobStatus,
    SubJobState,
    TrainingJobRecord,
    utc_now,
)
from shared.storage._entities import (
    ACTIVE_STATUS_FILTER,
    ACTIVE_STATUS_PARAMS,
    cap_items,
    check_key,
    check_string,
    drop_none,
    etag_from_response,
    etag_of,
    from_json_property,
    from_property_datetime,
    modify_entity,
    read_entity,
    required_datetime,
    to_json_property,
    to_property_datetime,
)
from shared.storage.clients import storage_call, table_client


def _sub_job_json(state: SubJobState, field: str) -> str:
    # Not SubJobState.to_dict(): its wire format drops sub-second precision, and a round trip should not.
    body: dict[str, Any] = {"status": state.status, "percentComplete": int(state.percent_complete)}
    for key, value in (("startDateTime", state.start), ("endDateTime", state.end)):
        stored = to_property_datetime(value)
        if stored is not None:
            body[key] = stored.isoformat()
    return to_json_property(body, field)


def training_job_not_found(project: str, job_id: str) -> OperationNotFound:
    """Azure's ``OperationNotFound`` for an unknown or expired training job."""
    return OperationNotFound(
        message=f"The training job '{job_id}' of project '{project}' was not found or has expired.",
        target="jobId",
        details=[ErrorDetail(code="OperationNotFound", message=job_id, target="jobId")],
    )


def training_job_to_entity(record: TrainingJobRecord) -> dict[str, Any]:
    """The Table entity of a training job (nested values as JSON, long lists capped)."""
    return drop_none(
        {
            "PartitionKey": check_key(record.project_name, "projectName"),
            "RowKey": check_key(record.job_id, "jobId"),
            "modelLabel": check_string(record.model_label, "modelLabel"),
            "trainingConfigVersion": record.training_config_version,
            "evaluationOptions": to_json_property(record.evaluation_options.to_public(), "evaluationOptions"),
            "status": str(record.status),
            "created": to_property_datetime(record.created),
            "lastUpdated": to_property_datetime(record.last_updated),
            "expiration": to_property_datetime(record.expiration),
            "trainingStatus": _sub_job_json(record.training_status, "trainingStatus"),
            "evaluationStatus": _sub_job_json(record.evaluation_status, "evaluationStatus"),
            "estimatedEnd": to_property_datetime(record.estimated_end),
            "warnings": to_json_property(cap_items(record.warnings, "warnings"), "warnings"),
            "errors": to_json_property(cap_items(record.errors, "errors"), "errors"),
            "phase": record.phase,
            "history": to_json_property(record.history, "history") if record.history else None,
            "heartbeat": to_property_datetime(record.heartbeat),
            # Seeds may exceed Int32; a string keeps any int exactly.
            "seed": str(int(record.seed)),
        }
    )


def training_job_from_entity(entity: TableEntity) -> TrainingJobRecord:
    """The record stored in a training job entity."""
    return TrainingJobRecord(
        project_name=str(entity["PartitionKey"]),
        job_id=str(entity["RowKey"]),
        model_label=str(entity.get("modelLabel", "")),
        training_config_version=str(entity.get("trainingConfigVersion", "")),
        evaluation_options=EvaluationOptions.from_public(
            from_json_property(entity.get("evaluationOptions"), {})
        ),
        status=str(entity.get("status", JobStatus.NOT_STARTED)),
        created=required_datetime(entity, "created"),
        last_updated=required_datetime(entity, "lastUpdated"),
        expiration=required_datetime(entity, "expiration"),
        training_status=SubJobState.from_dict(from_json_property(entity.get("trainingStatus"), {})),
        evaluation_status=SubJobState.from_dict(from_json_property(entity.get("evaluationStatus"), {})),
        estimated_end=from_property_datetime(entity.get("estimatedEnd")),
        warnings=from_json_property(entity.get("warnings"), []),
        errors=from_json_property(entity.get("errors"), []),
        phase=str(entity.get("phase", "queued")),
        history=from_json_property(entity.get("history"), []),
        heartbeat=from_property_datetime(entity.get("heartbeat")),
        seed=int(entity.get("seed", 0) or 0),
        etag=etag_of(entity),
    )


class TrainingJobStore:
    """Training job rows (``TrainingJobRecord``): PartitionKey = project, RowKey = job id."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._table_name = settings.jobs_table

    @property
    def _client(self) -> TableClient:
        return table_client(self._settings.storage_connection, self._table_name)

    def _what(self, project: str, job_id: str) -> str:
        return f"training job '{job_id}' of project '{project}' in table {self._table_name}"

    def create(self, record: TrainingJobRecord) -> TrainingJobRecord:
        """Insert a new job row.

        Returns:
            ``record`` with its ``etag`` set.

        Raises:
            Conflict: a job with this id already exists in the project.
            InvalidArgument: a field cannot be stored.
            StorageError: storage failed.
        """
        entity = training_job_to_entity(record)
        try:
            with storage_call(f"create {self._what(record.project_name, record.job_id)}"):
                response = self._client.create_entity(entity=entity)
        except ResourceExistsError:
            raise Conflict(
                message=f"Training job '{record.job_id}' already exists in project '{record.project_name}'.",
                target="jobId",
            ) from None
        record.etag = etag_from_response(response)
        return record

    def read(self, project: str, job_id: str) -> TrainingJobRecord | None:
        """The job row whether expired or not, or None if there is none (for internal checks).

        Raises:
            StorageError: storage failed.
        """
        entity = read_entity(self._client, project, job_id, f"read {self._what(project, job_id)}")
        return None if entity is None else training_job_from_entity(entity)

    def get(self, project: str, job_id: str, *, now: datetime | None = None) -> TrainingJobRecord:
        """The job as callers see it.

        Raises:
            OperationNotFound: no such job in the project, or it has expired.
            StorageError: storage failed.
        """
        record = self.read(project, job_id)
        if record is None or record.expiration < (now or utc_now()):
            raise training_job_not_found(project, job_id)
        return record

    def list(self, project: str, *, now: datetime | None = None) -> builtins.list[TrainingJobRecord]:
        """The project's unexpired jobs, newest first.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"list training jobs of project '{project}' in table {self._table_name}"):
            entities = builtins.list(
                self._client.query_entities(
                    query_filter="PartitionKey eq @pk and expiration ge @now",
                    parameters={"pk": project, "now": now or utc_now()},
                )
            )
        records = [training_job_from_entity(entity) for entity in entities]
        records.sort(key=lambda record: (record.created, record.job_id), reverse=True)
        return records

    def modify(
        self, project: str, job_id: str, change: Callable[[TrainingJobRecord], None]
    ) -> TrainingJobRecord:
        """Read the job, apply ``change``, and replace the row only if nobody wrote in between.

        On a lost race the row is re-read and ``change`` applied again (so ``change`` must depend only
        on the record it is given). ``change`` may raise (e.g. ``Conflict`` for a finished job); then
        nothing is written. ``last_updated`` is not touched here: set it in ``change``. Works on expired
        rows too.

        Returns:
            The record as written, with its new ``etag``.

        Raises:
            OperationNotFound: no such job.
            StorageError: storage failed or the row kept changing.
        """
        return modify_entity(
            self._client,
            project,
            job_id,
            load=training_job_from_entity,
            dump=training_job_to_entity,
            change=change,
            not_found=lambda: training_job_not_found(project, job_id),
            what=self._what(project, job_id),
        )

    def list_expired(self, now: datetime) -> builtins.list[TrainingJobRecord]:
        """Jobs of every project whose expiration is before ``now`` (for the purge timer).

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"list expired training jobs in table {self._table_name}"):
            entities = builtins.list(
                self._client.query_entities(query_filter="expiration lt @now", parameters={"now": now})
            )
        return [training_job_from_entity(entity) for entity in entities]

    def list_stale(self, cutoff: datetime) -> builtins.list[TrainingJobRecord]:
        """Active jobs (notStarted, running, cancelling) with no sign of life since ``cutoff``.

        The last sign of life is the later of ``heartbeat`` and ``last_updated``.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"list stale training jobs in table {self._table_name}"):
            entities = builtins.list(
                self._client.query_entities(
                    query_filter=f"{ACTIVE_STATUS_FILTER} and lastUpdated lt @cutoff",
                    parameters={**ACTIVE_STATUS_PARAMS, "cutoff": cutoff},
                )
            )
        records = [training_job_from_entity(entity) for entity in entities]
        return [record for record in records if record.heartbeat is None or record.heartbeat < cutoff]

    def delete(self, project: str, job_id: str) -> None:
        """Delete the job row; a missing row is not an error.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"delete {self._what(project, job_id)}"):
            self._client.delete_entity(partition_key=project, row_key=job_id)

    def delete_project_jobs(self, project: str) -> int:
        """Delete every job row of the project (expired or not).

        Returns:
            How many rows were deleted.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"delete training jobs of project '{project}' in table {self._table_name}"):
            keys = [
                entity["RowKey"]
                for entity in self._client.query_entities(
                    query_filter="PartitionKey eq @pk", parameters={"pk": project}, select=["RowKey"]
                )
            ]
            for job_id in keys:
                self._client.delete_entity(partition_key=project, row_key=job_id)
        return len(keys)
