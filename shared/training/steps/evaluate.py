"""Step 4, ``evaluate_shard`` (one per test shard): predict the test documents with the best model."""

from __future__ import annotations

import threading
from typing import Any

from spacy.language import Language

from shared.config import Settings
from shared.errors import AppError
from shared.ner import transfer
from shared.ner.documents import region_texts
from shared.ner.evaluation import DocumentEvaluation, Entity, EvaluationCounts, RegionEvaluation
from shared.ner.project_file import DocumentAsset
from shared.ner.training import predict_spans
from shared.storage.blobs import BlobStore
from shared.storage.documents import iter_document_results
from shared.training import jobs
from shared.training.caches import model_cache
from shared.training.payloads import ShardEvaluation, ShardTask
from shared.training.shards import by_location, load_manifest, shard_documents

EVAL_BATCH_DOCUMENTS = 64
"""Test documents predicted per ``nlp.pipe`` call during evaluation."""


def _region_evaluations(
    document: DocumentAsset, text: str, predictions: list[list[tuple[int, int, str]]]
) -> list[RegionEvaluation]:
    regions = []
    for region, predicted in zip(region_texts(document, text), predictions, strict=True):
        expected = [Entity(label, *region.to_utf16_entity(start, end)) for start, end, label in region.spans]
        found = [Entity(label, *region.to_utf16_entity(start, end)) for start, end, label in predicted]
        regions.append(RegionEvaluation(region.region_offset, region.region_length, expected, found))
    return regions


def _evaluate_batch(
    nlp: Language, lock: threading.Lock, batch: list[tuple[DocumentAsset, str]]
) -> list[DocumentEvaluation]:
    """Predict every region of a batch of documents in one ``nlp.pipe`` call."""
    regions = [[region.text for region in region_texts(document, text)] for document, text in batch]
    with lock:
        predicted = predict_spans(nlp, [region for texts in regions for region in texts])
    evaluations = []
    start = 0
    for (document, text), texts in zip(batch, regions, strict=True):
        mine = predicted[start : start + len(texts)]
        start += len(texts)
        evaluations.append(
            DocumentEvaluation(
                document.location, document.language, _region_evaluations(document, text, mine)
            )
        )
    return evaluations


def evaluate_shard(settings: Settings, task: ShardTask) -> ShardEvaluation:
    """Predict the test shard's documents with the best model and count matches per entity.

    The documents are downloaded a few at a time concurrently and predicted in batches of
    :data:`EVAL_BATCH_DOCUMENTS`; the model is loaded once per process for all of the job's shards.
    """
    ref = task.ref
    jobs.heartbeat(settings, ref.projectName, ref.jobId)
    blobs = BlobStore(settings)
    manifest = load_manifest(blobs, ref.workspace)
    documents = shard_documents(blobs, ref.workspace, task.shard)
    documents_at = by_location(documents)
    transfer.configure_from_settings(settings)  # a transfer model loads with the base's vectors
    nlp, lock = model_cache.get(blobs, ref.workspace.model)
    counts = EvaluationCounts()
    results: list[dict[str, Any]] = []
    batch: list[tuple[DocumentAsset, str]] = []
    for location, result in iter_document_results(settings, manifest["container"], list(documents_at)):
        if isinstance(result, AppError):
            raise result  # converted a moment ago: the document changed or vanished since
        batch.append((documents_at[location], result))
        if len(batch) >= EVAL_BATCH_DOCUMENTS:
            for evaluation in _evaluate_batch(nlp, lock, batch):
                counts.add(evaluation)
                results.append(evaluation.to_dict())
            batch = []
    for evaluation in _evaluate_batch(nlp, lock, batch) if batch else []:
        counts.add(evaluation)
        results.append(evaluation.to_dict())
    blobs.put_json(ref.workspace.evaluation(task.shard), results)
    # Shards finish in any order and may be retried: count the results written so far.
    test_shards = [shard for shard in manifest["shards"] if shard.startswith("test-")]
    done = len(blobs.list_names(ref.workspace.evaluation("").removesuffix(".json")))
    jobs.record_evaluation_progress(settings, ref.projectName, ref.jobId, done=done, total=len(test_shards))
    return ShardEvaluation(shard=task.shard, documents=len(results), counts=counts.to_dict())
