"""Operation job rows (import, export, deletion, load-snapshot): ``settings.operations_table``,
PartitionKey = ``"<kind>:<project>"``, RowKey = job id. Expired rows are gone for callers, as for
training jobs (:mod:`shared.storage.training_jobs`).
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
    JobStatus,
    OperationJobRecord,
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
    modify_entity,
    read_entity,
    required_datetime,
    to_json_property,
    to_property_datetime,
)
from shared.storage.clients import storage_call, table_client


def operation_partition(kind: str, project: str) -> str:
    """PartitionKey of an operation job row."""
    return f"{check_key(kind, 'kind')}:{check_key(project, 'projectName')}"


def operation_not_found(kind: str, project: str, job_id: str) -> OperationNotFound:
    """Azure's ``OperationNotFound`` for an unknown or expired operation job."""
    # Deletion jobs live under the pseudo project "global" (their URL names no project).
    scope = "" if project == "global" else f" of project '{project}'"
    return OperationNotFound(
        message=f"The {kind} job '{job_id}'{scope} was not found or has expired.",
        target="jobId",
        details=[ErrorDetail(code="OperationNotFound", message=job_id, target="jobId")],
    )


def operation_job_to_entity(record: OperationJobRecord) -> dict[str, Any]:
    """The Table entity of an operation job."""
    return drop_none(
        {
            "PartitionKey": operation_partition(record.kind, record.project_name),
            "RowKey": check_key(record.job_id, "jobId"),
            "kind": record.kind,
            "projectName": record.project_name,
            "status": str(record.status),
            "created": to_property_datetime(record.created),
            "lastUpdated": to_property_datetime(record.last_updated),
            "expiration": to_property_datetime(record.expiration),
            "warnings": to_json_property(cap_items(record.warnings, "warnings"), "warnings"),
            "errors": to_json_property(cap_items(record.errors, "errors"), "errors"),
            "resultUrl": check_string(record.result_url, "resultUrl"),
            "modelLabel": record.model_label,
            "subjectName": record.subject_name,
        }
    )


def operation_job_from_entity(entity: TableEntity) -> OperationJobRecord:
    """The record stored in an operation job entity."""
    return OperationJobRecord(
        kind=str(entity["kind"]),
        project_name=str(entity["projectName"]),
        job_id=str(entity["RowKey"]),
        status=str(entity.get("status", JobStatus.NOT_STARTED)),
        created=required_datetime(entity, "created"),
        last_updated=required_datetime(entity, "lastUpdated"),
        expiration=required_datetime(entity, "expiration"),
        warnings=from_json_property(entity.get("warnings"), []),
        errors=from_json_property(entity.get("errors"), []),
        result_url=entity.get("resultUrl"),
        model_label=entity.get("modelLabel"),
        subject_name=entity.get("subjectName"),
        etag=etag_of(entity),
    )


class OperationJobStore:
    """Import/export/deletion/load-snapshot job rows: PartitionKey = ``kind:project``, RowKey = job id."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._table_name = settings.operations_table

    @property
    def _client(self) -> TableClient:
        return table_client(self._settings.storage_connection, self._table_name)

    def _what(self, kind: str, project: str, job_id: str) -> str:
        return f"{kind} job '{job_id}' of project '{project}' in table {self._table_name}"

    def create(self, record: OperationJobRecord) -> OperationJobRecord:
        """Insert a new operation job row.

        Returns:
            ``record`` with its ``etag`` set.

        Raises:
            Conflict: a job with this id already exists.
            StorageError: storage failed.
        """
        entity = operation_job_to_entity(record)
        try:
            with storage_call(f"create {self._what(record.kind, record.project_name, record.job_id)}"):
                response = self._client.create_entity(entity=entity)
        except ResourceExistsError:
            raise Conflict(
                message=f"{record.kind} job '{record.job_id}' already exists in project '{record.project_name}'.",
                target="jobId",
            ) from None
        record.etag = etag_from_response(response)
        return record

    def get(self, kind: str, project: str, job_id: str, *, now: datetime | None = None) -> OperationJobRecord:
        """The job as callers see it.

        Raises:
            OperationNotFound: no such job, or it has expired.
            StorageError: storage failed.
        """
        entity = read_entity(
            self._client,
            operation_partition(kind, project),
            job_id,
            f"read {self._what(kind, project, job_id)}",
        )
        if entity is None:
            raise operation_not_found(kind, project, job_id)
        record = operation_job_from_entity(entity)
        if record.expiration < (now or utc_now()):
            raise operation_not_found(kind, project, job_id)
        return record

    def modify(
        self, kind: str, project: str, job_id: str, change: Callable[[OperationJobRecord], None]
    ) -> OperationJobRecord:
        """Read, apply ``change``, ETag-conditional replace; retried on a lost race (see TrainingJobStore.modify).

        Raises:
            OperationNotFound: no such job.
            StorageError: storage failed or the row kept changing.
        """
        return modify_entity(
            self._client,
            operation_partition(kind, project),
            job_id,
            load=operation_job_from_entity,
            dump=operation_job_to_entity,
            change=change,
            not_found=lambda: operation_not_found(kind, project, job_id),
            what=self._what(kind, project, job_id),
        )

    def list_expired(self, now: datetime) -> builtins.list[OperationJobRecord]:
        """Operation jobs of every kind and project whose expiration is before ``now``.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"list expired operation jobs in table {self._table_name}"):
            entities = builtins.list(
                self._client.query_entities(query_filter="expiration lt @now", parameters={"now": now})
            )
        return [operation_job_from_entity(entity) for entity in entities]

    def list_stale(self, cutoff: datetime) -> builtins.list[OperationJobRecord]:
        """Active operation jobs (notStarted, running, cancelling) of every kind whose row is older than ``cutoff``.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"list stale operation jobs in table {self._table_name}"):
            entities = builtins.list(
                self._client.query_entities(
                    query_filter=f"{ACTIVE_STATUS_FILTER} and lastUpdated lt @cutoff",
                    parameters={**ACTIVE_STATUS_PARAMS, "cutoff": cutoff},
                )
            )
        return [operation_job_from_entity(entity) for entity in entities]

    def delete(self, kind: str, project: str, job_id: str) -> None:
        """Delete the job row; a missing row is not an error.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"delete {self._what(kind, project, job_id)}"):
            self._client.delete_entity(partition_key=operation_partition(kind, project), row_key=job_id)
