"""Scoring predictions on test documents, the same way for every side of a comparison."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bench.datasets import Dataset


def score_predictions(
    ds: Dataset, test: Sequence[str], predict: Callable[[list[str]], list[list[tuple[int, int, str]]]]
) -> dict[str, Any]:
    """Score ``predict`` (region texts -> python-index spans) on ``test`` with the service's exact-match
    evaluation code; returns the Azure evaluation summary JSON."""
    from shared.models import EvaluationOptions
    from shared.ner.documents import region_texts
    from shared.ner.evaluation import (
        DocumentEvaluation,
        Entity,
        EvaluationCounts,
        RegionEvaluation,
        summarize,
    )

    assets = ds.assets
    counts = EvaluationCounts()
    for loc in test:
        asset = assets[loc]
        regions = region_texts(asset, ds.texts[loc])
        predictions = predict([r.text for r in regions])
        evaluated = []
        for region, spans in zip(regions, predictions, strict=True):
            expected = [Entity(cat, *region.to_utf16_entity(s, e)) for s, e, cat in region.spans]
            predicted = [Entity(cat, *region.to_utf16_entity(s, e)) for s, e, cat in spans]
            evaluated.append(
                RegionEvaluation(region.region_offset, region.region_length, expected, predicted)
            )
        counts.add(DocumentEvaluation(loc, asset.language, evaluated))
    return summarize(counts, EvaluationOptions(kind="manual"))


def rescore_service_results(ds: Dataset, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Re-score the service's own per-document results (evaluation/result) with the same counting code."""
    from shared.models import EvaluationOptions
    from shared.ner.evaluation import (
        DocumentEvaluation,
        Entity,
        EvaluationCounts,
        RegionEvaluation,
        summarize,
    )

    counts = EvaluationCounts()
    for item in items:
        regions = []
        for region in item["customEntityRecognitionResult"]["entities"]:
            regions.append(
                RegionEvaluation(
                    region["regionOffset"],
                    region["regionLength"],
                    [Entity(e["category"], e["offset"], e["length"]) for e in region["expectedEntities"]],
                    [Entity(e["category"], e["offset"], e["length"]) for e in region["predictedEntities"]],
                )
            )
        counts.add(DocumentEvaluation(item["location"], item["language"], regions))
    return summarize(counts, EvaluationOptions(kind="manual"))


def micro(summary: dict[str, Any]) -> dict[str, float]:
    """Micro precision/recall/F1 plus the summed entity counts (tp/fp/fn, to pool several test sets)."""
    ev = summary["customEntityRecognitionEvaluation"]
    out = {k: float(ev[k]) for k in ("microPrecision", "microRecall", "microF1")}
    for short, key in (("tp", "truePositiveCount"), ("fp", "falsePositiveCount"), ("fn", "falseNegativeCount")):
        out[short] = float(sum(entity[key] for entity in ev["entities"].values()))
    return out
