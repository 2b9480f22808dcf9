"""Evaluation options, the seeded stratified train/test split, and the dev set."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import pytest

from shared.errors import InvalidArgument
from shared.models import EvaluationOptions
from shared.ner.project_file import DocumentAsset, Label, Region
from shared.ner.splitting import (
    MIN_TRAINING_EXAMPLES,
    SplitResult,
    carve_dev_set,
    parse_evaluation_options,
    split_documents,
)


def doc(location: str, categories: Sequence[str], dataset: str | None = None) -> DocumentAsset:
    labels = [Label(category, index * 10, 5) for index, category in enumerate(categories)]
    return DocumentAsset(location, "en-us", dataset, [Region(0, 10 * len(categories) + 10, labels)])


def corpus() -> list[DocumentAsset]:
    """50 documents: a common type everywhere, a medium type in 10, a rare type in 2, one type in 1."""
    documents = []
    for number in range(50):
        categories = ["Common"] * 4
        if number % 5 == 0:
            categories.append("Medium")
        if number in (7, 33):
            categories.append("Rare")
        if number == 21:
            categories.append("Unique")
        documents.append(doc(f"{number:02d}.txt", categories))
    return documents


# --- parse_evaluation_options ------------------------------------------------------------------


def test_default_options_are_percentage_80_20() -> None:
    for body in (None, {}, {"kind": "percentage"}):
        assert parse_evaluation_options(body) == EvaluationOptions("percentage", 80, 20)


def test_percentages_are_parsed() -> None:
    assert parse_evaluation_options(
        {"kind": "percentage", "trainingSplitPercentage": 70, "testingSplitPercentage": 30}
    ) == (EvaluationOptions("percentage", 70, 30))
    assert (
        parse_evaluation_options(
            {"kind": "Percentage", "trainingSplitPercentage": 60.0, "testingSplitPercentage": 40}
        ).training_split_percentage
        == 60
    )


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"trainingSplitPercentage": 90}, "testingSplitPercentage"),
        ({"kind": "percentage", "testingSplitPercentage": 25}, "trainingSplitPercentage"),
    ],
)
def test_one_percentage_alone_is_refused_naming_the_missing_one(body: dict, missing: str) -> None:
    # issue 10 #5: one of the two used to be derived from the other, silently.
    with pytest.raises(InvalidArgument) as info:
        parse_evaluation_options(body)
    assert info.value.target == f"evaluationOptions.{missing}"
    assert missing in info.value.message


def test_manual_ignores_percentages() -> None:
    options = parse_evaluation_options({"kind": "manual", "trainingSplitPercentage": 5})
    assert options.kind == "manual"
    assert options.to_public() == {"kind": "manual"}


@pytest.mark.parametrize(
    ("body", "target", "fragment"),
    [
        ({"kind": "random"}, "evaluationOptions.kind", "'random'"),
        ({"kind": 3}, "evaluationOptions.kind", "3"),
        (
            {"trainingSplitPercentage": 70, "testingSplitPercentage": 20},
            "evaluationOptions.trainingSplitPercentage",
            "add up to 100",
        ),
        (
            {"trainingSplitPercentage": 100, "testingSplitPercentage": 0},
            "evaluationOptions.trainingSplitPercentage",
            "between 1 and 99",
        ),
        ({"testingSplitPercentage": 0}, "evaluationOptions.testingSplitPercentage", "between 1 and 99"),
        ({"trainingSplitPercentage": "80"}, "evaluationOptions.trainingSplitPercentage", "whole number"),
        ({"trainingSplitPercentage": 80.5}, "evaluationOptions.trainingSplitPercentage", "whole number"),
        ({"trainingSplitPercentage": True}, "evaluationOptions.trainingSplitPercentage", "whole number"),
    ],
)
def test_invalid_options_name_the_field(body: dict, target: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_evaluation_options(body)
    assert info.value.target == target
    assert fragment in info.value.message
    assert info.value.details[0].target == target


def test_options_must_be_an_object() -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_evaluation_options(["percentage"])  # type: ignore[arg-type]
    assert info.value.target == "evaluationOptions"


# --- split_documents ---------------------------------------------------------------------------


def test_same_seed_same_split_and_seeds_vary() -> None:
    documents = corpus()
    options = EvaluationOptions()
    first = split_documents(documents, options, seed=11)
    assert split_documents(documents, options, seed=11) == first
    others = {tuple(split_documents(documents, options, seed=seed).test) for seed in range(5)}
    assert len(others) > 1


def test_percentage_split_sizes_and_order() -> None:
    documents = corpus()
    result = split_documents(documents, EvaluationOptions("percentage", 80, 20), seed=1)
    assert len(result.test) == 10 and len(result.train) == 40
    assert set(result.train) | set(result.test) == {d.location for d in documents}
    assert not set(result.train) & set(result.test)
    order = [d.location for d in documents]
    assert result.train == sorted(result.train, key=order.index)
    assert result.seed == 1


@pytest.mark.parametrize("seed", range(8))
def test_split_is_stratified_by_entity_type(seed: int) -> None:
    documents = corpus()
    by_location = {d.location: d for d in documents}
    result = split_documents(documents, EvaluationOptions(), seed=seed)
    test_types = {label.category for location in result.test for label in by_location[location].labels()}
    train_types = {label.category for location in result.train for label in by_location[location].labels()}
    # Types in >= 2 documents land on both sides; the single-document type stays in training.
    assert {"Common", "Medium", "Rare"} <= test_types
    assert {"Common", "Medium", "Rare", "Unique"} <= train_types
    assert "Unique" not in test_types
    medium_in_test = sum(
        1
        for location in result.test
        if "Medium" in {label.category for label in by_location[location].labels()}
    )
    assert medium_in_test == 2  # 20% of the 10 documents that have it


def test_test_marked_documents_stay_in_test() -> None:
    documents = corpus()
    documents[3] = doc("03.txt", ["Common", "Medium"], dataset="Test")
    documents[4] = doc("04.txt", ["Common"], dataset="Test")
    result = split_documents(documents, EvaluationOptions("percentage", 80, 20), seed=5)
    assert {"03.txt", "04.txt"} <= set(result.test)
    # The 48 other documents are split 80/20 on their own: round(48 * 0.2) = 10 more test documents.
    assert len(result.test) == 12


def test_manual_split_uses_datasets() -> None:
    documents = [
        doc(f"{n}.txt", ["A"], dataset="Test" if n < 3 else ("Train" if n % 2 else None)) for n in range(10)
    ]
    result = split_documents(documents, EvaluationOptions("manual"), seed=0)
    assert result.test == ["0.txt", "1.txt", "2.txt"]
    assert result.train == [f"{n}.txt" for n in range(3, 10)]


def test_manual_split_without_test_documents_is_rejected() -> None:
    documents = [doc(f"{n}.txt", ["A"], dataset="Train") for n in range(10)]
    with pytest.raises(InvalidArgument) as info:
        split_documents(documents, EvaluationOptions("manual"), seed=0)
    assert info.value.target == "evaluationOptions.kind"
    assert '"Test"' in info.value.message


def test_all_documents_marked_test_leaves_nothing_to_train() -> None:
    documents = [doc(f"{n}.txt", ["A"], dataset="Test") for n in range(10)]
    for options in (EvaluationOptions("manual"), EvaluationOptions()):
        with pytest.raises(InvalidArgument) as info:
            split_documents(documents, options, seed=0)
        assert "training" in info.value.message


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(InvalidArgument) as info:
        split_documents(corpus(), EvaluationOptions(kind="stratified"), seed=0)
    assert info.value.target == "evaluationOptions.kind"


def test_warnings_for_few_training_examples_and_missing_test_entities() -> None:
    documents = corpus()
    result = split_documents(
        documents, EvaluationOptions(), seed=3, categories=["Common", "Medium", "Rare", "Unique", "Unused"]
    )
    codes = {(warning.code, warning.target) for warning in result.warnings}
    assert ("LowTrainingExamples", "Rare") in codes
    assert ("LowTrainingExamples", "Unique") in codes
    assert ("LowTrainingExamples", "Medium") in codes  # 8 documents with one label each in training
    assert ("EntityMissingFromTestSet", "Unique") in codes
    assert ("EntityMissingFromTestSet", "Unused") in codes and ("LowTrainingExamples", "Unused") in codes
    assert not any(target == "Common" for _, target in codes)
    message = next(
        w.message for w in result.warnings if w.target == "Rare" and w.code == "LowTrainingExamples"
    )
    assert "'Rare'" in message and "1 labelled example " in message and str(MIN_TRAINING_EXAMPLES) in message


def test_split_result_round_trips() -> None:
    result = split_documents(corpus(), EvaluationOptions(), seed=9)
    assert result.warnings
    assert SplitResult.from_dict(result.to_dict()) == result


def test_small_pool_still_gets_one_test_document() -> None:
    documents = [doc(f"{n}.txt", ["A", "B"]) for n in range(3)]
    result = split_documents(documents, EvaluationOptions("percentage", 99, 1), seed=0)
    assert len(result.test) == 1 and len(result.train) == 2


def test_documents_without_labels_are_split_too() -> None:
    documents = [doc(f"{n}.txt", []) for n in range(10)]
    result = split_documents(documents, EvaluationOptions("percentage", 70, 30), seed=2)
    assert len(result.test) == 3


# --- carve_dev_set -----------------------------------------------------------------------------


def test_dev_set_is_seeded_stratified_and_never_empties_training() -> None:
    documents = corpus()
    train, dev = carve_dev_set(documents, fraction=0.1, seed=4)
    assert (train, dev) == carve_dev_set(documents, fraction=0.1, seed=4)
    assert len(dev) == 5 and len(train) == 45
    assert not set(train) & set(dev)
    by_location = {d.location: d for d in documents}
    dev_types = Counter(label.category for location in dev for label in by_location[location].labels())
    assert dev_types["Common"] > 0 and dev_types["Medium"] > 0


@pytest.mark.parametrize(("count", "expected_dev"), [(0, 0), (1, 0), (2, 1), (3, 1), (30, 3)])
def test_dev_set_sizes(count: int, expected_dev: int) -> None:
    documents = [doc(f"{n}.txt", ["A"]) for n in range(count)]
    train, dev = carve_dev_set(documents, seed=0)
    assert len(dev) == expected_dev
    assert len(train) == count - expected_dev
    if count:
        assert train


def test_dev_set_large_fraction_keeps_one_training_document() -> None:
    documents = [doc(f"{n}.txt", ["A"]) for n in range(4)]
    train, dev = carve_dev_set(documents, fraction=0.99, seed=0)
    assert len(train) == 1 and len(dev) == 3


def test_random_corpora_cover_every_shared_type_on_both_sides() -> None:
    for trial in range(60):
        rng = random.Random(trial)
        type_count = rng.randint(2, 12)
        documents = []
        for number in range(rng.randint(30, 80)):
            categories = [
                f"T{min(int(rng.expovariate(0.4)), type_count - 1)}" for _ in range(rng.randint(0, 5))
            ]
            documents.append(doc(f"{number}.txt", categories))
        result = split_documents(documents, EvaluationOptions(), seed=trial)
        by_location = {d.location: d for d in documents}
        doc_freq = Counter(c for d in documents for c in {label.category for label in d.labels()})
        test_types = {label.category for location in result.test for label in by_location[location].labels()}
        train_types = {
            label.category for location in result.train for label in by_location[location].labels()
        }
        for category, frequency in doc_freq.items():
            assert category in train_types, (trial, category)
            if frequency >= 2:
                assert category in test_types, (trial, category, frequency)
