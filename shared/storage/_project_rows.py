"""The common shape of a per-project table: PartitionKey = project name, one row per named thing.

Subclasses say how a record becomes an entity and back, what the row is called in messages and which
error a missing row is; reads, listing, replace-writes, ETag-checked modification and deletes live here.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from azure.data.tables import TableClient, TableEntity, UpdateMode

from shared.config import Settings
from shared.storage._entities import etag_from_response, modify_entity, read_entity
from shared.storage.clients import storage_call, table_client

R = TypeVar("R")


class ProjectRows(Generic[R]):
    """Rows of ``table_name`` partitioned by project."""

    def __init__(
        self,
        settings: Settings,
        table_name: str,
        *,
        noun: str,
        to_entity: Callable[[R], dict[str, Any]],
        from_entity: Callable[[TableEntity], R],
        not_found: Callable[[str, str], Exception],
        sort_key: Callable[[R], Any],
        row_key: Callable[[str], str] = lambda name: name,
    ) -> None:
        """
        Args:
            noun: what a row is, for storage error messages (e.g. ``"deployment"``).
            to_entity / from_entity: the record's Table entity and back.
            not_found: the error for a missing row, from ``(project, name)``.
            sort_key: the order of listed records within a project.
            row_key: the RowKey of a name (the name itself unless keys must be encoded).
        """
        self._settings = settings
        self._table_name = table_name
        self.noun = noun
        self._to_entity = to_entity
        self._from_entity = from_entity
        self._not_found = not_found
        self._sort_key = sort_key
        self._row_key = row_key

    @property
    def _client(self) -> TableClient:
        return table_client(self._settings.storage_connection, self._table_name)

    def _what(self, project: str, name: str = "") -> str:
        subject = f"{self.noun} '{name}'" if name else f"{self.noun} rows"
        return f"{subject} of project '{project}' in table {self._table_name}"

    def find(self, project: str, name: str) -> R | None:
        """The row's record, or None.

        Raises:
            StorageError: storage failed.
        """
        entity = read_entity(self._client, project, self._row_key(name), f"read {self._what(project, name)}")
        return None if entity is None else self._from_entity(entity)

    def get(self, project: str, name: str) -> R:
        """The row's record.

        Raises:
            NotFound (or the subclass's error) naming the row; StorageError.
        """
        record = self.find(project, name)
        if record is None:
            raise self._not_found(project, name)
        return record

    def list(self, project: str) -> builtins.list[R]:
        """The project's records in the subclass's order.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"list {self._what(project)}"):
            entities = builtins.list(
                self._client.query_entities(query_filter="PartitionKey eq @pk", parameters={"pk": project})
            )
        return sorted((self._from_entity(entity) for entity in entities), key=self._sort_key)

    def list_all(self) -> builtins.list[R]:
        """Every project's records, by project then the subclass's order.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"list all {self.noun} rows in table {self._table_name}"):
            entities = builtins.list(self._client.list_entities())
        return sorted(
            (self._from_entity(entity) for entity in entities),
            key=lambda record: (getattr(record, "project_name", ""), self._sort_key(record)),
        )

    def upsert(self, record: R) -> R:
        """Create or replace the row; the record gets its new ``etag`` when it has one.

        Raises:
            InvalidArgument: a value cannot be stored.
            StorageError: storage failed.
        """
        entity = self._to_entity(record)
        with storage_call(f"write {self._what(str(entity['PartitionKey']), str(entity['RowKey']))}"):
            response = self._client.upsert_entity(entity=entity, mode=UpdateMode.REPLACE)
        if hasattr(record, "etag"):
            record.etag = etag_from_response(response)
        return record

    def modify(self, project: str, name: str, change: Callable[[R], None]) -> R:
        """Apply ``change`` and write back only if nobody wrote in between (retried on a lost race).

        Raises:
            The subclass's not-found error; StorageError when storage failed or the row kept changing.
        """
        result: R = modify_entity(
            self._client,
            project,
            self._row_key(name),
            load=self._from_entity,
            dump=self._to_entity,
            change=change,
            not_found=lambda: self._not_found(project, name),
            what=self._what(project, name),
        )
        return result

    def delete(self, project: str, name: str) -> None:
        """Delete the row; a missing row is not an error.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"delete {self._what(project, name)}"):
            self._client.delete_entity(partition_key=project, row_key=self._row_key(name))
