"""Project rows and the per-project training slot.

Table ``settings.projects_table``: PartitionKey ``"project"`` (one partition, so listing is one ordered
scan), RowKey = project name. The row also holds the *training slot*: ``runningJobId`` (the job that
may train) and ``slotClaimed`` (when it was claimed). The slot is written only by
:meth:`ProjectStore.claim_training_slot` / :meth:`ProjectStore.release_training_slot`, always with an
ETag condition, which makes "one running training job per project" atomic across processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableEntity

from shared.config import Settings
from shared.errors import Conflict, ErrorDetail, ProjectNotFound
from shared.models import PROJECT_KIND, ProjectRecord, utc_now
from shared.storage._entities import (
    LostRace,
    check_key,
    check_string,
    etag_from_response,
    etag_of,
    from_json_property,
    from_property_datetime,
    read_entity,
    replace_if_unchanged,
    retry_lost_races,
    to_json_property,
    to_property_datetime,
)
from shared.storage.clients import storage_call, table_client

logger = logging.getLogger(__name__)

PROJECT_PARTITION = "project"
HolderIsActive = Callable[[str, datetime | None, datetime], bool]
"""``(holder job id, when it claimed the slot, now) -> True`` while the holder may keep the slot. The
rule is the job lifecycle's (:func:`shared.jobs.lifecycle.holds_slot`); this module only does the writes."""


def project_not_found(name: str) -> ProjectNotFound:
    """Azure's ``ProjectNotFound`` error for ``name``."""
    return ProjectNotFound(
        message=f"The specified project was not found: '{name}'.",
        target="projectName",
        details=[ErrorDetail(code="ProjectNotFound", message=name, target="projectName")],
    )


def _to_entity(record: ProjectRecord, *, slot_claimed: datetime | None) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": PROJECT_PARTITION,
        "RowKey": check_key(record.project_name, "projectName"),
        "storageInputContainerName": check_string(
            record.storage_input_container_name, "storageInputContainerName"
        ),
        "language": check_string(record.language, "language"),
        "created": to_property_datetime(record.created),
        "lastModified": to_property_datetime(record.last_modified),
        "projectKind": record.project_kind,
        "multilingual": bool(record.multilingual),
        "description": check_string(record.description, "description"),
        "settings": to_json_property(record.settings or {}, "settings"),
        "lastTrained": to_property_datetime(record.last_trained),
        "lastDeployed": to_property_datetime(record.last_deployed),
        "assetsBlob": record.assets_blob,
        "testDocumentCount": record.test_document_count,
        "documentCount": record.document_count,
        "runningJobId": record.running_job_id,
        "slotClaimed": to_property_datetime(slot_claimed) if record.running_job_id else None,
    }
    # Table rows have no nulls: an absent property is None when read back.
    return {key: value for key, value in entity.items() if value is not None}


def _from_entity(entity: TableEntity) -> ProjectRecord:
    created = from_property_datetime(entity.get("created"))
    last_modified = from_property_datetime(entity.get("lastModified"))
    assert created is not None and last_modified is not None, "project rows always carry created/lastModified"
    return ProjectRecord(
        project_name=str(entity["RowKey"]),
        storage_input_container_name=str(entity.get("storageInputContainerName", "")),
        language=str(entity.get("language", "")),
        created=created,
        last_modified=last_modified,
        project_kind=str(entity.get("projectKind", PROJECT_KIND)),
        multilingual=bool(entity.get("multilingual", False)),
        description=entity.get("description"),
        settings=from_json_property(entity.get("settings"), {}),
        last_trained=from_property_datetime(entity.get("lastTrained")),
        last_deployed=from_property_datetime(entity.get("lastDeployed")),
        assets_blob=entity.get("assetsBlob"),
        test_document_count=entity.get("testDocumentCount"),
        document_count=entity.get("documentCount"),
        running_job_id=entity.get("runningJobId"),
        etag=etag_of(entity),
    )


