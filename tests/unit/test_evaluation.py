"""Azure-style Custom NER evaluation: exact matching, micro/macro, confusion matrix, fan-in."""

from __future__ import annotations

import json

import pytest

from shared.models import EvaluationOptions
from shared.ner.evaluation import (
    NONE,
    DocumentEvaluation,
    Entity,
    EvaluationCounts,
    RegionEvaluation,
    summarize,
)

OPTIONS = EvaluationOptions()


def _doc(location: str, expected: list[Entity], predicted: list[Entity]) -> DocumentEvaluation:
    return DocumentEvaluation(location, "en-us", [RegionEvaluation(0, 1000, expected, predicted)])


def _spec_example_counts() -> EvaluationCounts:
    """46 exact matches, 3 spurious predictions, 2 missed labels (the 2023-04-01 spec's micro figures)."""
    expected = [Entity("Date" if i % 2 else "Amount", i * 10, 5) for i in range(48)]
    predicted = expected[:46] + [Entity("Amount", 2000 + i * 10, 4) for i in range(3)]
    counts = EvaluationCounts()
    counts.add(_doc("1.txt", expected, predicted))
    return counts


def test_spec_example_micro_figures() -> None:
    result = summarize(_spec_example_counts(), OPTIONS)["customEntityRecognitionEvaluation"]
    assert result["microPrecision"] == 0.93877554
    assert result["microRecall"] == 0.9583333
    assert result["microF1"] == 0.94845366


def test_summary_shape_and_options_echo() -> None:
    summary = summarize(_spec_example_counts(), EvaluationOptions("percentage", 70, 30))
    assert summary["projectKind"] == "CustomEntityRecognition"
    assert summary["evaluationOptions"] == {
        "kind": "percentage",
        "trainingSplitPercentage": 70,
        "testingSplitPercentage": 30,
    }
    evaluation = summary["customEntityRecognitionEvaluation"]
    assert set(evaluation) == {
        "confusionMatrix",
        "entities",
        "microF1",
        "microPrecision",
        "microRecall",
        "macroF1",
        "macroPrecision",
        "macroRecall",
    }
    json.dumps(summary)  # JSON-able as is


def test_per_entity_and_macro() -> None:
    # Person: 2 TP, 1 FP, 0 FN. City: 1 TP, 0 FP, 2 FN.
    expected = [Entity("Person", 0, 5), Entity("Person", 10, 5), Entity("City", 20, 4), Entity("City", 30, 4)]
    expected.append(Entity("City", 40, 4))
    predicted = [
        Entity("Person", 0, 5),
        Entity("Person", 10, 5),
        Entity("Person", 50, 3),
        Entity("City", 20, 4),
    ]
    counts = EvaluationCounts()
    counts.add(_doc("a.txt", expected, predicted))
    evaluation = summarize(counts, OPTIONS)["customEntityRecognitionEvaluation"]
    person = evaluation["entities"]["Person"]
    city = evaluation["entities"]["City"]
    assert person == {
        "f1": pytest.approx(0.8),
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "truePositiveCount": 2,
        "trueNegativeCount": 0,
        "falsePositiveCount": 1,
        "falseNegativeCount": 0,
    }
    assert city["precision"] == 1.0
    assert city["recall"] == pytest.approx(1 / 3)
    assert city["f1"] == pytest.approx(0.5)
    # per-entity values are full float64
    assert person["precision"] == 2 / 3
    # macro = unweighted means of per-entity values (macroF1 is not the F1 of macroP and macroR)
    assert evaluation["macroPrecision"] == pytest.approx((2 / 3 + 1.0) / 2, abs=1e-7)
    assert evaluation["macroRecall"] == pytest.approx((1.0 + 1 / 3) / 2, abs=1e-7)
    assert evaluation["macroF1"] == pytest.approx((0.8 + 0.5) / 2, abs=1e-7)
    macro_p, macro_r = (2 / 3 + 1.0) / 2, (1.0 + 1 / 3) / 2
    assert evaluation["macroF1"] != pytest.approx(2 * macro_p * macro_r / (macro_p + macro_r), abs=1e-4)
    # micro from summed counts: 3 TP, 1 FP, 2 FN
    assert evaluation["microPrecision"] == 0.75
    assert evaluation["microRecall"] == 0.6
    assert evaluation["microF1"] == pytest.approx(2 / 3, abs=1e-7)


