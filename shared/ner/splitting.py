"""Evaluation options and the train/test (and train/dev) document split.

Our reading of Azure's documented behaviour ("only the data assigned to a training set is split
according to the percentages provided"):

* ``percentage`` (default 80/20): documents marked ``"Test"`` always stay in the test set; documents
  marked ``"Train"`` or unmarked are split by the percentages. The split is seeded (same seed and same
  documents -> same split) and stratified by entity type, so every entity type that occurs in at
  least two splittable documents lands in both sets. An entity type that occurs in one document only
  goes to training, where it can at least be learned.
* ``manual``: each document's ``dataset`` decides; no Test documents is an error (Language Studio only
  offers the manual split when there are Test documents; the API error is undocumented, we use 400).

The stratification is a greedy variant of iterative stratification: documents are shuffled with the
seed, then ordered by the document frequency of their rarest entity type (rarest first; the shuffle
breaks ties). Each document goes to the set whose remaining quota for that rarest type is larger,
within the sets' overall size quotas. A repair pass then swaps document pairs between the sets while
that reduces the number of entity types missing from one side. This is best effort: when the test
set is tiny and the types many (say 2 test documents for 7 types), full coverage can be impossible.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ErrorDetail, InvalidArgument
from shared.models import EvaluationOptions
from shared.ner.project_file import DocumentAsset

SPLIT_KINDS = ("percentage", "manual")
DEFAULT_TRAINING_PERCENTAGE = 80
MIN_TRAINING_EXAMPLES = 15
"""Azure's guidance warns about entity types with fewer labelled training examples than this."""

WARNING_LOW_TRAINING_EXAMPLES = "LowTrainingExamples"
WARNING_ENTITY_MISSING_FROM_TEST_SET = "EntityMissingFromTestSet"


def _percentage(value: Any, field_name: str, details: list[ErrorDetail]) -> int | None:
    target = f"evaluationOptions.{field_name}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        details.append(
            ErrorDetail("InvalidArgument", f"{target} must be a whole number, not {value!r}.", target)
        )
        return None
    number = int(value)
    if not 1 <= number <= 99:
        details.append(
            ErrorDetail("InvalidArgument", f"{target} is {number}; it must be between 1 and 99.", target)
        )
        return None
    return number


def parse_evaluation_options(body: dict[str, Any] | None) -> EvaluationOptions:
    """Validate a request's ``evaluationOptions`` object.

    Missing options mean ``percentage`` 80/20. With ``percentage``, ``trainingSplitPercentage`` and
    ``testingSplitPercentage`` are given both (summing to 100) or neither (80/20); one alone is a 400
    naming the missing one. With ``manual`` the percentages are ignored. ``kind`` is matched case-insensitively.

    Args:
        body: The ``evaluationOptions`` JSON object, or None.

    Returns:
        The options.

    Raises:
        InvalidArgument: naming the field at fault (``evaluationOptions.kind``,
            ``evaluationOptions.trainingSplitPercentage``, ...), one detail per problem.
    """
    if body is None:
        return EvaluationOptions()
    if not isinstance(body, dict):
        raise InvalidArgument("evaluationOptions must be a JSON object.", target="evaluationOptions")
    details: list[ErrorDetail] = []
    kind_raw = body.get("kind", "percentage")
    kind = kind_raw.lower() if isinstance(kind_raw, str) else None
    if kind not in SPLIT_KINDS:
        details.append(
            ErrorDetail(
                "InvalidArgument",
                f'evaluationOptions.kind {kind_raw!r} is not supported; use "percentage" or "manual".',
                "evaluationOptions.kind",
            )
        )
    training = testing = None
    if kind == "percentage":
        training_raw = body.get("trainingSplitPercentage")
        testing_raw = body.get("testingSplitPercentage")
        if training_raw is None and testing_raw is None:
            training, testing = DEFAULT_TRAINING_PERCENTAGE, 100 - DEFAULT_TRAINING_PERCENTAGE
        else:
            if training_raw is not None:
                training = _percentage(training_raw, "trainingSplitPercentage", details)
            if testing_raw is not None:
                testing = _percentage(testing_raw, "testingSplitPercentage", details)
            # Both or neither: one alone is ambiguous (a typo in the other's name would go unnoticed).
            for given, missing in (
                (testing_raw, "trainingSplitPercentage"),
                (training_raw, "testingSplitPercentage"),
            ):
                if given is not None and body.get(missing) is None:
                    details.append(
                        ErrorDetail(
                            "InvalidArgument",
                            f"evaluationOptions.{missing} is missing: give both trainingSplitPercentage and "
                            "testingSplitPercentage (adding up to 100), or neither for the default 80/20.",
                            f"evaluationOptions.{missing}",
                        )
                    )
            if training is not None and testing is not None and training + testing != 100:
                details.append(
                    ErrorDetail(
                        "InvalidArgument",
                        f"evaluationOptions.trainingSplitPercentage ({training}) and testingSplitPercentage "
                        f"({testing}) must add up to 100.",
                        "evaluationOptions.trainingSplitPercentage",
                    )
                )
    if details:
        raise InvalidArgument(
            "Invalid evaluationOptions: " + " ".join(detail.message for detail in details),
            target=details[0].target,
            details=details,
        )
    if kind == "manual":
        return EvaluationOptions(kind="manual")
    assert training is not None and testing is not None
    return EvaluationOptions(
        kind="percentage", training_split_percentage=training, testing_split_percentage=testing
    )


