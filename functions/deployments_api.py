"""Deployment routes: deployments (deploy, get, list, delete, swap) and the 2025-05-15-preview resource routes."""

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from shared.config import get_settings
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
