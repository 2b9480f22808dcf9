"""Deployment, swap, resource and exported-model jobs: starting them (validated, 202) and running them.

Each is an operation kind (:mod:`shared.jobs.kinds`) run by the one operation orchestration; the rules
are in :mod:`shared.service.deployments`, :mod:`shared.service.deployment_resources` and
:mod:`shared.service.exported_models`. A request is validated and the model version pinned *before*
the job is recorded, so a bad request is a 4xx and never a failed job.
"""

from __future__ import annotations

from typing import Any

from shared.config import Settings
from shared.errors import Conflict, NotFound, OperationNotFound
from shared.extraction.serving import served_model
from shared.jobs.kinds import (
    DEPLOYMENT,
    DEPLOYMENT_DELETION,
    DEPLOYMENT_RESOURCES_DELETION,
    DEPLOYMENT_SWAP,
    EXPORTED_MODEL,
    EXPORTED_MODEL_DELETION,
    RESOURCES_ASSIGNMENT,
    RESOURCES_UNASSIGNMENT,
    JobKind,
)
from shared.models import OperationJobRecord
from shared.operations.requests import OperationRequest, get_operation_job, start_job
from shared.service import deployment_resources, deployments, exported_models
from shared.service.deployments import DeploymentPlan
from shared.service.exported_models import ExportPlan
from shared.storage.blobs import BlobStore
from shared.storage.operation_jobs import operation_not_found


def _start(settings: Settings, kind: JobKind, project_name: str, params: dict[str, Any], **extra: Any) -> OperationRequest:
    job = start_job(settings, kind, project_name, **extra)
    return OperationRequest(kind.name, project_name, job.job_id, params)


def get_job(
    settings: Settings, kinds: tuple[JobKind, ...], project_name: str, job_id: str, subject: str | None = None
) -> OperationJobRecord:
    """The job ``job_id`` of any of ``kinds`` (kinds that share one status URL, e.g. deploy and delete).

    ``subject`` is the deployment or exported model the status URL names: a job of another one is not
    found there (``deployments/b/jobs/<job of a>`` is a 404, as if the id were unknown).

    Raises:
        OperationNotFound: no such job (or it expired), or it belongs to another ``subject``.
    """
    for kind in kinds:
        try:
            job = get_operation_job(settings, kind, project_name, job_id)
        except OperationNotFound as missing:
            last = missing
            continue
        if subject is not None and job.subject_name is not None and job.subject_name != subject:
            raise operation_not_found(kinds[0].name, project_name, job_id)
        return job
    raise last


# ------------------------------------------------------------------------------------------ deployments


def start_deploy(settings: Settings, project_name: str, deployment_name: str, body: Any) -> OperationRequest:
    """Validate ``PUT deployments/{d}``, pin the label's current version and record the job."""
    plan = deployments.plan_deployment(settings, project_name, deployment_name, body)
    params = {"deploymentName": deployment_name, "plan": plan.to_dict()}
    return _start(
        settings, DEPLOYMENT, project_name, params, model_label=plan.model_label, subject_name=deployment_name
    )


def load_where_predictions_run(settings: Settings, model_blob: str, model_id: str, label: str) -> None:
    """Load the pinned version in this worker, so a deployment is live only once its model loads.

    The model stays in the worker's extraction cache (:mod:`shared.extraction.serving`), so the first
    extraction on this worker after the deploy does not load it again.

    Raises:
        Conflict: the version's blob is gone (the model was deleted or retrained and released meanwhile).
        TrainingFailed: the stored bytes are not a loadable pipeline.
    """
    try:
        served_model(BlobStore(settings), model_blob, settings.model_cache_size)
    except NotFound:
        raise Conflict(
            message=f"The model version '{model_id}' of trained model '{label}' is no longer stored; deploy the "
            "label again.",
            target="trainedModelLabel",
        ) from None


