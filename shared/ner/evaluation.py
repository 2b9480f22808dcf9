"""Model evaluation with Azure Custom NER semantics.

Matching is exact on (offset, length, category), per region, with no partial credit:

- a prediction identical to a label is a true positive of its category;
- a label without an identical prediction is a false negative of its category, a prediction without an
  identical label a false positive of its category (so a right span with the wrong type counts as one
  FP for the predicted type and one FN for the labelled type);
- the confusion matrix is keyed expected -> predicted with ``"$none"`` for "no entity": a TP goes to
  ``[c][c]``, a same-span pair of different types to ``[gold][pred]``, any other unmatched label to
  ``[gold]["$none"]`` and any other unmatched prediction to ``["$none"][pred]``. Cells hold integer
  counts (Azure's fractional weighting is undocumented) and zero cells are omitted.

Per-entity metrics are float64; micro figures come from the summed counts, macro figures are the
unweighted means of the per-entity values; micro and macro are rendered as float32 values like
Azure's (46/49 -> 0.93877554); micro F1 is 2PR/(P+R) in float32 arithmetic, which is what reproduces
Azure's 0.94845366 (the exact 92/97 would round to 0.9484536). A zero denominator gives 0.0. Only categories that were labelled or
predicted in the test set get an ``entities`` entry.

Evaluation fans out over shards of the test set: each shard fills an :class:`EvaluationCounts`
(:meth:`EvaluationCounts.add`), the JSON form travels between activities, and
:meth:`EvaluationCounts.merge` sums them before :func:`summarize`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy

from shared.models import EvaluationOptions

PROJECT_KIND = "CustomEntityRecognition"
NONE = "$none"


def _float32(value: float) -> float:
    """The value as Azure renders a float32 (shortest repr of the float32, read back as a float)."""
    return float(str(numpy.float32(value)))


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def _micro_f1(precision: float, recall: float) -> float:
    """Micro F1 the way Azure computes it: 2PR / (P + R) in float32 arithmetic.

    Azure's example (P = 46/49, R = 46/48) gives 0.94845366, which is float32 arithmetic on float32 P
    and R; the exact value 92/97 rounds to 0.9484536 instead.
    """
    p = numpy.float32(precision)
    r = numpy.float32(recall)
    if p + r == 0:
        return 0.0
    return float(str(numpy.float32(2) * p * r / (p + r)))


def _f1_counts(tp: int, fp: int, fn: int) -> float:
    """F1 = 2PR / (P + R), written on the counts (same value, no intermediate rounding)."""
    return _ratio(2 * tp, 2 * tp + fp + fn)


@dataclass(frozen=True)
class Entity:
    """An entity span in UTF-16 code units, absolute in its document."""

    category: str
    offset: int
    length: int

    def to_public(self) -> dict[str, Any]:
        return {"category": self.category, "offset": self.offset, "length": self.length}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        return cls(category=str(data["category"]), offset=int(data["offset"]), length=int(data["length"]))


def _sorted(entities: Iterable[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e.offset, e.length, e.category))


@dataclass
class RegionEvaluation:
    """Labelled and predicted entities of one region of a test document."""

    region_offset: int
    region_length: int
    expected: list[Entity]
    predicted: list[Entity]

    def to_public(self) -> dict[str, Any]:
        return {
            "regionOffset": self.region_offset,
            "regionLength": self.region_length,
            "expectedEntities": [e.to_public() for e in _sorted(self.expected)],
            "predictedEntities": [e.to_public() for e in _sorted(self.predicted)],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegionEvaluation:
        return cls(
            region_offset=int(data["regionOffset"]),
            region_length=int(data["regionLength"]),
            expected=[Entity.from_dict(e) for e in data.get("expectedEntities", [])],
            predicted=[Entity.from_dict(e) for e in data.get("predictedEntities", [])],
        )


@dataclass
class DocumentEvaluation:
    """Evaluation result of one test document (one item of Azure's ``evaluation/result``)."""

    location: str
    language: str
    regions: list[RegionEvaluation]

    def to_public(self) -> dict[str, Any]:
        """Azure's ``DocumentEvaluationResult`` item for Custom NER."""
        return {
            "location": self.location,
            "language": self.language,
            "projectKind": PROJECT_KIND,
            "customEntityRecognitionResult": {"entities": [region.to_public() for region in self.regions]},
        }

    def to_dict(self) -> dict[str, Any]:
        return self.to_public()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentEvaluation:
        result = data.get("customEntityRecognitionResult", {})
        return cls(
            location=str(data["location"]),
            language=str(data["language"]),
            regions=[RegionEvaluation.from_dict(region) for region in result.get("entities", [])],
        )


@dataclass
class EvaluationCounts:
    """Per-entity TP/FP/FN counts and confusion cells, summed over documents.

    Attributes:
        true_positive: Category -> exact matches.
        false_positive: Category -> predictions without an identical label.
        false_negative: Category -> labels without an identical prediction.
        confusion: Expected category (or "$none") -> predicted category (or "$none") -> count.
        documents: Number of documents added.
    """

    true_positive: dict[str, int] = field(default_factory=dict)
    false_positive: dict[str, int] = field(default_factory=dict)
    false_negative: dict[str, int] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    documents: int = 0

    def categories(self) -> list[str]:
        """Categories labelled or predicted at least once, sorted."""
        return sorted(set(self.true_positive) | set(self.false_positive) | set(self.false_negative))

    def _bump(self, table: dict[str, int], category: str, amount: int = 1) -> None:
        table[category] = table.get(category, 0) + amount
        for other in (self.true_positive, self.false_positive, self.false_negative):
            other.setdefault(category, 0)

    def _cell(self, expected: str, predicted: str, amount: int = 1) -> None:
        row = self.confusion.setdefault(expected, {})
        row[predicted] = row.get(predicted, 0) + amount

    def add_region(self, expected: Iterable[Entity], predicted: Iterable[Entity]) -> None:
        """Count one region's labels against its predictions."""
        gold = Counter(expected)
        pred = Counter(predicted)
        matched = gold & pred
        for entity, n in matched.items():
            self._bump(self.true_positive, entity.category, n)
            self._cell(entity.category, entity.category, n)
        gold_left = gold - matched
        pred_left = pred - matched
        for entity, n in gold_left.items():
            self._bump(self.false_negative, entity.category, n)
        for entity, n in pred_left.items():
            self._bump(self.false_positive, entity.category, n)
        # Same span, different type: pair them in the confusion matrix (deterministic order).
        by_span: dict[tuple[int, int], list[str]] = {}
        for entity in _sorted(pred_left.elements()):
            by_span.setdefault((entity.offset, entity.length), []).append(entity.category)
        for entity in _sorted(gold_left.elements()):
            candidates = by_span.get((entity.offset, entity.length))
            if candidates:
                self._cell(entity.category, candidates.pop(0))
            else:
                self._cell(entity.category, NONE)
        for categories in by_span.values():
            for category in categories:
                self._cell(NONE, category)

    def add(self, doc: DocumentEvaluation) -> None:
        """Count every region of a document."""
        for region in doc.regions:
            self.add_region(region.expected, region.predicted)
        self.documents += 1

    def merge(self, other: EvaluationCounts) -> EvaluationCounts:
        """A new EvaluationCounts holding the sums of both."""
        merged = EvaluationCounts.from_dict(self.to_dict())
        for source, target in (
            (other.true_positive, merged.true_positive),
            (other.false_positive, merged.false_positive),
            (other.false_negative, merged.false_negative),
        ):
            for category, n in source.items():
                merged._bump(target, category, n)
        for expected, row in other.confusion.items():
            for predicted, n in row.items():
                merged._cell(expected, predicted, n)
        merged.documents += other.documents
        return merged

    def to_dict(self) -> dict[str, Any]:
        return {
            "truePositive": dict(self.true_positive),
            "falsePositive": dict(self.false_positive),
            "falseNegative": dict(self.false_negative),
            "confusion": {expected: dict(row) for expected, row in self.confusion.items()},
            "documents": self.documents,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvaluationCounts:
        def counts(key: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in data.get(key, {}).items()}

        return cls(
            true_positive=counts("truePositive"),
            false_positive=counts("falsePositive"),
            false_negative=counts("falseNegative"),
            confusion={
                str(expected): {str(p): int(n) for p, n in row.items()}
                for expected, row in data.get("confusion", {}).items()
            },
            documents=int(data.get("documents", 0)),
        )


def entity_metrics(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Azure's per-entity evaluation object (float64 precision, recall, F1)."""
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "f1": _f1_counts(tp, fp, fn),
        "precision": precision,
        "recall": recall,
        "truePositiveCount": tp,
        "trueNegativeCount": 0,
        "falsePositiveCount": fp,
        "falseNegativeCount": fn,
    }


def confusion_matrix(counts: EvaluationCounts) -> dict[str, dict[str, dict[str, float]]]:
    """Expected -> predicted -> {normalizedValue, rawValue}; rows normalised to 100, zero cells omitted."""
    matrix: dict[str, dict[str, dict[str, float]]] = {}
    for expected in sorted(counts.confusion):
        row = {predicted: n for predicted, n in counts.confusion[expected].items() if n}
        total = sum(row.values())
        if not total:
            continue
        matrix[expected] = {
            predicted: {"normalizedValue": _float32(100.0 * n / total), "rawValue": float(n)}
            for predicted, n in sorted(row.items())
        }
    return matrix


def summarize(counts: EvaluationCounts, options: EvaluationOptions) -> dict[str, Any]:
    """Azure's ``EvaluationSummary`` JSON for a Custom NER model.

    Args:
        counts: Counts summed over the whole test set.
        options: The evaluation options the training job used (echoed back).

    Returns:
        ``{"projectKind", "customEntityRecognitionEvaluation", "evaluationOptions"}``.
    """
    entities = {
        category: entity_metrics(
            counts.true_positive.get(category, 0),
            counts.false_positive.get(category, 0),
            counts.false_negative.get(category, 0),
        )
        for category in counts.categories()
    }
    tp = sum(counts.true_positive.values())
    fp = sum(counts.false_positive.values())
    fn = sum(counts.false_negative.values())
    micro_precision = _ratio(tp, tp + fp)
    micro_recall = _ratio(tp, tp + fn)
    n = len(entities)
    macro_precision = _ratio(sum(e["precision"] for e in entities.values()), n)
    macro_recall = _ratio(sum(e["recall"] for e in entities.values()), n)
    macro_f1 = _ratio(sum(e["f1"] for e in entities.values()), n)
    return {
        "projectKind": PROJECT_KIND,
        "customEntityRecognitionEvaluation": {
            "confusionMatrix": confusion_matrix(counts),
            "entities": entities,
            "microF1": _micro_f1(micro_precision, micro_recall),
            "microPrecision": _float32(micro_precision),
            "microRecall": _float32(micro_recall),
            "macroF1": _float32(macro_f1),
            "macroPrecision": _float32(macro_precision),
            "macroRecall": _float32(macro_recall),
        },
        "evaluationOptions": options.to_public(),
    }
