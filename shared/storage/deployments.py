"""Deployment rows: table ``<prefix>Deployments``, PartitionKey = project name, RowKey = deployment name.

A row exists only for a deployment that can serve: the deployment job writes it after the model has
loaded, so a replaced deployment keeps serving its old model until the new one is ready. The row pins
one model *version* (the immutable per-training-job blob of the model), never the label, so retraining
the label does not change what the deployment serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import (
    TableEntity,
    TableTransactionError,
    TransactionOperation,
    UpdateMode,
)

from shared.config import Settings
from shared.errors import Conflict, ErrorDetail, NotFound
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
from shared.storage.clients import storage_call


def deployments_table(settings: Settings) -> str:
    return f"{settings.table_prefix}Deployments"


@dataclass(frozen=True)
class AssignedResource:
    """An Azure resource a deployment is assigned to (2025-05-15-preview ``DeploymentResource``)."""

    resource_id: str
    region: str

    def to_public(self) -> dict[str, Any]:
        return {"resourceId": self.resource_id, "region": self.region}


@dataclass
class DeploymentRecord:
    """A deployment serving one pinned model version."""

    project_name: str
    deployment_name: str
    model_label: str
    """``trainedModelLabel`` the deployment was made from (the label may have been retrained since)."""
    model_id: str
    """``modelId`` of the pinned version (unique per training job)."""
    model_job_id: str
    """The training job that produced the pinned version."""
    model_blob: str
    """Blob of the pinned version's spaCy pipeline bytes (immutable: one folder per training job)."""
    last_trained: datetime
    last_deployed: datetime
    training_config_version: str
    expiration_date: date
    assigned_resources: list[AssignedResource] = field(default_factory=list)
    deploy_job_id: str | None = None
    """The job that last deployed (or swapped) this deployment."""
    etag: str | None = None

    def to_public(self, *, include_resources: bool = True) -> dict[str, Any]:
        """Azure's ``ProjectDeployment``; ``assignedResources`` exists from 2025-05-15-preview on."""
        body: dict[str, Any] = {
            "deploymentName": self.deployment_name,
            "modelId": self.model_id,
            "lastTrainedDateTime": format_datetime(self.last_trained),
            "lastDeployedDateTime": format_datetime(self.last_deployed),
            "deploymentExpirationDate": self.expiration_date.isoformat(),
            "modelTrainingConfigVersion": self.training_config_version,
        }
        if include_resources:
            body["assignedResources"] = [resource.to_public() for resource in self.assigned_resources]
        return body


def deployment_not_found(project: str, deployment: str) -> NotFound:
    """``NotFound`` naming the deployment the project does not have."""
    return NotFound(
        message=f"The deployment '{deployment}' was not found in project '{project}'.",
        target="deploymentName",
        details=[ErrorDetail(code="NotFound", message=deployment, target="deploymentName")],
    )


def _to_entity(record: DeploymentRecord) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "PartitionKey": check_key(record.project_name, "projectName"),
        "RowKey": check_key(record.deployment_name, "deploymentName"),
        "modelLabel": record.model_label,
        "modelId": record.model_id,
        "modelJobId": record.model_job_id,
        "modelBlob": record.model_blob,
        "lastTrained": to_property_datetime(record.last_trained),
        "lastDeployed": to_property_datetime(record.last_deployed),
        "trainingConfigVersion": record.training_config_version,
        "expirationDate": record.expiration_date.isoformat(),
        "assignedResources": to_json_property(
            [resource.to_public() for resource in record.assigned_resources], "assignedResources"
        ),
        "deployJobId": record.deploy_job_id,
    }
    return {key: value for key, value in entity.items() if value is not None}


def _from_entity(entity: TableEntity) -> DeploymentRecord:
    last_trained = from_property_datetime(entity.get("lastTrained"))
    last_deployed = from_property_datetime(entity.get("lastDeployed"))
    assert last_trained is not None and last_deployed is not None, "deployment rows carry both times"
    resources: list[dict[str, Any]] = from_json_property(entity.get("assignedResources"), [])
    return DeploymentRecord(
        project_name=str(entity["PartitionKey"]),
        deployment_name=str(entity["RowKey"]),
        model_label=str(entity.get("modelLabel", "")),
        model_id=str(entity.get("modelId", "")),
        model_job_id=str(entity.get("modelJobId", "")),
        model_blob=str(entity.get("modelBlob", "")),
        last_trained=last_trained,
        last_deployed=last_deployed,
        training_config_version=str(entity.get("trainingConfigVersion", "")),
        expiration_date=date.fromisoformat(str(entity["expirationDate"])),
        assigned_resources=[AssignedResource(str(r["resourceId"]), str(r["region"])) for r in resources],
        deploy_job_id=entity.get("deployJobId"),
        etag=etag_of(entity),
    )


class DeploymentStore(ProjectRows[DeploymentRecord]):
    """Deployment rows (``DeploymentRecord``), ordered by deployment name."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            deployments_table(settings),
            noun="deployment",
            to_entity=_to_entity,
            from_entity=_from_entity,
            not_found=deployment_not_found,
            sort_key=lambda record: record.deployment_name,
        )

    def replace_both(self, first: DeploymentRecord, second: DeploymentRecord) -> None:
        """Write two rows of one project in one transaction, each only if unchanged since read.

        Raises:
            Conflict: either row changed (or disappeared) since it was read; nothing was written.
            StorageError: storage failed.
        """
        if first.project_name != second.project_name:
            raise ValueError("a transaction spans one partition (project)")
        operations: list[tuple[TransactionOperation, dict[str, Any], dict[str, Any]]] = [
            (
                TransactionOperation.UPDATE,
                _to_entity(record),
                {"mode": UpdateMode.REPLACE, "etag": record.etag, "match_condition": MatchConditions.IfNotModified},
            )
            for record in (first, second)
        ]
        with storage_call(f"swap deployments of project '{first.project_name}' in table {self._table_name}"):
            try:
                self._client.submit_transaction(operations)  # type: ignore[arg-type]
            except TableTransactionError as exc:
                if exc.status_code not in (404, 412):
                    raise
                raise Conflict(
                    message=(
                        f"Deployments '{first.deployment_name}' and '{second.deployment_name}' changed while "
                        "being swapped; retry the swap."
                    ),
                    target="deploymentName",
                ) from exc
