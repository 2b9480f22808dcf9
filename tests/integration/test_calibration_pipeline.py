"""Confidence calibration end to end on Azurite: a real (tiny) training job fits a calibrator on its dev set
and stores it with the model; an extraction job serving that model returns calibrated scores.

The training steps run in the orchestrator's order (``_run_pipeline`` of test_training_pipeline); the
extraction job runs through its own steps with a deployment resolver pointing at the trained version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from shared.config import Settings, get_settings
from shared.extraction import jobs as extraction
from shared.extraction.prediction import predict_entities
from shared.jobs.workspace import calibration_blob
from shared.ner import training
from shared.ner.calibration import Calibrator
from shared.service.trained_models import delete_model
from shared.storage.blobs import BlobStore
from shared.storage.trained_models import ModelStore
from shared.training import requests
from tests.integration.test_training_pipeline import (
    CITIES,
    PEOPLE,
    PROJECT,
    _run_pipeline,
    import_project,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CALIBRATION_FIELDS = {"method", "slope", "intercept", "devPredictions", "devCorrect", "reason"}
CONFIG_VERSION = "2026-11-29"
"""Learning rate 0.001: after 30 steps its model is still wrong on some dev predictions, which a fitted
calibrator needs; latest (0.002) gets this small dev set entirely right by then."""


@pytest.fixture
def settings(app_settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("NER_TRAIN_MAX_STEPS", "30")
    monkeypatch.setenv("NER_TRAIN_EVAL_FREQUENCY", "10")
    monkeypatch.setenv("NER_TRAIN_PATIENCE", "100")
    monkeypatch.setenv("NER_TRAIN_CHUNK_SECONDS", "600")
    return get_settings()


def _long_documents() -> list[tuple[str, str, list[dict[str, Any]]]]:
    """12 documents of 24 sentences: labelled people and cities, unlabelled city names ("the Rome office"),
    and label noise (every fourth city labelled a Person), so a model is right on some predictions and
    wrong on others."""
    docs = []
    for number in range(12):
        text, labels = "", []
        for line in range(24):
            person, city = PEOPLE[(number + line) % 12], CITIES[(number * 5 + line) % 12]
            if line % 3 == 2:
                text += f"The {city} office of {person} closed early.\n"
                start = text.rindex(person)
                labels.append({"category": "Person", "offset": start, "length": len(person)})
                continue
            sentence = f"Yesterday {person} signed the loan agreement in {city} before noon.\n"
            labels.append({"category": "Person", "offset": len(text) + sentence.index(person), "length": len(person)})
            category = "Person" if (number + line) % 4 == 0 else "City"
            labels.append({"category": category, "offset": len(text) + sentence.index(city), "length": len(city)})
            text += sentence
        docs.append((f"long{number:02d}.txt", text, labels))
    return docs


@dataclass(frozen=True)
class _Deployed:
    model_blob: str


def _extract(settings: Settings, model_blob: str, texts: list[str]) -> list[list[dict[str, Any]]]:
    """Run an extraction job (its steps in the orchestration's order) against the model version."""
    body = {
        "analysisInput": {"documents": [{"id": f"d{i}", "text": t, "language": "en"} for i, t in enumerate(texts)]},
        "tasks": [
            {
                "kind": "CustomEntityRecognition",
                "parameters": {"projectName": PROJECT, "deploymentName": "prod", "stringIndexType": "UnicodeCodePoint"},
            }
        ],
    }

    def resolve(settings: Settings, project: str, deployment: str) -> _Deployed:
        return _Deployed(model_blob)

    job_id = extraction.submit_job(settings, body, resolve)
    plan = extraction.start_job(settings, job_id, resolve, max_documents=5, max_characters=100_000)
    for work in plan.work():
        extraction.predict_batch(settings, job_id, work, cache_size=2)
    assert extraction.finish_job(settings, job_id, plan) == "succeeded"
    state = extraction.read_job(settings, job_id, top=None, skip=0, next_link=lambda t, s: "")
    documents = state["tasks"]["items"][0]["results"]["documents"]
    return [document["entities"] for document in documents]


def test_a_trained_model_gets_a_calibrator_that_the_runtime_applies(settings: Settings, unique_name: str) -> None:
    import_project(settings, f"{unique_name}-input", _long_documents())
    job = requests.create_training_job(settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": CONFIG_VERSION})
    _run_pipeline(settings, job.job_id)
    model = ModelStore(settings).get(PROJECT, "m1")
    blobs = BlobStore(settings)
    stored = blobs.get_json(calibration_blob(model.model_blob))
    assert set(stored) == CALIBRATION_FIELDS
    calibrator = Calibrator.from_dict(stored)
    # one dev document of 24 sentences: enough predictions, some right and some wrong
    assert stored["method"] == "platt-logit" and not calibrator.is_identity, stored["reason"]
    assert stored["devPredictions"] >= 20 and 3 <= stored["devCorrect"] <= stored["devPredictions"] - 3

    texts = [
        "Yesterday Hana signed the loan agreement in Quito before noon.\nThe Lima office of Kofi closed early.\n",
        "The Oslo office of Dana closed early. Yesterday Emil signed the loan agreement in Seoul before noon.",
        "Ivan moved to Tunis, and the Vienna office of Julia closed.",
    ]
    served = _extract(settings, model.model_blob, texts)
    raw = predict_entities(training.load_model(blobs.get_bytes(model.model_blob)), texts)
    pairs = [(s, r) for entities, expected in zip(served, raw, strict=True) for s, r in zip(entities, expected, strict=True)]
    assert [len(e) for e in served] == [len(e) for e in raw] and len(pairs) >= 4
    assert [(s["offset"], s["length"], s["category"]) for s, _ in pairs] == [
        (r.start, r.end - r.start, r.category) for _, r in pairs
    ]
    assert all(0.0 <= s["confidenceScore"] <= 1.0 for s, _ in pairs)
    assert any(abs(s["confidenceScore"] - r.confidence) > 0.01 for s, r in pairs)  # calibrated, not raw
    by_raw = sorted(pairs, key=lambda pair: pair[1].confidence)
    assert [s["confidenceScore"] for s, _ in by_raw] == sorted(s["confidenceScore"] for s, _ in by_raw)

    delete_model(settings, PROJECT, "m1")
    assert not blobs.exists(calibration_blob(model.model_blob))


def test_too_small_a_dev_set_stores_the_identity_saying_why(settings: Settings, unique_name: str) -> None:
    short = [(location, text.split("\n")[0] + "\n", labels[:2]) for location, text, labels in _long_documents()]
    import_project(settings, f"{unique_name}-input", short)
    job = requests.create_training_job(settings, PROJECT, {"modelLabel": "m1", "trainingConfigVersion": CONFIG_VERSION})
    _run_pipeline(settings, job.job_id)
    model = ModelStore(settings).get(PROJECT, "m1")
    stored = BlobStore(settings).get_json(calibration_blob(model.model_blob))
    assert stored["method"] == "identity" and stored["devPredictions"] < 20
    assert f"gave {stored['devPredictions']} predictions" in stored["reason"]
    texts = ["Yesterday Hana signed the loan agreement in Quito before noon."]
    served = _extract(settings, model.model_blob, texts)
    raw = predict_entities(training.load_model(BlobStore(settings).get_bytes(model.model_blob)), texts)
    assert [e["confidenceScore"] for e in served[0]] == pytest.approx([e.confidence for e in raw[0]], abs=1e-4)
