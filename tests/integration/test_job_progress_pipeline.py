"""The training steps against Azurite, watched as a client would: progress and an estimated end from the
first step, one history point per chunk, evaluation progress per shard, and the effective split on the
job and in the evaluation summary."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import Settings
from shared.storage.blobs import BlobStore
from shared.storage.trained_models import ModelStore
from shared.storage.training_jobs import TrainingJobStore
from shared.training import requests
from shared.training.payloads import FinalizeRequest, JobRef, ShardTask
from shared.training.steps import convert, evaluate, prepare, register, train
from tests.integration.test_training_pipeline import PROJECT, project, settings  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_job_tells_its_story_from_the_first_step(settings: Settings, project: dict[str, Any]) -> None:  # noqa: F811
    job = requests.create_training_job(settings, PROJECT, {"modelLabel": "story", "trainingConfigVersion": "latest"})
    ref = JobRef(PROJECT, job.job_id)
    store = TrainingJobStore(settings)

    prepared = prepare.prepare_training(settings, ref, shard_size=4)
    record = store.get(PROJECT, job.job_id)
    assert record.training_status.percent_complete >= 1
    assert record.estimated_end is not None and record.estimated_end > record.last_updated
    assert "estimatedEndDateTime" in record.to_public()["result"]
    note = next(w for w in record.warnings if w["code"] == "EffectiveSplit")
    preassigned = sum(1 for d in project["assets"]["documents"] if d.get("dataset") == "Test")
    assert note["message"].startswith(f"{prepared.test_documents} of ")
    assert f"({preassigned} here)" in note["message"]

    for shard in prepared.all_shards:
        convert.convert_shard(settings, ShardTask(PROJECT, job.job_id, shard))
    train.init_training(settings, ref)
    assert store.get(PROJECT, job.job_id).training_status.percent_complete >= 2
    chunks = []
    for _ in range(50):
        chunks.append(train.train_chunk(settings, ref))
        if chunks[-1].finished:
            break
    history = store.get(PROJECT, job.job_id).history
    assert [point["step"] for point in history] == sorted({chunk.step for chunk in chunks})
    assert all(point["loss"] >= 0 for point in history)

    train.start_evaluation(settings, ref)
    record = store.get(PROJECT, job.job_id)
    assert record.evaluation_status.percent_complete == 0 and record.estimated_end is not None
    seen = []
    evaluations = []
    for shard in prepared.test_shards:
        evaluations.append(evaluate.evaluate_shard(settings, ShardTask(PROJECT, job.job_id, shard)))
        seen.append(store.get(PROJECT, job.job_id).evaluation_status.percent_complete)
    assert seen == sorted(seen) and seen[0] > 0 and seen[-1] == 99

    register.finalize_training(
        settings,
        FinalizeRequest(PROJECT, job.job_id, [e.counts for e in evaluations], [e.shard for e in evaluations]),
    )
    summary = BlobStore(settings).get_json(ModelStore(settings).get(PROJECT, "story").evaluation_summary_blob)
    effective = summary["effectiveSplit"]
    assert effective["testingDocuments"] == prepared.test_documents == sum(e.documents for e in evaluations)
    assert effective["trainingDocuments"] == prepared.train_documents + prepared.dev_documents
    assert effective["preassignedTestDocuments"] == preassigned
    assert effective["explanation"] == note["message"]
