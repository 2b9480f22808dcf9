"""Deployment routes: deployments (deploy, get, list, delete, swap) and the 2025-05-15-preview resource routes."""

import asyncio

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from functions.operations import start_operation
from shared.config import get_settings
from shared.jobs.kinds import DEPLOYMENT as DEPLOYMENT_JOB
from shared.jobs.kinds import (
    DEPLOYMENT_DELETION,
    DEPLOYMENT_RESOURCES_DELETION,
    DEPLOYMENT_SWAP,
    RESOURCES_ASSIGNMENT,
    RESOURCES_UNASSIGNMENT,
)
from shared.operations import deployments as ops
from shared.service import deployment_resources, deployments
from shared.storage.deployments import DeploymentRecord

bp = df.Blueprint()

PROJECT = f"{_http.PROJECTS_ROUTE}/{{projectName}}"
DEPLOYMENTS = f"{PROJECT}/deployments"
DEPLOYMENT = f"{DEPLOYMENTS}/{{deploymentName}}"
RESOURCES = f"{PROJECT}/resources"
PREVIEW_FIELDS_FROM = "2025-05-15-preview"
"""``assignedResources`` is part of a deployment from this api-version on."""


def _deployment_public(req: func.HttpRequest):
    include = _http.api_version(req) >= PREVIEW_FIELDS_FROM

    def render(record: DeploymentRecord) -> dict:
        return record.to_public(include_resources=include)

    return render


def _same(item: dict) -> dict:
    return item


@bp.route(route=DEPLOYMENTS, methods=["GET"])
@_http.api_handler
def list_deployments(req: func.HttpRequest) -> func.HttpResponse:
    """The project's deployments, paged."""
    records = deployments.list_deployments(get_settings(), _http.route(req, "projectName"))
    return _http.paged_response(req, records, _deployment_public(req))


@bp.route(route=DEPLOYMENT, methods=["GET"])
@_http.api_handler
def get_deployment(req: func.HttpRequest) -> func.HttpResponse:
    """One deployment (404 until its first deployment job has succeeded)."""
    name, deployment = _http.route(req, "projectName"), _http.route(req, "deploymentName")
    record = deployments.get_deployment(get_settings(), name, deployment)
    return _http.json_response(_deployment_public(req)(record))


@bp.route(route=RESOURCES, methods=["GET"])
@_http.api_handler
def list_deployment_resources(req: func.HttpRequest) -> func.HttpResponse:
    """Resources assigned to the project, paged."""
    items = deployment_resources.list_resources(get_settings(), _http.route(req, "projectName"))
    return _http.paged_response(req, items, _same)


@bp.route(route=f"{_http.PROJECTS_ROUTE}/global/deployments/resources", methods=["GET"])
@_http.api_handler
def list_assigned_resource_deployments(req: func.HttpRequest) -> func.HttpResponse:
    """Per project, the deployments assigned to any resource, paged."""
    return _http.paged_response(req, deployment_resources.assigned_resource_deployments(get_settings()), _same)


# ------------------------------------------------------------------------------------------ jobs


def _job_response(req: func.HttpRequest, kinds: tuple, *, per_deployment: bool = False) -> func.HttpResponse:
    # A job polled below a deployment's URL must be that deployment's (404 otherwise).
    subject = _http.route(req, "deploymentName") if per_deployment else None
    job = ops.get_job(get_settings(), kinds, _http.route(req, "projectName"), _http.route(req, "jobId"), subject)
    return _http.job_response(job.to_public())


@bp.route(route=DEPLOYMENT, methods=["PUT"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def deploy_project(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Deploy a trained model (create or replace); 202 pointing at ``deployments/{d}/jobs/{jobId}``."""
    name, deployment = _http.route(req, "projectName"), _http.route(req, "deploymentName")
    body = _http.read_json(req)
    op = await asyncio.to_thread(ops.start_deploy, get_settings(), name, deployment, body)
    return await start_operation(req, client, op)


@bp.route(route=DEPLOYMENT, methods=["DELETE"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def delete_deployment(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Delete a deployment; 202 pointing at ``deployments/{d}/jobs/{jobId}``."""
    name, deployment = _http.route(req, "projectName"), _http.route(req, "deploymentName")
    op = await asyncio.to_thread(ops.start_delete_deployment, get_settings(), name, deployment)
    return await start_operation(req, client, op)


@bp.route(route=f"{DEPLOYMENT}/jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_deployment_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of a deploy or delete job of a deployment."""
    return _job_response(req, (DEPLOYMENT_JOB, DEPLOYMENT_DELETION), per_deployment=True)


@bp.route(route=f"{DEPLOYMENTS}/:swap", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def swap_deployments(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Swap the models of two deployments; 202 pointing at ``deployments/swap/jobs/{jobId}``."""
    body = _http.read_json(req)
    op = await asyncio.to_thread(ops.start_swap, get_settings(), _http.route(req, "projectName"), body)
    return await start_operation(req, client, op)


@bp.route(route=f"{DEPLOYMENTS}/swap/jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_swap_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of a swap job."""
    return _job_response(req, (DEPLOYMENT_SWAP,))


@bp.route(route=f"{DEPLOYMENT}/:delete-from-resources", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def delete_deployment_from_resources(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Remove a deployment from assigned resources (all when no ids); 202 + job."""
    name, deployment = _http.route(req, "projectName"), _http.route(req, "deploymentName")
    body = _http.read_json(req, required=False)
    op = await asyncio.to_thread(ops.start_delete_from_resources, get_settings(), name, deployment, body)
    return await start_operation(req, client, op)


@bp.route(route=f"{DEPLOYMENT}/delete-from-resources/jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_delete_from_resources_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of a delete-from-resources job."""
    return _job_response(req, (DEPLOYMENT_RESOURCES_DELETION,), per_deployment=True)


@bp.route(route=f"{RESOURCES}/:assign", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def assign_deployment_resources(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Assign resources to the project (bookkeeping); 202 pointing at ``resources/assign/jobs/{jobId}``."""
    body = _http.read_json(req)
    op = await asyncio.to_thread(ops.start_assign, get_settings(), _http.route(req, "projectName"), body)
    return await start_operation(req, client, op)


@bp.route(route=f"{RESOURCES}/:unassign", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_http.api_handler
async def unassign_deployment_resources(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Unassign resources (and remove deployments from them); 202 pointing at ``resources/unassign/jobs/{jobId}``."""
    body = _http.read_json(req)
    op = await asyncio.to_thread(ops.start_unassign, get_settings(), _http.route(req, "projectName"), body)
    return await start_operation(req, client, op)


@bp.route(route=f"{RESOURCES}/assign/jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_assign_resources_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of an assign job."""
    return _job_response(req, (RESOURCES_ASSIGNMENT,))


@bp.route(route=f"{RESOURCES}/unassign/jobs/{{jobId}}", methods=["GET"])
@_http.api_handler
def get_unassign_resources_job(req: func.HttpRequest) -> func.HttpResponse:
    """Status of an unassign job."""
    return _job_response(req, (RESOURCES_UNASSIGNMENT,))
