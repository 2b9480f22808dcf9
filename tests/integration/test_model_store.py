"""ModelStore against Azurite."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.config import Settings
from shared.errors import NotFound
from shared.models import EvaluationOptions, TrainedModelRecord
from shared.storage.trained_models import ModelStore

pytestmark = pytest.mark.integration


def make_model(project: str, label: str, **changes: object) -> TrainedModelRecord:
    record = TrainedModelRecord(
        project_name=project,
        label=label,
        model_id=f"{label}-20240501T120000-abc",
        job_id="job-1",
        last_trained=datetime(2024, 5, 1, 12, 0, 1, 250000, tzinfo=UTC),
        last_training_duration_seconds=123,
        model_expiration_date=date(2025, 10, 28),
        training_config_version="2022-05-01",
        evaluation_options=EvaluationOptions(
            kind="percentage", training_split_percentage=70, testing_split_percentage=30
        ),
        model_blob=f"models/{project}/{label}/model.bin",
        evaluation_summary_blob=f"models/{project}/{label}/summary.json",
        evaluation_documents_blob=f"models/{project}/{label}/documents.json",
        snapshot_blob=f"models/{project}/{label}/snapshot.json",
    )
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def test_round_trip(settings: Settings) -> None:
    store = ModelStore(settings)
    original = make_model("proj", "m1", has_snapshot=False)
    written = store.upsert(original)
    assert written.etag
    read = store.get("proj", "m1")
    assert read == original
    assert read.evaluation_options.training_split_percentage == 70
    assert read.to_public()["modelExpirationDate"] == "2025-10-28"


def test_retraining_a_label_replaces_the_model(settings: Settings) -> None:
    store = ModelStore(settings)
    store.upsert(make_model("proj", "m1"))
    store.upsert(
        make_model("proj", "m1", job_id="job-2", evaluation_options=EvaluationOptions(kind="manual"))
    )
    read = store.get("proj", "m1")
    assert read.job_id == "job-2" and read.evaluation_options.kind == "manual"
    assert store.count("proj") == 1


def test_list_count_delete_and_not_found(settings: Settings) -> None:
    store = ModelStore(settings)
    for label in ["b", "a", "c"]:
        store.upsert(make_model("proj", label))
    store.upsert(make_model("other", "a"))
    assert [m.label for m in store.list("proj")] == ["a", "b", "c"]
    assert store.count("proj") == 3
    store.delete("proj", "b")
    store.delete("proj", "b")  # idempotent
    assert store.count("proj") == 2
    with pytest.raises(NotFound) as caught:
        store.get("proj", "b")
    assert "'b'" in caught.value.message and "proj" in caught.value.message
    assert store.list("empty") == [] and store.count("empty") == 0
