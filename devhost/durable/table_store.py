"""Durable state in Azure Table Storage (Azurite locally), laid out like the Azure Storage provider.

``<hub>Instances`` (one row per instance, PartitionKey = instance id, RowKey = "") and ``<hub>History``
(PartitionKey = instance id, RowKey = 16-digit hex sequence number, one row per event, with its
ExecutionId). Messages not yet applied to the history (activity results, raised events, timer firings,
terminate...) live in the same History partition under RowKeys starting with ``~``, so that one
entity-group transaction can append an episode's events and delete the messages it consumed.
Payloads too large for a table property go to the ``<hub>-largemessages`` blob container.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from devhost.durable.store import (
    MAX_BATCH_CHARS,
    MAX_BATCH_OPS,
    MAX_INLINE_CHARS,
    PENDING,
    InstanceRecord,
    matches,
    message_key,
    stored,
)


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


class TableStore:
    """Durable state in Azure Table Storage (Azurite locally), laid out like the Azure Storage provider."""

    def __init__(self, connection_string: str, hub_name: str) -> None:
        from azure.data.tables import TableServiceClient
        from azure.storage.blob import BlobServiceClient

        self.hub_name = hub_name
        self._service = TableServiceClient.from_connection_string(connection_string)
        self._blobs = BlobServiceClient.from_connection_string(connection_string)
        self.instances_table_name = f"{hub_name}Instances"
        self.history_table_name = f"{hub_name}History"
        self._instances = self._service.create_table_if_not_exists(self.instances_table_name)
        self._history = self._service.create_table_if_not_exists(self.history_table_name)
        self._container = self._blobs.get_container_client(f"{hub_name.lower()}-largemessages")
        self._container_ready = False

    # -- large payloads -------------------------------------------------------------------------------

    def _put_text(self, entity: dict[str, Any], column: str, text: str | None, blob_name: str) -> None:
        if text is None:
            return
        if len(text) <= MAX_INLINE_CHARS:
            entity[column] = text
            return
        if not self._container_ready:
            from azure.core.exceptions import ResourceExistsError

            try:
                self._container.create_container()
            except ResourceExistsError:
                pass
            self._container_ready = True
        self._container.upload_blob(blob_name, text.encode("utf-8"), overwrite=True)
        entity[column + "BlobName"] = blob_name

    def _get_text(self, entity: dict[str, Any], column: str) -> str | None:
        if column in entity and entity[column] is not None:
            return str(entity[column])
        blob_name = entity.get(column + "BlobName")
        if not blob_name:
            return None
        return bytes(self._container.download_blob(blob_name).readall()).decode("utf-8")

    def _delete_blobs(self, instance_id: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            for blob in self._container.list_blobs(name_starts_with=f"{instance_id}/"):
                self._container.delete_blob(blob.name)
        except ResourceNotFoundError:
            return

    # -- instances ------------------------------------------------------------------------------------

    def _to_record(self, entity: dict[str, Any]) -> InstanceRecord:
        parent_task = entity.get("ParentTaskId")
        return InstanceRecord(
            instance_id=entity["PartitionKey"],
            name=entity.get("Name", ""),
            version=entity.get("Version", "") or "",
            execution_id=entity.get("ExecutionId", ""),
            runtime_status=entity.get("RuntimeStatus", PENDING),
            created_time=_as_utc(entity.get("CreatedTime")) or datetime.now(UTC),
            last_updated_time=_as_utc(entity.get("LastUpdatedTime")) or datetime.now(UTC),
            completed_time=_as_utc(entity.get("CompletedTime")),
            input=self._get_text(entity, "Input"),
            output=self._get_text(entity, "Output"),
            custom_status=self._get_text(entity, "CustomStatus"),
            parent_instance_id=entity.get("ParentInstanceId"),
            parent_task_id=int(parent_task) if parent_task is not None else None,
        )

    def get_instance(self, instance_id: str) -> InstanceRecord | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._instances.get_entity(partition_key=instance_id, row_key="")
        except ResourceNotFoundError:
            return None
        return self._to_record(dict(entity))

    def put_instance(self, record: InstanceRecord) -> None:
        from azure.data.tables import UpdateMode

        entity: dict[str, Any] = {
            "PartitionKey": record.instance_id,
            "RowKey": "",
            "Name": record.name,
            "Version": record.version,
            "ExecutionId": record.execution_id,
            "RuntimeStatus": record.runtime_status,
            "CreatedTime": record.created_time,
            "LastUpdatedTime": record.last_updated_time,
        }
        if record.completed_time is not None:
            entity["CompletedTime"] = record.completed_time
        if record.parent_instance_id is not None:
            entity["ParentInstanceId"] = record.parent_instance_id
        if record.parent_task_id is not None:
            entity["ParentTaskId"] = record.parent_task_id
        prefix = f"{record.instance_id}/{record.execution_id}"
        self._put_text(entity, "Input", record.input, f"{prefix}/Input")
        self._put_text(entity, "Output", record.output, f"{prefix}/Output")
        self._put_text(entity, "CustomStatus", record.custom_status, f"{prefix}/CustomStatus")
        self._instances.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def query_instances(
        self, *, created_from: datetime | None = None, created_to: datetime | None = None,
        statuses: Sequence[str] | None = None, prefix: str | None = None,
    ) -> list[InstanceRecord]:
        clauses: list[str] = []
        parameters: dict[str, Any] = {}
        if created_from is not None:
            clauses.append("CreatedTime ge @created_from")
            parameters["created_from"] = created_from
        if created_to is not None:
            clauses.append("CreatedTime le @created_to")
            parameters["created_to"] = created_to
        if statuses:
            names = []
            for index, status in enumerate(statuses):
                parameters[f"s{index}"] = status
                names.append(f"RuntimeStatus eq @s{index}")
            clauses.append("( " + " or ".join(names) + " )")
        if clauses:
            entities = self._instances.query_entities(" and ".join(clauses), parameters=parameters)
        else:
            entities = self._instances.list_entities()
        records = [self._to_record(dict(e)) for e in entities]
        return [r for r in records if matches(r, created_from, created_to, statuses, prefix)]

    def delete_instance(self, instance_id: str) -> bool:
        from azure.core.exceptions import ResourceNotFoundError

        existed = self.get_instance(instance_id) is not None
        keys = [e["RowKey"] for e in self._partition(instance_id, select=["RowKey"])]
        self._submit(instance_id, [("delete", {"PartitionKey": instance_id, "RowKey": k}) for k in keys])
        try:
            self._instances.delete_entity(partition_key=instance_id, row_key="")
        except ResourceNotFoundError:
            pass
        self._delete_blobs(instance_id)
        return existed

    # -- history and inbox -----------------------------------------------------------------------------

    def _partition(self, instance_id: str, select: list[str] | None = None) -> list[dict[str, Any]]:
        return [
            dict(e)
            for e in self._history.query_entities(
                "PartitionKey eq @pk", parameters={"pk": instance_id}, select=select
            )
        ]

    def _submit(self, instance_id: str, operations: list[tuple[str, dict[str, Any]]]) -> None:
        """Entity-group transactions of at most 100 operations (and a few MB) each, in order."""
        from azure.data.tables import UpdateMode

        batch: list[Any] = []
        size = 0
        for kind, entity in operations:
            weight = sum(len(str(v)) for v in entity.values())
            if batch and (len(batch) >= MAX_BATCH_OPS or size + weight > MAX_BATCH_CHARS):
                self._commit(batch)
                batch, size = [], 0
            if kind == "upsert":
                batch.append(("upsert", entity, {"mode": UpdateMode.REPLACE}))
            else:
                batch.append(("delete", entity))
            size += weight
        if batch:
            self._commit(batch)

    def _commit(self, batch: list[Any]) -> None:
        """One transaction. A delete of a row that is already gone is dropped and the rest resubmitted:
        the engine retries a write whose answer was lost, and the first try may have committed."""
        from azure.data.tables import TableTransactionError

        while batch:
            try:
                self._history.submit_transaction(batch)
                return
            except TableTransactionError as exc:
                failed = batch[exc.index] if 0 <= exc.index < len(batch) else None
                if getattr(exc, "error_code", None) != "ResourceNotFound" or failed is None or failed[0] != "delete":
                    raise
                batch = batch[: exc.index] + batch[exc.index + 1 :]

    def load_history(self, instance_id: str) -> list[dict[str, Any]]:
        rows = [r for r in self._partition(instance_id) if not r["RowKey"].startswith("~")]
        if not rows:
            return []
        rows.sort(key=lambda r: r["RowKey"])
        # After continue-as-new, rows are overwritten from 0 upward; leftovers of the old execution
        # (a crash before their deletion) carry another ExecutionId and are ignored.
        execution_id = rows[0].get("ExecutionId")
        events = []
        for row in rows:
            if row.get("ExecutionId") != execution_id:
                break
            text = self._get_text(row, "Event")
            if text is not None:
                events.append(json.loads(text))
        return events

    def write_history(
        self, instance_id: str, execution_id: str, start_index: int, events: Sequence[dict[str, Any]],
        *, consumed: Sequence[str] = (), truncate: bool = False, add: Sequence[dict[str, Any]] = (),
    ) -> list[str]:
        """Append ``events`` at ``start_index``, delete ``consumed`` messages and queue ``add`` ones.

        One entity-group transaction when it fits (100 operations), else several in order: history
        first, so a crash leaves at worst consumed messages behind, which the engine de-duplicates.
        """
        operations: list[tuple[str, dict[str, Any]]] = []
        for offset, event in enumerate(events):
            index = start_index + offset
            row_key = f"{index:016X}"
            entity: dict[str, Any] = {
                "PartitionKey": instance_id,
                "RowKey": row_key,
                "ExecutionId": execution_id,
                "EventType": int(event["EventType"]),
            }
            text = json.dumps(stored(event), separators=(",", ":"))
            self._put_text(entity, "Event", text, f"{instance_id}/{execution_id}/history-{row_key}")
            operations.append(("upsert", entity))
        keys = []
        for message in add:
            key = message_key()
            entity = {"PartitionKey": instance_id, "RowKey": key}
            self._put_text(entity, "Message", json.dumps(stored(message)), f"{instance_id}/inbox-{key[1:]}")
            operations.append(("upsert", entity))
            keys.append(key)
        operations.extend(("delete", {"PartitionKey": instance_id, "RowKey": key}) for key in consumed)
        if truncate:
            end = start_index + len(events)
            stale = [
                r["RowKey"] for r in self._partition(instance_id, select=["RowKey"])
                if not r["RowKey"].startswith("~") and int(r["RowKey"], 16) >= end
            ]
            # New rows first, then the old execution's leftovers (see load_history).
            self._submit(instance_id, operations)
            operations = [("delete", {"PartitionKey": instance_id, "RowKey": k}) for k in stale]
        self._submit(instance_id, operations)
        return keys

    def add_message(self, instance_id: str, message: dict[str, Any]) -> str:
        key = message_key()
        entity: dict[str, Any] = {"PartitionKey": instance_id, "RowKey": key}
        self._put_text(entity, "Message", json.dumps(stored(message)), f"{instance_id}/inbox-{key[1:]}")
        self._history.create_entity(entity)
        return key

    def load_messages(self, instance_id: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._history.query_entities(
            "PartitionKey eq @pk and RowKey ge @lo", parameters={"pk": instance_id, "lo": "~"}
        )
        found = []
        for row in sorted((dict(r) for r in rows), key=lambda r: r["RowKey"]):
            text = self._get_text(row, "Message")
            if text is not None:
                found.append((row["RowKey"], json.loads(text)))
        return found

    def delete_messages(self, instance_id: str, keys: Iterable[str]) -> None:
        self._submit(instance_id, [("delete", {"PartitionKey": instance_id, "RowKey": k}) for k in keys])

    def close(self) -> None:
        self._service.close()
        self._blobs.close()
