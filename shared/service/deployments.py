"""Deployment use cases: deploy (create or replace), delete, swap, resolve, and the rules behind them.

Rules (Azure's where it has one; our choice, documented, where it does not):

- At most :data:`MAX_DEPLOYMENTS_PER_PROJECT` deployments per project (Azure's paid-tier limit).
  Replacing an existing deployment does not count against it. 409 ``Conflict`` naming the deployments.
- Only a successfully trained model can be deployed: the label must name a registered model (only
  successful training jobs register one). 400 naming ``trainedModelLabel`` otherwise.
- A deployment pins one model *version*: the request resolves the label to the model's current
  ``modelId`` and its per-training-job blob (``models/{project}/{label}/{jobId}/model.bin``, written once
  and never overwritten), and the deployment row stores that. Retraining the label writes a new folder, so
  a live deployment serves the same version until it is deployed again.
- Deleting a trained model that a deployment was made from is refused (409 naming the deployments):
  delete or redeploy those deployments first. A version folder that no longer backs the label's current
  model nor any deployment is deleted when the last deployment stops pinning it.
- Swap exchanges the two deployments' pinned models (and their ``lastTrainedDateTime`` and config
  version) in one Table transaction; names and assigned resources stay with the deployment name, which
  is what callers address. Both get a new ``lastDeployedDateTime``.
- The deployment row is written by the deployment job once the model has loaded, so ``GET`` answers 404
  until the first deployment is ready, and a replaced deployment serves its previous model until then.
- ``deploymentExpirationDate``: self-hosted deployments do not expire; the required date field reports the
  same far date as the models' ``modelExpirationDate``.

Jobs (202 + ``operation-location``) are the HTTP layer's and the job framework's business: this module
validates requests into small JSON-able plans and applies them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from shared.config import Settings
from shared.errors import (
    Conflict,
    ErrorDetail,
    InvalidArgument,
    InvalidRequest,
    invalid_with_details,
)
from shared.models import NO_EXPIRATION_DATE, format_datetime, parse_datetime, utc_now
from shared.service.model_versions import release_model_version, require_trained_model, version_prefix
from shared.storage._entities import check_key
from shared.storage.deployment_resources import ResourceStore
from shared.storage.deployments import AssignedResource, DeploymentRecord, DeploymentStore
from shared.storage.projects import ProjectStore

MAX_DEPLOYMENTS_PER_PROJECT = 10
DEPLOYMENT_EXPIRATION_DATE = NO_EXPIRATION_DATE
RESERVED_DEPLOYMENT_NAMES = frozenset({"swap"})
"""``deployments/swap/jobs/{id}`` is the swap job route, so a deployment cannot be called ``swap``."""


# ------------------------------------------------------------------------------------------ naming


def check_deployment_name(name: str) -> str:
    """Return ``name`` if it can name a deployment.

    Raises:
        InvalidArgument: naming ``deploymentName``.
    """
    check_key(name, "deploymentName")
    if len(name) > 100 or name.startswith(":") or name.lower() in RESERVED_DEPLOYMENT_NAMES:
        raise InvalidArgument(
            message=f"The deployment name '{name[:120]}' is not allowed: use 1 to 100 characters, not starting "
            f"with ':' and not one of {sorted(RESERVED_DEPLOYMENT_NAMES)}.",
            target="deploymentName",
        )
    return name


# ------------------------------------------------------------------------------------------ requests


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest(message=f"The request body must be a JSON object ({what}), got {type(body).__name__}.")
    return body


def _string_list(value: Any, field_name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise InvalidArgument(
            message=f"'{field_name}' must be a list of non-empty strings (Azure resource ids).", target=field_name
        )
    return [item.strip() for item in value]


@dataclass(frozen=True)
class DeployRequest:
    """A validated deploy body."""

    trained_model_label: object
    """Checked against the project's models by :func:`plan_deployment`."""
    assigned_resource_ids: tuple[str, ...] = ()


