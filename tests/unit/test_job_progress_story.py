"""Progress a person can follow: estimates before the first chunk, the per-chunk history, evaluation
progress, the console line per chunk, and the effective split in words."""

from __future__ import annotations

from datetime import timedelta

from azure.data.tables import TableEntity

from shared.jobs import lifecycle
from shared.models import EvaluationOptions
from shared.storage.training_jobs import training_job_from_entity, training_job_to_entity
from shared.training import estimate
from shared.training.payloads import ChunkSummary
from shared.training.split_summary import describe_split
from tests.unit.test_job_lifecycle import NOW, running

CORPUS = estimate.Corpus(documents=1000, training_documents=800, test_documents=200)


def test_estimates_shrink_phase_by_phase_and_grow_with_the_corpus() -> None:
    order = ["splitting", "converting", "initialising", "training", "evaluating"]
    remaining = [estimate.remaining_seconds(phase, CORPUS, 2000) for phase in order]
    assert remaining == sorted(remaining, reverse=True) and remaining[-1] > 0
    bigger = estimate.Corpus(documents=16000, training_documents=12800, test_documents=3200)
    assert estimate.remaining_seconds("converting", bigger, 2000) > remaining[1]
    assert estimate.estimated_end(NOW, "training", CORPUS, 2000) == NOW + timedelta(seconds=remaining[3])
    assert estimate.Corpus.from_dict(CORPUS.to_dict()) == CORPUS
    assert estimate.Corpus.from_dict(None) == estimate.Corpus(0, 0, 0)


def test_an_estimate_before_training_shows_a_few_percent_and_an_end_that_training_then_replaces() -> None:
    record = running()
    end = estimate.estimated_end(NOW, "converting", CORPUS, 2000)
    lifecycle.record_estimate(record, NOW, percent=estimate.PHASE_PERCENT["converting"], estimated_end=end)
    assert record.training_status.percent_complete == 1 and record.estimated_end == end
    public = record.to_public()["result"]
    assert public["trainingStatus"]["percentComplete"] == 1
    assert public["estimatedEndDateTime"] == end.strftime("%Y-%m-%dT%H:%M:%SZ")
    # The first chunk measured its own speed; a step count below the estimate's percent never goes back.
    lifecycle.record_progress(record, NOW, step=10, max_steps=2000, finished=False, seconds_per_step=0.05)
    assert record.training_status.percent_complete == 1
    assert record.estimated_end == NOW + timedelta(seconds=1990 * 0.05)


def test_each_chunk_adds_one_history_point_and_the_history_is_bounded() -> None:
    record = running()
    lifecycle.record_progress(record, NOW, step=50, max_steps=100, finished=False, seconds_per_step=0.1,
                              loss=12.345678, dev_score=None)  # fmt: skip
    lifecycle.record_progress(record, NOW, step=50, max_steps=100, finished=False, seconds_per_step=0.1,
                              loss=12.0, dev_score=None)  # fmt: skip  (a retried chunk)
    lifecycle.record_progress(record, NOW, step=100, max_steps=100, finished=True, seconds_per_step=0.1,
                              loss=3.5, dev_score=0.81234)  # fmt: skip
    assert record.history == [
        {"step": 50, "loss": 12.3457, "devF1": None},
        {"step": 100, "loss": 3.5, "devF1": 0.8123},
    ]
    for step in range(101, 101 + lifecycle.MAX_HISTORY_POINTS):
        lifecycle.record_progress(record, NOW, step=step, max_steps=10_000, finished=False,
                                  seconds_per_step=None, loss=1.0)  # fmt: skip
    assert len(record.history) == lifecycle.MAX_HISTORY_POINTS
    assert record.history[-1]["step"] == 100 + lifecycle.MAX_HISTORY_POINTS
    # Stored with the job row and read back.
    assert training_job_from_entity(TableEntity(training_job_to_entity(record))).history == record.history


def test_evaluation_progress_moves_with_finished_shards_and_never_back() -> None:
    record = running()
    end = NOW + timedelta(seconds=5)
    lifecycle.start_evaluation(record, NOW, end)
    assert record.estimated_end == end and record.evaluation_status.percent_complete == 0
    lifecycle.record_evaluation_progress(record, NOW, done=2, total=4)
    assert record.evaluation_status.percent_complete == 50
    lifecycle.record_evaluation_progress(record, NOW, done=1, total=4)  # a slower shard reports late
    assert record.evaluation_status.percent_complete == 50
    lifecycle.record_evaluation_progress(record, NOW, done=4, total=4)
    assert record.evaluation_status.percent_complete == 99  # 100 once the model is registered
    lifecycle.succeed(record, NOW)
    assert record.evaluation_status.percent_complete == 100


def test_the_console_line_of_a_chunk() -> None:
    chunk = ChunkSummary(step=120, max_steps=300, steps_run=60, seconds=5.0, loss=12.3456, dev_score=0.8123,
                         best_score=0.82, finished=False, stop_reason=None, percent_complete=40,
                         estimated_end="2026-11-24T12:01:00+00:00")  # fmt: skip
    assert chunk.describe() == "chunk: step 120/300 (40%), loss 12.35, dev F1 0.812, ETA 2026-11-24T12:01:00Z"
    chunk.dev_score, chunk.finished = None, True
    assert chunk.describe() == "chunk: step 120/300 (40%), loss 12.35, dev F1 -"


def test_the_effective_split_says_how_many_and_why() -> None:
    # The sample project: 60 documents, 8 marked Test; 80/20 of the other 52 picks 10 more.
    split = describe_split(EvaluationOptions(), training=42, dev=4, testing=18, preassigned_test=8)
    assert split["trainingDocuments"] == 42 and split["testingDocuments"] == 18
    assert split["preassignedTestDocuments"] == 8 and split["devDocuments"] == 4
    text = split["explanation"]
    assert text.startswith("18 of 60 documents tested (30%), 42 trained (4 of them held out")
    assert "marked Test always stay in the test set (8 here)" in text
    assert "80/20 split applies to the other 52, of which 10 were picked" in text
    manual = describe_split(EvaluationOptions(kind="manual"), training=50, dev=5, testing=10, preassigned_test=10)
    assert manual["explanation"].startswith("Manual split: 50 documents not marked Test trained the model")