def run_deploy(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    plan = DeploymentPlan.from_dict(request.params["plan"])
    load_where_predictions_run(settings, plan.model_blob, plan.model_id, plan.model_label)
    deployments.commit_deployment(settings, plan, request.job_id)
    return {}


def start_delete_deployment(settings: Settings, project_name: str, deployment_name: str) -> OperationRequest:
    """Validate ``DELETE deployments/{d}`` (404 for an unknown deployment) and record the job."""
    record = deployments.check_deployment_exists(settings, project_name, deployment_name)
    params = {"deploymentName": deployment_name}
    return _start(
        settings, DEPLOYMENT_DELETION, project_name, params, model_label=record.model_label,
        subject_name=deployment_name,
    )


def run_delete_deployment(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    deployments.delete_deployment(settings, request.project_name, request.params["deploymentName"])
    return {}


def start_swap(settings: Settings, project_name: str, body: Any) -> OperationRequest:
    """Validate ``POST deployments/:swap`` (both deployments must exist) and record the job."""
    first, second = deployments.check_swap(settings, project_name, body)
    return _start(settings, DEPLOYMENT_SWAP, project_name, {"first": first, "second": second})


def run_swap(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    params = request.params
    deployments.swap_deployments(settings, request.project_name, params["first"], params["second"], request.job_id)
    return {}


# ------------------------------------------------------------------------------------------ resources


def start_delete_from_resources(
    settings: Settings, project_name: str, deployment_name: str, body: Any
) -> OperationRequest:
    """Validate ``POST deployments/{d}/:delete-from-resources`` and record the job."""
    ids = deployments.parse_delete_from_resources_body(body)
    deployment_resources.check_delete_from_resources(settings, project_name, deployment_name, ids)
    params = {"deploymentName": deployment_name, "assignedResourceIds": list(ids)}
    return _start(settings, DEPLOYMENT_RESOURCES_DELETION, project_name, params, subject_name=deployment_name)


def run_delete_from_resources(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    params = request.params
    deployment_resources.delete_from_resources(
        settings, request.project_name, params["deploymentName"], tuple(params["assignedResourceIds"])
    )
    return {}


def start_assign(settings: Settings, project_name: str, body: Any) -> OperationRequest:
    """Validate ``POST resources/:assign`` and record the job."""
    items = deployment_resources.check_assign(settings, project_name, body)
    params = {"resourcesMetadata": [[i.azure_resource_id, i.custom_domain, i.region] for i in items]}
    return _start(settings, RESOURCES_ASSIGNMENT, project_name, params)


def run_assign(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    items = [deployment_resources.ResourceMetadata(*item) for item in request.params["resourcesMetadata"]]
    deployment_resources.assign_resources(settings, request.project_name, items)
    return {}


def start_unassign(settings: Settings, project_name: str, body: Any) -> OperationRequest:
    """Validate ``POST resources/:unassign`` (every id must be assigned) and record the job."""
    ids = deployment_resources.check_unassign(settings, project_name, body)
    return _start(settings, RESOURCES_UNASSIGNMENT, project_name, {"assignedResourceIds": ids})


def run_unassign(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    deployment_resources.unassign_resources(settings, request.project_name, list(request.params["assignedResourceIds"]))
    return {}


# ------------------------------------------------------------------------------------------ exported models


def start_exported_model(settings: Settings, project_name: str, name: str, body: Any) -> OperationRequest:
    """Validate ``PUT exported-models/{name}``, pin the label's current version and record the job."""
    plan = exported_models.plan_export(settings, project_name, name, body)
    params = {"exportedModelName": name, "plan": plan.to_dict()}
    return _start(settings, EXPORTED_MODEL, project_name, params, model_label=plan.model_label, subject_name=name)


def run_exported_model(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    plan = ExportPlan.from_dict(request.params["plan"])
    try:
        exported_models.run_export(settings, plan, request.job_id)
    except NotFound:
        raise Conflict(
            message=f"The model version '{plan.model_id}' of trained model '{plan.model_label}' is no longer "
            "stored; export the label again.",
            target="trainedModelLabel",
        ) from None
    return {}


def start_delete_exported_model(settings: Settings, project_name: str, name: str) -> OperationRequest:
    """Validate ``DELETE exported-models/{name}`` (404 for an unknown one) and record the job."""
    exported_models.get_exported_model(settings, project_name, name)
    return _start(settings, EXPORTED_MODEL_DELETION, project_name, {"exportedModelName": name}, subject_name=name)


def run_delete_exported_model(settings: Settings, request: OperationRequest) -> dict[str, Any]:
    exported_models.delete_exported_model(settings, request.project_name, request.params["exportedModelName"])
    return {}


RUNNERS = {
    DEPLOYMENT.name: run_deploy,
    DEPLOYMENT_DELETION.name: run_delete_deployment,
    DEPLOYMENT_SWAP.name: run_swap,
    DEPLOYMENT_RESOURCES_DELETION.name: run_delete_from_resources,
    RESOURCES_ASSIGNMENT.name: run_assign,
    RESOURCES_UNASSIGNMENT.name: run_unassign,
    EXPORTED_MODEL.name: run_exported_model,
    EXPORTED_MODEL_DELETION.name: run_delete_exported_model,
}
"""Runner of each kind declared here (merged into :data:`shared.operations.run.RUNNERS`)."""