def parse_deploy_body(body: Any) -> DeployRequest:
    """Validate ``{"trainedModelLabel", "assignedResourceIds"?}`` (2025-05-15-preview adds the ids).

    The spec's 2025-05-15-preview example sends ``assignedResources: [{resourceId, region}]`` instead of
    ids; both are accepted and mean the same.

    Raises:
        InvalidRequest: the body is not an object.
        InvalidArgument: naming ``trainedModelLabel`` or ``assignedResourceIds``.
    """
    data = _object(body, "the deployment: {\"trainedModelLabel\": \"<label>\"}")
    ids: list[str] = []
    if data.get("assignedResourceIds") is not None:
        ids = _string_list(data["assignedResourceIds"], "assignedResourceIds")
    if data.get("assignedResources") is not None:
        items = data["assignedResources"]
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and isinstance(item.get("resourceId"), str) and item["resourceId"].strip()
            for item in items
        ):
            raise InvalidArgument(
                message="'assignedResources' must be a list of objects with a 'resourceId'.",
                target="assignedResources",
            )
        ids.extend(item["resourceId"].strip() for item in items)
    unique = tuple(dict.fromkeys(ids))
    return DeployRequest(trained_model_label=data.get("trainedModelLabel"), assigned_resource_ids=unique)


def parse_swap_body(body: Any) -> tuple[str, str]:
    """Validate ``{"firstDeploymentName", "secondDeploymentName"}``: both required and different.

    Raises:
        InvalidRequest / InvalidArgument: naming the field.
    """
    data = _object(body, "the swap: {\"firstDeploymentName\", \"secondDeploymentName\"}")
    names = []
    for key in ("firstDeploymentName", "secondDeploymentName"):
        value = data.get(key)
        if not isinstance(value, str) or not value:
            raise InvalidArgument(message=f"'{key}' is required: the name of a deployment to swap.", target=key)
        names.append(value)
    if names[0] == names[1]:
        raise InvalidArgument(
            message=f"'firstDeploymentName' and 'secondDeploymentName' must differ; both are '{names[0]}'.",
            target="secondDeploymentName",
        )
    return names[0], names[1]


def parse_delete_from_resources_body(body: Any) -> tuple[str, ...]:
    """Validate ``{"assignedResourceIds"?}``; empty means every resource the deployment is assigned to.

    Raises:
        InvalidRequest / InvalidArgument: naming ``assignedResourceIds``.
    """
    if body is None:
        return ()
    data = _object(body, "{\"assignedResourceIds\": [...]}")
    if data.get("assignedResourceIds") is None:
        return ()
    return tuple(dict.fromkeys(_string_list(data["assignedResourceIds"], "assignedResourceIds")))


# ------------------------------------------------------------------------------------------ deploy


@dataclass
class DeploymentPlan:
    """What one deploy job does: the version pinned when the request was accepted (JSON-able)."""

    project_name: str
    deployment_name: str
    model_label: str
    model_id: str
    model_job_id: str
    model_blob: str
    last_trained: str
    training_config_version: str
    assigned_resources: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeploymentPlan:
        return cls(**data)


def _check_room(settings: Settings, project_name: str, deployment_name: str) -> None:
    names = [d.deployment_name for d in DeploymentStore(settings).list(project_name)]
    if deployment_name in names or len(names) < MAX_DEPLOYMENTS_PER_PROJECT:
        return
    raise Conflict(
        message=(
            f"Project '{project_name}' already has {len(names)} deployments, the maximum of "
            f"{MAX_DEPLOYMENTS_PER_PROJECT}. Delete one or replace an existing deployment ({', '.join(names)})."
        ),
        target="deploymentName",
    )


def _assigned(settings: Settings, project_name: str, ids: tuple[str, ...]) -> list[AssignedResource]:
    store = ResourceStore(settings)
    found: list[AssignedResource] = []
    missing: list[ErrorDetail] = []
    for resource_id in ids:
        resource = store.find(project_name, resource_id)
        if resource is None:
            missing.append(ErrorDetail("InvalidParameterValue", resource_id[:300], "assignedResourceIds"))
        else:
            found.append(AssignedResource(resource.resource_id, resource.region))
    if missing:
        raise invalid_with_details(
            f"{len(missing)} resource id(s) in 'assignedResourceIds' are not assigned to project "
            f"'{project_name}': assign them with resources/:assign first.",
            missing,
            "assignedResourceIds",
        )
    return found


