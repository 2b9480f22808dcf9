"""Route precedence as the real app will use it: a catch-all for unknown routes under ``/language/``,
registered *first*, next to literal, parameter and ``:action`` routes (tests/unit/devhost/test_catch_all_app.py)."""

from __future__ import annotations

import json

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _json(body: object, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


@app.route(route="{*path}")
def unknown_route(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "unknown_route", "path": req.route_params.get("path")}, status=404)


@app.route(route="authoring/analyze-text/projects/{projectName}", methods=["GET"])
def get_project(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "get_project"})


@app.route(route="authoring/analyze-text/projects/{projectName}/:train", methods=["POST"])
def train(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "train"})


@app.route(route="authoring/analyze-text/projects/global/languages", methods=["GET"])
def languages(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "languages"})


@app.route(route="authoring/analyze-text/projects/{projectName}/models/{label:length(1,50)}", methods=["GET"])
def get_model(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "get_model"})