def test_float32_rendering_of_micro_and_macro() -> None:
    counts = EvaluationCounts()
    counts.add(_doc("a.txt", [Entity("A", 0, 1), Entity("A", 5, 1), Entity("A", 9, 1)], [Entity("A", 0, 1)]))
    evaluation = summarize(counts, OPTIONS)["customEntityRecognitionEvaluation"]
    assert evaluation["microRecall"] == 0.33333334  # float32(1/3), not 0.3333333333333333
    assert evaluation["entities"]["A"]["recall"] == 1 / 3  # float64


def test_partial_overlap_is_one_false_positive_and_one_false_negative() -> None:
    counts = EvaluationCounts()
    counts.add(_doc("11.txt", [Entity("BorrowerAddress", 181, 34)], [Entity("BorrowerAddress", 200, 15)]))
    entity = summarize(counts, OPTIONS)["customEntityRecognitionEvaluation"]["entities"]["BorrowerAddress"]
    assert (entity["truePositiveCount"], entity["falsePositiveCount"], entity["falseNegativeCount"]) == (
        0,
        1,
        1,
    )
    assert counts.confusion == {"BorrowerAddress": {NONE: 1}, NONE: {"BorrowerAddress": 1}}


def test_confusion_matrix_cells() -> None:
    expected = [Entity("Date", 0, 10), Entity("Date", 20, 10), Entity("Amount", 40, 5), Entity("Name", 60, 8)]
    predicted = [
        Entity("Date", 0, 10),  # TP -> [Date][Date]
        Entity("Amount", 20, 10),  # same span, other type -> [Date][Amount]
        Entity("Amount", 90, 3),  # spurious -> [$none][Amount]
    ]  # Amount(40,5) and Name(60,8) missed -> [gold][$none]
    counts = EvaluationCounts()
    counts.add(_doc("d.txt", expected, predicted))
    matrix = summarize(counts, OPTIONS)["customEntityRecognitionEvaluation"]["confusionMatrix"]
    assert matrix == {
        "Date": {
            "Date": {"normalizedValue": 50.0, "rawValue": 1.0},
            "Amount": {"normalizedValue": 50.0, "rawValue": 1.0},
        },
        "Amount": {NONE: {"normalizedValue": 100.0, "rawValue": 1.0}},
        "Name": {NONE: {"normalizedValue": 100.0, "rawValue": 1.0}},
        NONE: {"Amount": {"normalizedValue": 100.0, "rawValue": 1.0}},
    }
    # the same-span pair still counts as FN for Date and FP for Amount
    entities = summarize(counts, OPTIONS)["customEntityRecognitionEvaluation"]["entities"]
    assert entities["Date"]["falseNegativeCount"] == 1
    assert entities["Amount"]["falsePositiveCount"] == 2
    assert entities["Amount"]["falseNegativeCount"] == 1


def test_normalized_values_sum_to_100_per_row() -> None:
    expected = [Entity("A", i * 10, 3) for i in range(3)]
    predicted = [Entity("A", 0, 3), Entity("B", 10, 3)]
    counts = EvaluationCounts()
    counts.add(_doc("x.txt", expected, predicted))
    row = summarize(counts, OPTIONS)["customEntityRecognitionEvaluation"]["confusionMatrix"]["A"]
    assert row["A"]["normalizedValue"] == 33.333332  # float32 rendering of 100/3
    assert sum(cell["rawValue"] for cell in row.values()) == 3.0
    assert sum(cell["normalizedValue"] for cell in row.values()) == pytest.approx(100.0, abs=1e-4)