def plan_deployment(settings: Settings, project_name: str, deployment_name: str, body: Any) -> DeploymentPlan:
    """Validate a deploy request and pin the label's current model version.

    Raises:
        ProjectNotFound: no such project.
        InvalidRequest / InvalidArgument: bad body or name; the label has no successfully trained model;
            an assigned resource id is not assigned to the project.
        Conflict: the project already has the maximum number of deployments.
    """
    ProjectStore(settings).get(project_name)
    check_deployment_name(deployment_name)
    request = parse_deploy_body(body)
    model = require_trained_model(settings, project_name, request.trained_model_label, "deployed")
    _check_room(settings, project_name, deployment_name)
    resources = _assigned(settings, project_name, request.assigned_resource_ids)
    return DeploymentPlan(
        project_name=project_name,
        deployment_name=deployment_name,
        model_label=model.label,
        model_id=model.model_id,
        model_job_id=model.job_id,
        model_blob=model.model_blob,
        last_trained=format_datetime(model.last_trained) or "",
        training_config_version=model.training_config_version,
        assigned_resources=[resource.to_public() for resource in resources],
    )


def commit_deployment(
    settings: Settings, plan: DeploymentPlan, job_id: str, *, now: datetime | None = None
) -> DeploymentRecord:
    """Make the planned deployment live (after its model loaded): write the row, stamp the project.

    Raises:
        Conflict: the project reached its deployment limit since the request was accepted.
        ProjectNotFound: the project was deleted meanwhile.
    """
    now = now or utc_now()
    _check_room(settings, plan.project_name, plan.deployment_name)
    store = DeploymentStore(settings)
    previous = store.find(plan.project_name, plan.deployment_name)
    last_trained = parse_datetime(plan.last_trained)
    assert last_trained is not None, "plans carry the model's lastTrainedDateTime"
    record = DeploymentRecord(
        project_name=plan.project_name,
        deployment_name=plan.deployment_name,
        model_label=plan.model_label,
        model_id=plan.model_id,
        model_job_id=plan.model_job_id,
        model_blob=plan.model_blob,
        last_trained=last_trained,
        last_deployed=now,
        training_config_version=plan.training_config_version,
        expiration_date=DEPLOYMENT_EXPIRATION_DATE,
        assigned_resources=[AssignedResource(r["resourceId"], r["region"]) for r in plan.assigned_resources],
        deploy_job_id=job_id,
    )
    store.upsert(record)
    stamp_project_deployed(settings, plan.project_name, now)
    if previous is not None and previous.model_blob != record.model_blob:
        release_model_version(settings, plan.project_name, previous.model_blob)
    return record


def stamp_project_deployed(settings: Settings, project_name: str, when: datetime) -> None:
    """Keep the project's ``lastDeployedDateTime``."""

    def change(project: Any) -> None:
        if project.last_deployed is None or project.last_deployed < when:
            project.last_deployed = when

    ProjectStore(settings).modify(project_name, change)


# ------------------------------------------------------------------------------------------ read


def get_deployment(settings: Settings, project_name: str, deployment_name: str) -> DeploymentRecord:
    """One deployment. Raises ProjectNotFound, or NotFound naming the deployment."""
    ProjectStore(settings).get(project_name)
    return DeploymentStore(settings).get(project_name, deployment_name)


def list_deployments(settings: Settings, project_name: str) -> list[DeploymentRecord]:
    """The project's deployments ordered by name. Raises ProjectNotFound."""
    ProjectStore(settings).get(project_name)
    return DeploymentStore(settings).list(project_name)


@dataclass(frozen=True)
class DeployedModel:
    """The exact model version a deployment serves: what a predictor loads and caches by."""

    project_name: str
    deployment_name: str
    model_label: str
    model_id: str
    """Version id: unique per training job, changes on every retrain of the label."""
    model_blob: str
    """Blob with ``nlp.to_bytes()`` of this version (immutable)."""

    @property
    def model_prefix(self) -> str:
        """The version's blob folder (``models/{project}/{label}/{jobId}/``)."""
        return version_prefix(self.model_blob)

    @property
    def cache_key(self) -> str:
        """Key for a loaded-model cache: same key, same bytes, across deployments and swaps."""
        return self.model_blob