@dataclass
class SplitResult:
    """The outcome of a split: document locations per set (in project order), the seed, and warnings."""

    train: list[str]
    test: list[str]
    seed: int
    warnings: list[ErrorDetail] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "train": list(self.train),
            "test": list(self.test),
            "seed": self.seed,
            "warnings": [warning.to_dict() for warning in self.warnings],
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> SplitResult:
        return cls(
            train=list(body["train"]),
            test=list(body["test"]),
            seed=int(body["seed"]),
            warnings=[
                ErrorDetail(item["code"], item["message"], item.get("target"))
                for item in body.get("warnings", [])
            ],
        )


def _round_half_up(value: float) -> int:
    return int(value + 0.5)


def _stratified_pick(documents: Sequence[DocumentAsset], count: int, rng: random.Random) -> set[int]:
    """Indices of ``count`` documents chosen so each entity type is spread over both sides."""
    total = len(documents)
    if count <= 0:
        return set()
    if count >= total:
        return set(range(total))
    categories = [set(label.category for label in document.labels()) for document in documents]
    doc_freq: Counter[str] = Counter(category for cats in categories for category in cats)
    fraction = count / total
    want_pick: dict[str, int] = {}
    for category, frequency in doc_freq.items():
        # Types in 2+ documents get at least one on each side; a type in one document stays unpicked.
        quota = _round_half_up(frequency * fraction)
        want_pick[category] = min(max(quota, 1), frequency - 1) if frequency >= 2 else 0
    want_keep = {category: doc_freq[category] - want_pick[category] for category in doc_freq}

    order = list(range(total))
    rng.shuffle(order)
    rarity = {i: min((doc_freq[c] for c in categories[i]), default=total + 1) for i in order}
    order.sort(key=lambda i: rarity[i])  # stable: the shuffle breaks ties

    room_pick, room_keep = count, total - count
    picked: set[int] = set()
    for i in order:
        if room_pick == 0:
            pick = False
        elif room_keep == 0:
            pick = True
        else:
            pick_need = keep_need = 0
            if categories[i]:
                rarest = min(categories[i], key=lambda c: (doc_freq[c], c))
                pick_need, keep_need = want_pick[rarest], want_keep[rarest]
            if pick_need != keep_need:
                pick = pick_need > keep_need
            else:
                pick = rng.random() < room_pick / (room_pick + room_keep)
        for category in categories[i]:
            if pick:
                want_pick[category] -= 1
            else:
                want_keep[category] -= 1
        if pick:
            picked.add(i)
            room_pick -= 1
        else:
            room_keep -= 1
    _repair_coverage(categories, doc_freq, picked, order)
    return picked


_MAX_SWAP_CANDIDATES = 2000


def _repair_coverage(
    categories: list[set[str]], doc_freq: Counter[str], picked: set[int], order: list[int]
) -> None:
    """Swap documents between the sides while that leaves fewer entity types missing from one side.

    The greedy pass occasionally leaves a type that occurs in 2+ documents on one side only (when a
    document's rarest type decided its side against another type's need). Each swap keeps the set
    sizes and is taken only if it strictly reduces the number of such gaps, so the loop ends.
    """
    picked_count: Counter[str] = Counter(c for i in picked for c in categories[i])

    def gap(category: str, delta_pick: int) -> int:
        frequency = doc_freq[category]
        if frequency < 2:
            return 0
        count = picked_count[category] + delta_pick
        return 1 if count == 0 or count == frequency else 0

    def swap_gain(into_pick: int, out_of_pick: int) -> int:
        delta: Counter[str] = Counter()
        for category in categories[into_pick]:
            delta[category] += 1
        for category in categories[out_of_pick]:
            delta[category] -= 1
        return sum(gap(category, 0) - gap(category, change) for category, change in delta.items())

    for _ in range(len(doc_freq) * 2):
        missing = sorted((c for c in doc_freq if gap(c, 0)), key=lambda c: (doc_freq[c], c))
        if not missing:
            return
        swapped = False
        for category in missing:
            lacks_pick = picked_count[category] == 0
            incoming = [i for i in order if (i in picked) != lacks_pick and category in categories[i]]
            outgoing = [i for i in order if (i in picked) == lacks_pick][:_MAX_SWAP_CANDIDATES]
            for first in incoming:
                for second in outgoing:
                    into_pick, out_of_pick = (first, second) if lacks_pick else (second, first)
                    if swap_gain(into_pick, out_of_pick) > 0:
                        picked.discard(out_of_pick)
                        picked.add(into_pick)
                        picked_count.update(categories[into_pick])
                        picked_count.subtract(categories[out_of_pick])
                        swapped = True
                        break
                if swapped:
                    break
            if swapped:
                break
        if not swapped:
            return