class ProjectStore:
    """Project metadata rows (``ProjectRecord``) and the training slot."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._table_name = settings.projects_table

    @property
    def _client(self) -> TableClient:
        return table_client(self._settings.storage_connection, self._table_name)

    def _read(self, name: str) -> TableEntity | None:
        return read_entity(
            self._client, PROJECT_PARTITION, name, f"read project '{name}' from table {self._table_name}"
        )

    def get(self, name: str) -> ProjectRecord:
        """The project's row.

        Raises:
            ProjectNotFound: no project has this name.
            StorageError: storage failed.
        """
        entity = self._read(name)
        if entity is None:
            raise project_not_found(name)
        return _from_entity(entity)

    def exists(self, name: str) -> bool:
        """Whether a project with this name exists."""
        return self._read(name) is not None

    def upsert(self, record: ProjectRecord) -> ProjectRecord:
        """Create the project or replace its metadata.

        The training slot is not part of the metadata: the stored ``running_job_id`` is kept whatever
        ``record.running_job_id`` says (only the slot methods change it), so a project update or
        import during training can never free the slot. The write is ETag-conditional against the
        row it read, retried if another writer got in between.

        Returns:
            The stored record with its new ``etag`` and the current ``running_job_id``.

        Raises:
            InvalidArgument: a field cannot be stored (bad name characters, too long).
            StorageError: storage failed.
        """
        what = f"project '{record.project_name}' in table {self._table_name}"
        check_key(record.project_name, "projectName")
        def attempt() -> ProjectRecord:
            current = self._read(record.project_name)
            if current is None:
                record.running_job_id = None
                entity = _to_entity(record, slot_claimed=None)
                try:
                    with storage_call(f"create {what}"):
                        response = self._client.create_entity(entity=entity)
                except ResourceExistsError:
                    raise LostRace from None  # created concurrently: replace it on the next round
                record.etag = etag_from_response(response)
                return record
            record.running_job_id = current.get("runningJobId")
            entity = _to_entity(record, slot_claimed=from_property_datetime(current.get("slotClaimed")))
            try:
                record.etag = replace_if_unchanged(self._client, entity, etag_of(current) or "*", f"replace {what}")
            except ResourceNotFoundError:
                raise LostRace from None  # deleted meanwhile: create it on the next round
            return record

        return retry_lost_races(f"upsert {what}", attempt)

    def modify(self, name: str, change: Callable[[ProjectRecord], None]) -> ProjectRecord:
        """Read the project, apply ``change`` and write it back (ETag-conditional, retried on a lost race).

        ``change`` must not touch ``running_job_id`` (use the slot methods); a change to it is ignored.

        Raises:
            ProjectNotFound: no project has this name.
            StorageError: storage failed.
        """
        what = f"project '{name}' in table {self._table_name}"
        def attempt() -> ProjectRecord:
            current = self._read(name)
            if current is None:
                raise project_not_found(name)
            record = _from_entity(current)
            change(record)
            record.project_name = name
            record.running_job_id = current.get("runningJobId")
            entity = _to_entity(record, slot_claimed=from_property_datetime(current.get("slotClaimed")))
            try:
                record.etag = replace_if_unchanged(self._client, entity, record.etag or "*", f"update {what}")
            except ResourceNotFoundError:
                raise project_not_found(name) from None
            return record

        return retry_lost_races(f"update {what}", attempt)

    def list(self, *, top: int | None = None, skip: int = 0) -> list[ProjectRecord]:
        """Projects ordered by name, ``skip`` rows skipped and at most ``top`` returned.

        Raises:
            StorageError: storage failed.
        """
        if top is not None and top <= 0:
            return []
        result: list[ProjectRecord] = []
        seen = 0
        with storage_call(f"list projects in table {self._table_name}"):
            pager = self._client.query_entities(
                query_filter="PartitionKey eq @pk", parameters={"pk": PROJECT_PARTITION}
            )
            for entity in pager:
                seen += 1
                if seen <= skip:
                    continue
                result.append(_from_entity(entity))
                if top is not None and len(result) >= top:
                    break
        return result

    def delete(self, name: str) -> None:
        """Delete the project's row; deleting a missing project is not an error (retries are safe).

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"delete project '{name}' from table {self._table_name}"):
            self._client.delete_entity(partition_key=PROJECT_PARTITION, row_key=name)

    def claim_training_slot(
        self, name: str, job_id: str, *, holder_is_active: HolderIsActive, now: datetime | None = None
    ) -> None:
        """Make ``job_id`` the project's one running training job.

        A slot whose holder is still active (``holder_is_active``) is a conflict; otherwise it is
        stale and taken over, so a crash that never released the slot heals itself. The write is ETag-conditional: when two
        callers race, exactly one write succeeds and the other re-reads and decides again.
        Claiming a slot the same job already holds succeeds (retries are safe).

        Args:
            name: project name.
            job_id: the claiming job.
            holder_is_active: whether the current holder keeps the slot (the lifecycle's rule).
            now: the current time (tests); defaults to :func:`shared.models.utc_now`.

        Raises:
            ProjectNotFound: the project does not exist.
            Conflict: another active job holds the slot (the message names it).
            StorageError: storage failed.
        """
        what = f"training slot of project '{name}' in table {self._table_name}"
        def attempt() -> None:
            current_time = now or utc_now()
            entity = self._read(name)
            if entity is None:
                raise project_not_found(name)
            holder = entity.get("runningJobId")
            if holder == job_id:
                return
            if holder:
                claimed = from_property_datetime(entity.get("slotClaimed"))
                if holder_is_active(holder, claimed, current_time):
                    raise Conflict(
                        message=(
                            f"Training job '{holder}' is already running for project '{name}'. Wait for it "
                            "to finish or cancel it before starting another training job."
                        ),
                        target="jobId",
                        details=[ErrorDetail(code="Conflict", message=holder, target="jobId")],
                    )
                logger.info(
                    "project %s: taking over stale training slot of job %s for job %s", name, holder, job_id
                )
            updated = dict(entity)
            updated["runningJobId"] = job_id
            updated["slotClaimed"] = to_property_datetime(current_time)
            try:
                replace_if_unchanged(self._client, updated, etag_of(entity) or "*", f"claim {what}")
            except ResourceNotFoundError:
                raise project_not_found(name) from None

        retry_lost_races(f"claim {what}", attempt)

    def release_training_slot(self, name: str, job_id: str) -> None:
        """Free the slot if ``job_id`` holds it; otherwise (or if the project is gone) do nothing.

        Raises:
            StorageError: storage failed.
        """
        what = f"training slot of project '{name}' in table {self._table_name}"
        def attempt() -> None:
            entity = self._read(name)
            if entity is None or entity.get("runningJobId") != job_id:
                return
            updated = {k: v for k, v in entity.items() if k not in ("runningJobId", "slotClaimed")}
            try:
                replace_if_unchanged(self._client, updated, etag_of(entity) or "*", f"release {what}")
            except ResourceNotFoundError:
                return

        retry_lost_races(f"release {what}", attempt)
