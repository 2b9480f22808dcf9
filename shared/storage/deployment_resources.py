"""Azure resources assigned to a project for deployments (2025-05-15-preview ``resources/:assign``).

Table ``<prefix>Resources``: PartitionKey = project name, RowKey = a hash of the lower-cased resource id
(Azure resource ids contain ``/``, which Table keys forbid, and are case-insensitive). A self-hosted
service has no other Azure resources to replicate to: these rows are bookkeeping, so that deployments
can name the resources they are "assigned" to and Microsoft's clients see consistent answers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from azure.data.tables import TableEntity

from shared.config import Settings
from shared.errors import NotFound
from shared.storage._entities import check_key, check_string
from shared.storage._project_rows import ProjectRows


def resources_table(settings: Settings) -> str:
    return f"{settings.table_prefix}Resources"


def resource_key(resource_id: str) -> str:
    """The RowKey of a resource id (case-insensitive, as Azure resource ids are)."""
    return hashlib.sha256(resource_id.strip().lower().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ProjectResource:
    """One assigned resource (``ResourceMetadata``): id, custom domain and region."""

    project_name: str
    resource_id: str
    custom_domain: str
    region: str

    def to_public(self) -> dict[str, Any]:
        """``AssignedDeploymentResource`` as ``GET .../resources`` lists it."""
        return {"azureResourceId": self.resource_id, "region": self.region}


def _not_assigned(project: str, resource_id: str) -> NotFound:
    return NotFound(
        message=f"The resource '{resource_id[:300]}' is not assigned to project '{project}'.",
        target="assignedResourceIds",
    )


def _to_entity(record: ProjectResource) -> dict[str, Any]:
    return {
        "PartitionKey": check_key(record.project_name, "projectName"),
        "RowKey": resource_key(record.resource_id),
        "resourceId": check_string(record.resource_id, "azureResourceId"),
        "customDomain": check_string(record.custom_domain, "customDomain"),
        "region": check_string(record.region, "region"),
    }


def _from_entity(entity: TableEntity) -> ProjectResource:
    return ProjectResource(
        project_name=str(entity["PartitionKey"]),
        resource_id=str(entity.get("resourceId", "")),
        custom_domain=str(entity.get("customDomain", "")),
        region=str(entity.get("region", "")),
    )


class ResourceStore(ProjectRows[ProjectResource]):
    """Rows of the resources assigned to each project, addressed by resource id."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            settings,
            resources_table(settings),
            noun="assigned resource",
            to_entity=_to_entity,
            from_entity=_from_entity,
            not_found=_not_assigned,
            sort_key=lambda record: record.resource_id.lower(),
            row_key=resource_key,
        )
