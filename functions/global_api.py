"""Global routes: training config versions and supported languages (``projectKind=CustomEntityRecognition``)."""

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from shared.config import get_settings
from shared.service import projects, trained_models

bp = df.Blueprint()

GLOBAL = f"{_http.PROJECTS_ROUTE}/global"


def _same(item: dict) -> dict:
    return item


@bp.route(route=f"{GLOBAL}/training-config-versions", methods=["GET"])
@_http.api_handler
def list_training_config_versions(req: func.HttpRequest) -> func.HttpResponse:
    """Training config versions models can be trained with, paged."""
    projects.check_project_kind(req.params.get("projectKind"))
    return _http.paged_response(req, trained_models.training_config_versions(get_settings()), _same)


@bp.route(route=f"{GLOBAL}/languages", methods=["GET"])
@_http.api_handler
def list_supported_languages(req: func.HttpRequest) -> func.HttpResponse:
    """Languages a Custom NER project can use, paged."""
    return _http.paged_response(req, projects.supported_languages(req.params.get("projectKind")), _same)
