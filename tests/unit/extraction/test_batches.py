"""Cutting a job's documents into prediction batches."""

from __future__ import annotations

import pytest

from shared.extraction.batches import plan_batches


def test_batches_are_bounded_by_documents_and_characters_and_keep_order() -> None:
    assert plan_batches([10] * 7, max_documents=3, max_characters=1000) == [[0, 1, 2], [3, 4, 5], [6]]
    assert plan_batches([400, 400, 400, 100], max_documents=10, max_characters=1000) == [[0, 1], [2, 3]]


def test_a_document_longer_than_the_character_bound_is_a_batch_of_its_own() -> None:
    assert plan_batches([5, 5000, 5], max_documents=10, max_characters=1000) == [[0], [1], [2]]


def test_every_document_is_in_exactly_one_batch() -> None:
    lengths = [(i * 37) % 900 + 1 for i in range(25)]
    batches = plan_batches(lengths, max_documents=4, max_characters=1500)
    assert [index for batch in batches for index in batch] == list(range(25))
    assert all(len(batch) <= 4 for batch in batches)
    assert all(sum(lengths[i] for i in batch) <= 1500 for batch in batches if len(batch) > 1)


def test_no_documents_no_batches_and_bounds_are_checked() -> None:
    assert plan_batches([], 5, 100) == []
    with pytest.raises(ValueError):
        plan_batches([1], 0, 100)
