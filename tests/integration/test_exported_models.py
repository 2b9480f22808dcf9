"""Exported models on Azurite: a really trained tiny model, exported, downloaded file by file into a
folder and loaded with ``spacy.load`` in a fresh isolated interpreter that predicts what the model does."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import spacy
from spacy.tokens import DocBin

from shared.config import Settings
from shared.errors import InvalidArgument, NotFound
from shared.models import EvaluationOptions, TrainedModelRecord, utc_now
from shared.ner import training
from shared.ner.config_versions import EFFICIENCY, EFFICIENCY_CLUSTERS
from shared.ner.training import TrainingOptions
from shared.service import exported_models
from shared.storage.blobs import BlobStore
from shared.storage.trained_models import ModelStore
from tests.integration.project_fixture import project_settings  # noqa: F401 (the `settings` fixture)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRAIN = [
    ("Alice Smith lives in Paris.", [("Alice Smith", "PERSON"), ("Paris", "CITY")]),
    ("Bob Jones moved to Berlin last year.", [("Bob Jones", "PERSON"), ("Berlin", "CITY")]),
    ("Carol White visited Rome in May.", [("Carol White", "PERSON"), ("Rome", "CITY")]),
    ("The meeting in London was led by Dan Brown.", [("London", "CITY"), ("Dan Brown", "PERSON")]),
    ("Eve Black flew from Madrid to Lisbon.", [("Eve Black", "PERSON"), ("Madrid", "CITY"), ("Lisbon", "CITY")]),
    ("Frank Green works in Vienna.", [("Frank Green", "PERSON"), ("Vienna", "CITY")]),
]
PROBES = [
    "Alice Smith lives in Paris.",
    "Grace Hall drove from Oslo to Bergen on Monday.",
    "Nothing to see here, just some words about the weather in general.",
    "",
]
SUMMARY = {
    "projectKind": "CustomEntityRecognition",
    "customEntityRecognitionEvaluation": {
        "confusionMatrix": {},
        "entities": {
            "CITY": {"f1": 0.8, "precision": 1.0, "recall": 0.6667, "truePositiveCount": 2, "trueNegativeCount": 0,
                     "falsePositiveCount": 0, "falseNegativeCount": 1},
            "PERSON": {"f1": 1.0, "precision": 1.0, "recall": 1.0, "truePositiveCount": 1, "trueNegativeCount": 0,
                       "falsePositiveCount": 0, "falseNegativeCount": 0},
        },
        "microF1": 0.8571, "microPrecision": 1.0, "microRecall": 0.75,
        "macroF1": 0.9, "macroPrecision": 1.0, "macroRecall": 0.8333,
    },
    "evaluationOptions": {"kind": "percentage", "trainingSplitPercentage": 80, "testingSplitPercentage": 20},
}


def _project_file() -> dict[str, Any]:
    documents = []
    for index, (text, entities) in enumerate(TRAIN * 2):  # a project file has at least 10 documents
        labels = [{"category": label, "offset": text.index(surface), "length": len(surface)}
                  for surface, label in entities]
        documents.append({
            "location": f"doc{index}.txt", "language": "en-us", "dataset": "Train" if index < 11 else "Test",
            "entities": [{"regionOffset": 0, "regionLength": len(text), "labels": labels}],
        })  # fmt: skip
    return {
        "projectFileVersion": "2022-05-01",
        "stringIndexType": "Utf16CodeUnit",
        "metadata": {"projectKind": "CustomEntityRecognition", "projectName": "proj",
                     "storageInputContainerName": "docs", "language": "en-us"},
        "assets": {"projectKind": "CustomEntityRecognition",
                   "entities": [{"category": "PERSON"}, {"category": "CITY"}], "documents": documents},
    }  # fmt: skip


def _train(config_version: str) -> bytes:
    nlp = spacy.blank("en")
    doc_bin = DocBin()
    for text, entities in TRAIN:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(text.index(s), text.index(s) + len(s), label=label) for s, label in entities]
        doc_bin.add(doc)
    bins = [doc_bin.to_bytes()]
    options = TrainingOptions(
        lang="en", labels=["PERSON", "CITY"], max_steps=60, patience=0, eval_frequency=10, seed=0,
        config_version=config_version,
    )
    result = training.train_chunk(training.init_checkpoint(options, bins), bins, bins)
    return training.best_model_bytes(result.checkpoint)


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    """A model with built-in spaCy layers only: its folder loads with spaCy alone."""
    return _train(EFFICIENCY)


@pytest.fixture(scope="module")
def cluster_model_bytes() -> bytes:
    """A model with the project's Brown-cluster layer: its folder carries that layer's code."""
    return _train(EFFICIENCY_CLUSTERS)



def register(settings: Settings, label: str, model: bytes) -> TrainedModelRecord:
    job_id = f"{uuid.uuid4()}_0"
    prefix = f"models/proj/{label}/{job_id}/"
    blobs = BlobStore(settings)
    blobs.put_bytes(prefix + "model.bin", model)
    blobs.put_json(prefix + "evaluation-summary.json", SUMMARY)
    blobs.put_json(prefix + "evaluation-documents.json", [{"location": "doc5.txt"}])
    blobs.put_json(prefix + "snapshot.json", _project_file())
    return ModelStore(settings).upsert(
        TrainedModelRecord(
            project_name="proj", label=label, model_id=f"{label}-{uuid.uuid4().hex}", job_id=job_id,
            last_trained=utc_now(), last_training_duration_seconds=5, model_expiration_date=date(2099, 12, 31),
            training_config_version="2022-05-01", evaluation_options=EvaluationOptions(),
            model_blob=prefix + "model.bin", evaluation_summary_blob=prefix + "evaluation-summary.json",
            evaluation_documents_blob=prefix + "evaluation-documents.json", snapshot_blob=prefix + "snapshot.json",
        )
    )  # fmt: skip


def download(settings: Settings, name: str, folder: Path) -> list[str]:
    """Fetch every manifest file the way a client would: by its relative name, into ``folder``."""
    body = exported_models.manifest(settings, "proj", name, lambda relative: f"https://host/files/{relative}")
    names = [item["name"] for item in body["modelFiles"]]
    for item in body["modelFiles"]:
        assert item["contentUri"] == f"https://host/files/{item['name']}"
        target = folder / item["name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(exported_models.read_file(settings, "proj", name, item["name"]))
    return names


SCRIPT = """
import json, sys, spacy
if sys.argv[3:]:
    sys.path.insert(0, sys.argv[3])
    import custom_ner
