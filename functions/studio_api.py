"""The studio page: its static shell (HTML, JS, CSS from ``studio/``) and the one keyed read it needs.

The shell holds no data and is served without a key; its script asks for the subscription key and
calls the keyed REST API (the authoring routes, plus the read-only ``studio/api/...`` routes below).
"""

from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

from functions import _http
from shared.config import get_settings
from shared.errors import NotFound
from shared.studio import evaluated_document_text, training_progress, training_side

bp = df.Blueprint()

STUDIO_DIR = Path(__file__).resolve().parent.parent / "studio"
ASSETS = {
    "studio.js": "text/javascript",
    "studio.css": "text/css",
}
"""The only files served besides ``index.html`` (nothing else under ``studio/`` is reachable)."""
SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    # Same-origin scripts, styles and API calls only; inline styles are set by the script (bar widths).
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
}


def _file(name: str, mimetype: str) -> func.HttpResponse:
    return func.HttpResponse(
        body=(STUDIO_DIR / name).read_bytes(), status_code=200, mimetype=mimetype, charset="utf-8",
        headers=dict(SECURITY_HEADERS),
    )  # fmt: skip


@bp.route(route="studio", methods=["GET"])
def studio_page(req: func.HttpRequest) -> func.HttpResponse:
    """The studio's HTML shell."""
    return _file("index.html", "text/html")


@bp.route(route="studio/{asset}", methods=["GET"])
def studio_asset(req: func.HttpRequest) -> func.HttpResponse:
    """``studio.js`` or ``studio.css``; anything else is 404."""
    asset = req.route_params.get("asset", "")
    if asset not in ASSETS:  # Azure's error JSON, like every other unknown path under /language/
        return _http.error_response(NotFound(message=f"The studio has no file {asset[:60]!r}."))
    return _file(asset, ASSETS[asset])


@bp.route(route="studio/api/projects/{projectName}/models/{trainedModelLabel}/documents", methods=["GET"])
@_http.api_handler
def studio_test_document(req: func.HttpRequest) -> func.HttpResponse:
    """``{"location", "text"}`` of one test document of a model (``?location=``), for the highlighted view."""
    location = req.params.get("location")
    text = evaluated_document_text(
        get_settings(), _http.route(req, "projectName"), _http.route(req, "trainedModelLabel"), location
    )
    return _http.json_response({"location": location, "text": text})


@bp.route(route="studio/api/projects/{projectName}/models/{trainedModelLabel}/training-side", methods=["GET"])
@_http.api_handler
def studio_training_side(req: func.HttpRequest) -> func.HttpResponse:
    """Documents and labels per entity type the model trained on, for the split table."""
    side = training_side(get_settings(), _http.route(req, "projectName"), _http.route(req, "trainedModelLabel"))
    return _http.json_response(side)


@bp.route(route="studio/api/projects/{projectName}/train/jobs/{jobId}/progress", methods=["GET"])
@_http.api_handler
def studio_training_progress(req: func.HttpRequest) -> func.HttpResponse:
    """A training job's phase and per-chunk history (step, loss, dev F1), for the live view."""
    progress = training_progress(get_settings(), _http.route(req, "projectName"), _http.route(req, "jobId"))
    return _http.json_response(progress)