def _split_warnings(
    train: Sequence[DocumentAsset], test: Sequence[DocumentAsset], categories: Sequence[str] | None
) -> list[ErrorDetail]:
    train_counts: Counter[str] = Counter(label.category for document in train for label in document.labels())
    test_counts: Counter[str] = Counter(label.category for document in test for label in document.labels())
    all_categories = set(train_counts) | set(test_counts) | set(categories or ())
    warnings: list[ErrorDetail] = []
    for category in sorted(all_categories):
        if train_counts[category] < MIN_TRAINING_EXAMPLES:
            warnings.append(
                ErrorDetail(
                    WARNING_LOW_TRAINING_EXAMPLES,
                    f"Entity type {category!r} has {train_counts[category]} labelled example"
                    f"{'s' if train_counts[category] != 1 else ''} in the training set; at least "
                    f"{MIN_TRAINING_EXAMPLES} are recommended (about 50 is better).",
                    category,
                )
            )
        if test_counts[category] == 0:
            warnings.append(
                ErrorDetail(
                    WARNING_ENTITY_MISSING_FROM_TEST_SET,
                    f"Entity type {category!r} has no labelled examples in the test set, so the evaluation "
                    "cannot score it.",
                    category,
                )
            )
    return warnings


def check_manual_split(test_document_count: int) -> None:
    """A ``manual`` split needs at least one document with dataset ``Test``.

    Raises:
        InvalidArgument: naming ``evaluationOptions.kind`` when there is none.
    """
    if test_document_count == 0:
        raise InvalidArgument(
            'evaluationOptions.kind is "manual" but no document has dataset "Test"; assign some '
            'documents to the test set or use kind "percentage".',
            target="evaluationOptions.kind",
        )


def split_documents(
    documents: Sequence[DocumentAsset],
    options: EvaluationOptions,
    *,
    seed: int,
    categories: Sequence[str] | None = None,
) -> SplitResult:
    """Split a project's documents into training and test sets.

    Args:
        documents: The project's documents.
        options: How to split (see the module docstring).
        seed: Seed for the random part; the same seed and documents always give the same split.
        categories: The project's declared entity types, so that types without any label get warnings
            too (optional).

    Returns:
        Locations per set (in the order of ``documents``), the seed, and warnings (code
        ``LowTrainingExamples`` / ``EntityMissingFromTestSet``, target = entity type).

    Raises:
        InvalidArgument: ``manual`` without Test documents, no training documents, or an unknown kind.
    """
    if options.kind == "manual":
        train = [document for document in documents if not document.is_test]
        test = [document for document in documents if document.is_test]
        check_manual_split(len(test))
    elif options.kind == "percentage":
        fixed_test = [document for document in documents if document.is_test]
        pool = [document for document in documents if not document.is_test]
        count = _round_half_up(len(pool) * options.testing_split_percentage / 100)
        if not fixed_test and len(pool) >= 2:
            count = max(count, 1)
        count = min(count, max(len(pool) - 1, 0))
        picked = _stratified_pick(pool, count, random.Random(f"test-split:{seed}"))
        chosen = {pool[i].location for i in picked}
        train = [document for document in pool if document.location not in chosen]
        test = [document for document in documents if document.is_test or document.location in chosen]
        if not test:
            raise InvalidArgument(
                "There are not enough documents to hold out a test set; add documents.",
                target="evaluationOptions.testingSplitPercentage",
            )
    else:
        raise InvalidArgument(
            f'evaluationOptions.kind {options.kind!r} is not supported; use "percentage" or "manual".',
            target="evaluationOptions.kind",
        )
    if not train:
        raise InvalidArgument(
            'No documents are left for training: every document has dataset "Test".',
            target="evaluationOptions.kind",
        )
    return SplitResult(
        train=[document.location for document in train],
        test=[document.location for document in test],
        seed=seed,
        warnings=_split_warnings(train, test, categories),
    )


def carve_dev_set(
    train: Sequence[DocumentAsset], *, fraction: float = 0.1, seed: int
) -> tuple[list[str], list[str]]:
    """Hold out a stratified development set from the training documents (for early stopping).

    At least one dev document is carved when there are two or more training documents, and at least
    one document always stays for training. With a single training document the dev set is empty.

    Args:
        train: The training documents.
        fraction: Share of the training documents to hold out (rounded half up).
        seed: Seed; the same seed and documents give the same sets.

    Returns:
        ``(train_locations, dev_locations)``, each in the order of ``train``.
    """
    total = len(train)
    if total < 2:
        return [document.location for document in train], []
    count = min(max(_round_half_up(total * fraction), 1), total - 1)
    picked = _stratified_pick(train, count, random.Random(f"dev-split:{seed}"))
    remaining = [document.location for i, document in enumerate(train) if i not in picked]
    dev = [document.location for i, document in enumerate(train) if i in picked]
    return remaining, dev