nlp = spacy.load(sys.argv[1])
docs = list(nlp.pipe(json.loads(sys.argv[2])))
print(json.dumps({"modules": sorted(m for m in sys.modules if m.split(".")[0] == "shared"),
                  "spans": [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in docs]}))
"""


def test_export_downloads_into_a_folder_that_spacy_loads_offline(
    settings: Settings, model_bytes: bytes, tmp_path: Path
) -> None:
    model = register(settings, "m1", model_bytes)
    plan = exported_models.plan_export(settings, "proj", "exp1", {"trainedModelLabel": "m1"})
    record = exported_models.run_export(settings, plan, job_id="job-a")
    assert record.to_public()["modelId"] == model.model_id
    assert record.to_public()["modelExpirationDate"] == "2099-12-31"

    folder = tmp_path / "exp1"
    names = download(settings, "exp1", folder)
    assert {"config.cfg", "meta.json", "README.md", "ner/model", "tok2vec/model", "vocab/strings.json"} <= set(names)

    expected = [[list(span) for span in spans] for spans in training.predict_spans(training.load_model(model_bytes), PROBES)]
    assert any(expected), "the tiny model finds entities (otherwise the comparison proves little)"
    # -I: isolated interpreter (no PYTHONPATH, no cwd on sys.path), so nothing of this project is importable.
    done = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT, str(folder), json.dumps(PROBES)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "no_proxy": "*"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout)
    assert loaded["modules"] == []
    assert loaded["spans"] == expected

    card = (folder / "README.md").read_text()
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["name"] == "custom_ner_m1" and model.model_id in meta["description"]
    for fact in ("`CITY`", "`PERSON`", model.model_id, "Documents: 12 (11 for training", "1 held out",
                 "| `CITY` | 14 |", "| `PERSON` | 12 |", "Micro F1 0.857", "80% / 20%", "2022-05-01",
                 f"spaCy: `{spacy.__version__}`", "Max steps: `60`",
                 "## Confidence scores", "Not calibrated: No calibration was fitted"):  # fmt: skip
        assert fact in card, fact


def test_replace_delete_and_errors(settings: Settings, model_bytes: bytes, tmp_path: Path) -> None:
    register(settings, "m1", model_bytes)
    with pytest.raises(InvalidArgument) as caught:
        exported_models.plan_export(settings, "proj", "exp1", {"trainedModelLabel": "nope"})
    assert caught.value.target == "trainedModelLabel" and "nope" in caught.value.message
    with pytest.raises(InvalidArgument):
        exported_models.plan_export(settings, "proj", "bad/name", {"trainedModelLabel": "m1"})

    plan = exported_models.plan_export(settings, "proj", "exp1", {"trainedModelLabel": "m1"})
    first = exported_models.run_export(settings, plan, job_id="job-a")
    retrained = register(settings, "m1", model_bytes)
    second = exported_models.run_export(
        settings, exported_models.plan_export(settings, "proj", "exp1", {"trainedModelLabel": "m1"}), job_id="job-b"
    )
    assert second.model_id == retrained.model_id != first.model_id
    blobs = BlobStore(settings)
    assert blobs.list_names(first.files_prefix) == []
    assert sorted(name[len(second.files_prefix):] for name in blobs.list_names(second.files_prefix)) == second.files
    assert [r.exported_model_name for r in exported_models.list_exported_models(settings, "proj")] == ["exp1"]

    for bad in ("../model.bin", "ner", "missing.txt"):
        with pytest.raises(NotFound):
            exported_models.read_file(settings, "proj", "exp1", bad)
    exported_models.delete_exported_model(settings, "proj", "exp1")
    exported_models.delete_exported_model(settings, "proj", "exp1")
    with pytest.raises(NotFound) as missing:
        exported_models.get_exported_model(settings, "proj", "exp1")
    assert missing.value.target == "exportedModelName"
    assert blobs.list_names(exported_models.exports_prefix("proj")) == []


def test_a_cluster_layer_model_exports_with_its_code(
    settings: Settings, cluster_model_bytes: bytes, tmp_path: Path
) -> None:
    register(settings, "m2", cluster_model_bytes)
    plan = exported_models.plan_export(settings, "proj", "exp2", {"trainedModelLabel": "m2"})
    exported_models.run_export(settings, plan, job_id="job-c")
    folder = tmp_path / "exp2"
    names = download(settings, "exp2", folder)
    assert {"code/custom_ner/__init__.py", "code/custom_ner/clusters.py", "code/custom_ner/cluster_embed.py"} <= set(names)

    expected = [[list(s) for s in spans] for spans in training.predict_spans(training.load_model(cluster_model_bytes), PROBES)]
    run = [sys.executable, "-I", "-c", SCRIPT, str(folder), json.dumps(PROBES)]
    plain = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert plain.returncode != 0 and "custom_ner.ClusterHashEmbed.v1" in plain.stderr  # spaCy alone cannot
    done = subprocess.run([*run, str(folder / "code")], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout)
    assert loaded["modules"] == [] and loaded["spans"] == expected
    card = (folder / "README.md").read_text()
    assert "import custom_ner" in card and "spacy-lookups-data==1.0.5" in card