def test_zero_denominators_give_zero() -> None:
    counts = EvaluationCounts()
    counts.add(_doc("only-fp.txt", [], [Entity("A", 0, 2)]))
    counts.add(_doc("only-fn.txt", [Entity("B", 0, 2)], []))
    evaluation = summarize(counts, OPTIONS)["customEntityRecognitionEvaluation"]
    assert evaluation["entities"]["A"] == {
        "f1": 0.0,
        "precision": 0.0,
        "recall": 0.0,
        "truePositiveCount": 0,
        "trueNegativeCount": 0,
        "falsePositiveCount": 1,
        "falseNegativeCount": 0,
    }
    assert evaluation["entities"]["B"]["precision"] == 0.0
    assert evaluation["microF1"] == 0.0

    empty = summarize(EvaluationCounts(), OPTIONS)["customEntityRecognitionEvaluation"]
    assert empty["entities"] == {}
    assert empty["confusionMatrix"] == {}
    assert (empty["microF1"], empty["macroF1"], empty["macroPrecision"]) == (0.0, 0.0, 0.0)


def test_entities_absent_from_the_test_set_have_no_key() -> None:
    counts = EvaluationCounts()
    counts.add(_doc("a.txt", [Entity("Seen", 0, 4)], [Entity("Seen", 0, 4)]))
    evaluation = summarize(counts, OPTIONS)["customEntityRecognitionEvaluation"]
    assert set(evaluation["entities"]) == {"Seen"}
    assert set(evaluation["confusionMatrix"]) == {"Seen"}


def test_duplicate_spans_are_counted_as_a_multiset() -> None:
    counts = EvaluationCounts()
    counts.add(_doc("dup.txt", [Entity("A", 0, 3)], [Entity("A", 0, 3), Entity("A", 0, 3)]))
    assert (counts.true_positive["A"], counts.false_positive["A"], counts.false_negative["A"]) == (1, 1, 0)


def test_merge_equals_counting_everything_at_once() -> None:
    docs = [
        _doc("1.txt", [Entity("A", 0, 3), Entity("B", 5, 2)], [Entity("A", 0, 3), Entity("A", 5, 2)]),
        _doc("2.txt", [Entity("B", 1, 2)], [Entity("C", 9, 1)]),
        _doc("3.txt", [Entity("C", 4, 4)], [Entity("C", 4, 4)]),
    ]
    whole = EvaluationCounts()
    for doc in docs:
        whole.add(doc)
    left, right = EvaluationCounts(), EvaluationCounts()
    left.add(docs[0])
    for doc in docs[1:]:
        right.add(doc)
    # counts travel as JSON between activities
    left = EvaluationCounts.from_dict(json.loads(json.dumps(left.to_dict())))
    right = EvaluationCounts.from_dict(json.loads(json.dumps(right.to_dict())))
    merged = left.merge(right)
    assert merged.to_dict() == whole.to_dict()
    assert merged.documents == 3
    assert summarize(merged, OPTIONS) == summarize(whole, OPTIONS)
    # merge does not modify its operands
    assert left.documents == 1 and right.documents == 2


def test_document_evaluation_public_shape_round_trips() -> None:
    doc = DocumentEvaluation(
        "11.txt",
        "en-us",
        [
            RegionEvaluation(
                0,
                1780,
                [Entity("BorrowerAddress", 181, 34)],
                [Entity("Date", 20, 5), Entity("BorrowerAddress", 200, 15)],
            )
        ],
    )
    public = doc.to_public()
    assert public == {
        "location": "11.txt",
        "language": "en-us",
        "projectKind": "CustomEntityRecognition",
        "customEntityRecognitionResult": {
            "entities": [
                {
                    "regionOffset": 0,
                    "regionLength": 1780,
                    "expectedEntities": [{"category": "BorrowerAddress", "offset": 181, "length": 34}],
                    "predictedEntities": [
                        {"category": "Date", "offset": 20, "length": 5},
                        {"category": "BorrowerAddress", "offset": 200, "length": 15},
                    ],
                }
            ]
        },
    }
    assert DocumentEvaluation.from_dict(json.loads(json.dumps(doc.to_dict()))) == doc
