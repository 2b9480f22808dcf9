"""The studio's training side of a model's split, read from what training kept (Azurite, real route)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from functions import studio_api
from shared.config import Settings
from shared.errors import NotFound
from shared.models import EvaluationOptions, TrainedModelRecord, utc_now
from shared.storage.blobs import BlobStore
from shared.storage.trained_models import ModelStore
from shared.studio import training_side
from tests.integration.project_fixture import project_settings

pytestmark = pytest.mark.integration
__all__ = ["project_settings"]


def _document(location: str, categories: list[str], dataset: str | None = None) -> dict[str, Any]:
    labels = [{"category": category, "offset": 2 * i, "length": 1} for i, category in enumerate(categories)]
    document: dict[str, Any] = {"location": location, "language": "en-us",
                                "entities": [{"regionOffset": 0, "regionLength": 40, "labels": labels}]}
    if dataset:
        document["dataset"] = dataset
    return document


SNAPSHOT = {
    "projectFileVersion": "2022-05-01",
    "stringIndexType": "Utf16CodeUnit",
    "metadata": {"projectKind": "CustomEntityRecognition", "projectName": "proj", "language": "en-us",
                 "storageInputContainerName": "docs"},
    "assets": {
        "projectKind": "CustomEntityRecognition",
        "entities": [{"category": "Date"}, {"category": "Total"}, {"category": "Vendor"}],
        "documents": [
            _document("a.txt", ["Date", "Total"]),
            _document("b.txt", ["Date", "Date", "Vendor"]),
            _document("c.txt", ["Total"]),
            _document("t1.txt", ["Date", "Vendor", "Vendor"], dataset="Test"),
            _document("t2.txt", ["Total"]),
        ],
    },
}  # fmt: skip
TESTED = ["t1.txt", "t2.txt"]


def add_model(settings: Settings, label: str) -> None:
    blobs = BlobStore(settings)
    prefix = f"models/proj/{label}/job_1/"
    blobs.put_bytes(prefix + "model.bin", b"bytes")
    blobs.put_json(prefix + "evaluation-summary.json", {})
    blobs.put_json(prefix + "evaluation-documents.json", [
        {"location": location, "customEntityRecognitionResult": {"entities": []}} for location in TESTED
    ])  # fmt: skip
    blobs.put_json(prefix + "snapshot.json", SNAPSHOT)
    ModelStore(settings).upsert(TrainedModelRecord(
        project_name="proj", label=label, model_id=f"{label}-1", job_id="job_1", last_trained=utc_now(),
        last_training_duration_seconds=1, model_expiration_date=date(2099, 12, 31),
        training_config_version="2022-05-01", evaluation_options=EvaluationOptions(),
        model_blob=prefix + "model.bin", evaluation_summary_blob=prefix + "evaluation-summary.json",
        evaluation_documents_blob=prefix + "evaluation-documents.json", snapshot_blob=prefix + "snapshot.json",
    ))  # fmt: skip


def test_training_side_is_the_snapshot_minus_the_test_set(settings: Settings) -> None:
    add_model(settings, "m1")
    assert training_side(settings, "proj", "m1") == {
        "trainingDocuments": 3,
        "trainingEntities": {"Date": 3, "Total": 2, "Vendor": 1},
    }
    with pytest.raises(NotFound) as caught:
        training_side(settings, "proj", "m2")
    assert "m2" in caught.value.message


def _get(label: str, key: str | None = "test-key-2") -> func.HttpResponse:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(studio_api.bp)
    handler = {f.get_function_name(): f.get_user_function() for f in app.get_functions()}["studio_training_side"]
    req = func.HttpRequest(
        "GET", f"http://localhost:7071/language/studio/api/projects/proj/models/{label}/training-side",
        headers={"Ocp-Apim-Subscription-Key": key} if key else {}, params={"api-version": "2023-04-01"},
        route_params={"projectName": "proj", "trainedModelLabel": label}, body=b"",
    )  # fmt: skip
    response: func.HttpResponse = handler(req=req)
    return response


def test_the_route_is_keyed_and_names_an_unknown_model(settings: Settings) -> None:
    add_model(settings, "m1")
    response = _get("m1")
    assert response.status_code == 200
    assert json.loads(response.get_body())["trainingEntities"] == {"Date": 3, "Total": 2, "Vendor": 1}
    assert _get("m1", key=None).status_code == 401
    missing = _get("zz")
    assert missing.status_code == 404 and "zz" in json.loads(missing.get_body())["error"]["message"]
