"""2025-05-15-preview deployment-resource operations, kept as bookkeeping.

Azure uses them to replicate a project's deployments to other Language resources (other regions). A
self-hosted service has one place that serves, so these operations only keep the records Microsoft's
clients read back, with Azure's documented meaning:

- ``resources/:assign`` records resources (id, custom domain, region) as assigned to the project; a
  deployment may then name them in ``assignedResourceIds``.
- ``resources/:unassign`` removes them from the project *and* from every deployment assigned to them
  ("disallows deploying new deployments to these resources, and deletes existing deployments assigned to
  them"); the deployments themselves keep serving here.
- ``deployments/{d}/:delete-from-resources`` removes the deployment from the given resources, or from all
  of them when no ids are given; the deployment keeps serving here.
- ``global/deployments/resources`` lists, per project, the deployments that are assigned to any resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.config import Settings
from shared.errors import ErrorDetail, InvalidArgument, InvalidRequest, invalid_with_details
from shared.models import format_datetime
from shared.service.deployments import check_deployment_exists
from shared.storage.deployment_resources import ProjectResource, ResourceStore, resource_key
from shared.storage.deployments import DeploymentRecord, DeploymentStore
from shared.storage.projects import ProjectStore

MAX_RESOURCES_PER_REQUEST = 50


@dataclass(frozen=True)
class ResourceMetadata:
    """One ``resourcesMetadata`` item of an assign request."""

    azure_resource_id: str
    custom_domain: str
    region: str


def parse_assign_body(body: Any) -> list[ResourceMetadata]:
    """Validate ``{"resourcesMetadata": [{azureResourceId, customDomain, region}]}`` (all required).

    Raises:
        InvalidRequest / InvalidArgument: naming the item and field.
    """
    if not isinstance(body, dict):
        raise InvalidRequest(message="The request body must be a JSON object: {\"resourcesMetadata\": [...]}.")
    items = body.get("resourcesMetadata")
    if not isinstance(items, list) or not items or len(items) > MAX_RESOURCES_PER_REQUEST:
        raise InvalidArgument(
            message=f"'resourcesMetadata' must list 1 to {MAX_RESOURCES_PER_REQUEST} resources.",
            target="resourcesMetadata",
        )
    parsed: list[ResourceMetadata] = []
    problems: list[ErrorDetail] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(ErrorDetail("InvalidParameterValue", "must be an object", f"resourcesMetadata[{index}]"))
            continue
        values = {}
        for key in ("azureResourceId", "customDomain", "region"):
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                problems.append(
                    ErrorDetail("InvalidParameterValue", f"'{key}' is required", f"resourcesMetadata[{index}].{key}")
                )
            values[key] = value.strip() if isinstance(value, str) else ""
        parsed.append(ResourceMetadata(values["azureResourceId"], values["customDomain"], values["region"]))
    if problems:
        raise invalid_with_details(
            f"{len(problems)} problem(s) in 'resourcesMetadata'.", problems[:20], "resourcesMetadata"
        )
    return parsed


def parse_unassign_body(body: Any) -> list[str]:
    """Validate ``{"assignedResourceIds": [..]}`` (required, non-empty).

    Raises:
        InvalidRequest / InvalidArgument: naming ``assignedResourceIds``.
    """
    if not isinstance(body, dict):
        raise InvalidRequest(message="The request body must be a JSON object: {\"assignedResourceIds\": [...]}.")
    ids = body.get("assignedResourceIds")
    if (
        not isinstance(ids, list)
        or not ids
        or len(ids) > MAX_RESOURCES_PER_REQUEST
        or not all(isinstance(item, str) and item.strip() for item in ids)
    ):
        raise InvalidArgument(
            message=f"'assignedResourceIds' must list 1 to {MAX_RESOURCES_PER_REQUEST} resource ids.",
            target="assignedResourceIds",
        )
    return list(dict.fromkeys(item.strip() for item in ids))


def check_assign(settings: Settings, project_name: str, body: Any) -> list[ResourceMetadata]:
    """Validate an assign request before its job starts. Raises ProjectNotFound / InvalidArgument."""
    ProjectStore(settings).get(project_name)
    return parse_assign_body(body)


def assign_resources(settings: Settings, project_name: str, items: list[ResourceMetadata]) -> None:
    """Record the resources as assigned to the project (re-assigning updates domain and region)."""
    store = ResourceStore(settings)
    for item in items:
        store.upsert(ProjectResource(project_name, item.azure_resource_id, item.custom_domain, item.region))


def check_unassign(settings: Settings, project_name: str, body: Any) -> list[str]:
    """Validate an unassign request: every id must be assigned to the project.

    Raises:
        ProjectNotFound; InvalidArgument naming each id that is not assigned.
    """
    ProjectStore(settings).get(project_name)
    ids = parse_unassign_body(body)
    store = ResourceStore(settings)
    missing = [ErrorDetail("InvalidParameterValue", rid[:300], "assignedResourceIds") for rid in ids
               if store.find(project_name, rid) is None]
    if missing:
        raise invalid_with_details(
            f"{len(missing)} resource id(s) in 'assignedResourceIds' are not assigned to project '{project_name}'.",
            missing,
            "assignedResourceIds",
        )
    return ids


def _drop(record: DeploymentRecord, keys: set[str] | None) -> None:
    record.assigned_resources = [
        r for r in record.assigned_resources if keys is not None and resource_key(r.resource_id) not in keys
    ]


def unassign_resources(settings: Settings, project_name: str, ids: list[str]) -> None:
    """Unassign the resources from the project and from every deployment assigned to them."""
    keys = {resource_key(rid) for rid in ids}
    deployments = DeploymentStore(settings)
    for record in deployments.list(project_name):
        if any(resource_key(r.resource_id) in keys for r in record.assigned_resources):
            deployments.modify(project_name, record.deployment_name, lambda d: _drop(d, keys))
    store = ResourceStore(settings)
    for rid in ids:
        store.delete(project_name, rid)


def list_resources(settings: Settings, project_name: str) -> list[dict[str, Any]]:
    """``GET .../resources`` items. Raises ProjectNotFound."""
    ProjectStore(settings).get(project_name)
    return [resource.to_public() for resource in ResourceStore(settings).list(project_name)]


def check_delete_from_resources(
    settings: Settings, project_name: str, deployment_name: str, ids: tuple[str, ...]
) -> None:
    """Validate ``:delete-from-resources``: the deployment exists and is assigned to every given id.

    Raises:
        ProjectNotFound, NotFound (deployment), InvalidArgument naming each id it is not assigned to.
    """
    record = check_deployment_exists(settings, project_name, deployment_name)
    assigned = {resource_key(r.resource_id) for r in record.assigned_resources}
    missing = [ErrorDetail("InvalidParameterValue", rid[:300], "assignedResourceIds") for rid in ids
               if resource_key(rid) not in assigned]
    if missing:
        raise invalid_with_details(
            f"Deployment '{deployment_name}' is not assigned to {len(missing)} of the given resource id(s).",
            missing,
            "assignedResourceIds",
        )


def delete_from_resources(settings: Settings, project_name: str, deployment_name: str, ids: tuple[str, ...]) -> None:
    """Remove the deployment from the given resources (all of them when ``ids`` is empty)."""
    keys = {resource_key(rid) for rid in ids} if ids else None
    DeploymentStore(settings).modify(project_name, deployment_name, lambda d: _drop(d, keys))


def assigned_resource_deployments(settings: Settings) -> list[dict[str, Any]]:
    """``global/deployments/resources`` items: per project, its deployments assigned to any resource."""
    by_project: dict[str, list[dict[str, Any]]] = {}
    for record in DeploymentStore(settings).list_all():
        if record.assigned_resources:
            by_project.setdefault(record.project_name, []).append(
                {
                    "deploymentName": record.deployment_name,
                    "lastDeployedDateTime": format_datetime(record.last_deployed),
                    "deploymentExpirationDate": record.expiration_date.isoformat(),
                }
            )
    return [{"projectName": name, "deploymentsMetadata": items} for name, items in sorted(by_project.items())]
