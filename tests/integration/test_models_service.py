"""Trained-model use cases on Azurite, and their HTTP mapping through the real route functions."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import azure.durable_functions as df
import azure.functions as func
import pytest
from azure.storage.blob import BlobServiceClient

from functions import models_api
from shared.config import Settings, get_settings
from shared.errors import InvalidArgument, NotFound, ProjectNotFound
from shared.jobs import workspace
from shared.models import EvaluationOptions, TrainedModelRecord, utc_now
from shared.service import projects
from shared.service import trained_models as models
from shared.storage.blobs import BlobStore
from shared.storage.trained_models import ModelStore

pytestmark = pytest.mark.integration

SUMMARY = {
    "projectKind": "CustomEntityRecognition",
    "customEntityRecognitionEvaluation": {
        "confusionMatrix": {"Date": {"Date": {"normalizedValue": 100.0, "rawValue": 2.0}}},
        "entities": {
            "Date": {"f1": 1.0, "precision": 1.0, "recall": 1.0, "truePositiveCount": 2, "trueNegativeCount": 0,
                     "falsePositiveCount": 0, "falseNegativeCount": 0}
        },
        "microF1": 1.0, "microPrecision": 1.0, "microRecall": 1.0,
        "macroF1": 1.0, "macroPrecision": 1.0, "macroRecall": 1.0,
    },
    "evaluationOptions": {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20},
}


def _document(location: str) -> dict[str, Any]:
    return {
        "location": location,
        "language": "en-us",
        "projectKind": "CustomEntityRecognition",
        "customEntityRecognitionResult": {
            "entities": [
                {
                    "regionOffset": 0,
                    "regionLength": 20,
                    "expectedEntities": [{"category": "Date", "offset": 3, "length": 4}],
                    "predictedEntities": [{"category": "Date", "offset": 3, "length": 4}],
                }
            ]
        },
    }


@pytest.fixture
def settings(app_settings_env: dict[str, str], storage_connection: str, unique_name: str) -> Settings:
    settings = get_settings()
    container = f"{unique_name}-in"
    BlobServiceClient.from_connection_string(storage_connection).create_container(container)
    body = {"projectKind": "CustomEntityRecognition", "storageInputContainerName": container, "language": "en-us"}
    projects.create_or_update_project(settings, "proj", body)
    return settings


def add_model(settings: Settings, label: str, documents: int = 3) -> TrainedModelRecord:
    blobs = BlobStore(settings)
    prefix = f"{workspace.project_prefix('proj')}models/{label}/"
    blobs.put_bytes(prefix + "model.bin", b"bytes")
    blobs.put_json(prefix + "summary.json", SUMMARY)
    blobs.put_json(prefix + "docs.json", [_document(f"doc{i}.txt") for i in range(documents)])
    blobs.put_json(prefix + "snapshot.json", {})
    record = TrainedModelRecord(
        project_name="proj",
        label=label,
        model_id=f"{label}-20250101T000000-abc",
        job_id="job_1",
        last_trained=utc_now(),
        last_training_duration_seconds=12,
        model_expiration_date=date(2099, 12, 31),
        training_config_version="2022-05-01",
        evaluation_options=EvaluationOptions(),
        model_blob=prefix + "model.bin",
        evaluation_summary_blob=prefix + "summary.json",
        evaluation_documents_blob=prefix + "docs.json",
        snapshot_blob=prefix + "snapshot.json",
    )
    return ModelStore(settings).upsert(record)


def test_list_get_and_delete_models(settings: Settings) -> None:
    add_model(settings, "m2")
    add_model(settings, "m1")
    assert [model.label for model in models.list_models(settings, "proj")] == ["m1", "m2"]
    assert models.get_model(settings, "proj", "m1").model_id.startswith("m1-")

    models.delete_model(settings, "proj", "m1")
    with pytest.raises(NotFound) as caught:
        models.get_model(settings, "proj", "m1")
    assert "m1" in caught.value.message
    assert BlobStore(settings).list_names(f"{workspace.project_prefix('proj')}models/m1/") == []
    assert [model.label for model in models.list_models(settings, "proj")] == ["m2"]


def test_unknown_project_and_model(settings: Settings) -> None:
    with pytest.raises(ProjectNotFound):
        models.list_models(settings, "nope")
    with pytest.raises(NotFound):
        models.delete_model(settings, "proj", "missing")


def test_evaluation_summary_and_results(settings: Settings) -> None:
    add_model(settings, "m1")
    assert models.get_evaluation_summary(settings, "proj", "m1") == SUMMARY
    results = models.list_evaluation_results(settings, "proj", "m1", string_index_type="Utf16CodeUnit")
    assert [doc["location"] for doc in results] == ["doc0.txt", "doc1.txt", "doc2.txt"]
    for bad in (None, "TextElements_v8"):
        with pytest.raises(InvalidArgument) as caught:
            models.list_evaluation_results(settings, "proj", "m1", string_index_type=bad)
        assert caught.value.target == "stringIndexType"


# ------------------------------------------------------------------------------- through the routes


@pytest.fixture
def routes() -> dict[str, Any]:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(models_api.bp)
    return {f.get_function_name(): f.get_user_function() for f in app.get_functions()}


def get(routes: dict[str, Any], name: str, path: str, params: dict[str, str], **route: str) -> func.HttpResponse:
    query = {"api-version": "2023-04-01", **params}
    req = func.HttpRequest(
        "GET",
        f"http://localhost:7071/language/authoring/analyze-text/projects/proj/models/{path}",
        headers={"Ocp-Apim-Subscription-Key": "test-key-2"},
        params=query,
        route_params={"projectName": "proj", **route},
        body=b"",
    )
    response: func.HttpResponse = routes[name](req=req)
    return response


def test_routes_map_models_and_paged_results(settings: Settings, routes: dict[str, Any]) -> None:
    add_model(settings, "m1")
    response = get(routes, "get_trained_model", "m1", {}, trainedModelLabel="m1")
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["label"] == "m1" and body["modelExpirationDate"] == "2099-12-31" and body["hasSnapshot"] is True

    params = {"stringIndexType": "Utf16CodeUnit", "maxpagesize": "2"}
    response = get(routes, "list_evaluation_results", "m1/evaluation/result", params, trainedModelLabel="m1")
    page = json.loads(response.get_body())
    assert [doc["location"] for doc in page["value"]] == ["doc0.txt", "doc1.txt"]
    query = {key: values[0] for key, values in parse_qs(urlsplit(page["nextLink"]).query).items()}
    assert query["skip"] == "2" and query["stringIndexType"] == "Utf16CodeUnit"
    response = get(routes, "list_evaluation_results", "m1/evaluation/result", query, trainedModelLabel="m1")
    last = json.loads(response.get_body())
    assert [doc["location"] for doc in last["value"]] == ["doc2.txt"] and last["nextLink"] is None

    response = get(routes, "get_trained_model", "zz", {}, trainedModelLabel="zz")
    assert response.status_code == 404
    assert response.headers["x-ms-error-code"] == json.loads(response.get_body())["error"]["code"]