def resolve_deployment(settings: Settings, project_name: str, deployment_name: str) -> DeployedModel:
    """``(project, deploymentName)`` → the model version it serves now.

    Raises:
        ProjectNotFound: naming the project.
        NotFound: naming the deployment (``target`` ``deploymentName``).
        StorageError: storage failed.
    """
    record = get_deployment(settings, project_name, deployment_name)
    return DeployedModel(
        project_name=record.project_name,
        deployment_name=record.deployment_name,
        model_label=record.model_label,
        model_id=record.model_id,
        model_blob=record.model_blob,
    )


# ------------------------------------------------------------------------------------------ delete / swap


def check_deployment_exists(settings: Settings, project_name: str, deployment_name: str) -> DeploymentRecord:
    """For ``DELETE`` and ``:delete-from-resources`` requests: 404 before a job is started."""
    return get_deployment(settings, project_name, deployment_name)


def delete_deployment(settings: Settings, project_name: str, deployment_name: str) -> None:
    """Remove the deployment (the delete job's work); a deployment already gone is not an error."""
    store = DeploymentStore(settings)
    record = store.find(project_name, deployment_name)
    if record is None:
        return
    store.delete(project_name, deployment_name)
    release_model_version(settings, project_name, record.model_blob)


def check_swap(settings: Settings, project_name: str, body: Any) -> tuple[str, str]:
    """Validate a swap request; both deployments must exist. Raises ProjectNotFound / InvalidArgument / NotFound."""
    ProjectStore(settings).get(project_name)
    first, second = parse_swap_body(body)
    store = DeploymentStore(settings)
    store.get(project_name, first)
    store.get(project_name, second)
    return first, second


_PINNED_FIELDS = ("model_label", "model_id", "model_job_id", "model_blob", "last_trained", "training_config_version")


def swap_deployments(
    settings: Settings, project_name: str, first: str, second: str, job_id: str, *, now: datetime | None = None
) -> tuple[DeploymentRecord, DeploymentRecord]:
    """Exchange the pinned models of two deployments atomically.

    Raises:
        NotFound: naming a deployment that no longer exists.
        Conflict: a deployment changed during the swap (nothing was written).
    """
    now = now or utc_now()
    store = DeploymentStore(settings)
    one, two = store.get(project_name, first), store.get(project_name, second)
    for name in _PINNED_FIELDS:
        one_value, two_value = getattr(one, name), getattr(two, name)
        setattr(one, name, two_value)
        setattr(two, name, one_value)
    for record in (one, two):
        record.last_deployed = now
        record.deploy_job_id = job_id
    store.replace_both(one, two)
    stamp_project_deployed(settings, project_name, now)
    return one, two


# ------------------------------------------------------------------------------------------ models


def deployments_of_label(settings: Settings, project_name: str, label: str) -> list[str]:
    """Names of the deployments made from ``label`` (any version)."""
    return [d.deployment_name for d in DeploymentStore(settings).list(project_name) if d.model_label == label]


def check_model_not_deployed(settings: Settings, project_name: str, label: str) -> None:
    """Refuse to delete a trained model a deployment serves.

    Raises:
        Conflict: naming the model and the deployments.
    """
    names = deployments_of_label(settings, project_name, label)
    if names:
        raise Conflict(
            message=(
                f"The trained model '{label}' is deployed as {', '.join(repr(n) for n in names)} in project "
                f"'{project_name}'. Delete those deployments or deploy another model to them first."
            ),
            target="trainedModelLabel",
            details=[ErrorDetail("Conflict", name, "deploymentName") for name in names],
        )


def delete_project_deployments(settings: Settings, project_name: str) -> int:
    """Remove every deployment row and resource assignment of a project (project deletion)."""
    store = DeploymentStore(settings)
    deployments = store.list(project_name)
    for record in deployments:
        store.delete(project_name, record.deployment_name)
    resources = ResourceStore(settings)
    for resource in resources.list(project_name):
        resources.delete(project_name, resource.resource_id)
    return len(deployments)
