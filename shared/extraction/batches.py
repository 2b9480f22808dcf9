"""How a job's documents are cut into batches, the unit of work of one prediction activity.

A batch holds at most ``max_documents`` documents and, unless a single document is larger, at most
``max_characters`` characters, so every activity does a bounded amount of work (prediction time and
memory grow with the text) while a job of many short documents needs few activities. Documents keep
their request order inside and across batches.
"""

from __future__ import annotations

from collections.abc import Sequence


def plan_batches(lengths: Sequence[int], max_documents: int, max_characters: int) -> list[list[int]]:
    """Document indices per batch, in order.

    Args:
        lengths: Each document's length in characters, in request order.
        max_documents: Documents per batch (at least 1).
        max_characters: Characters per batch; a longer document makes a batch of its own.
    """
    if max_documents < 1 or max_characters < 1:
        raise ValueError("max_documents and max_characters must be at least 1")
    batches: list[list[int]] = []
    current: list[int] = []
    characters = 0
    for index, length in enumerate(lengths):
        if current and (len(current) >= max_documents or characters + length > max_characters):
            batches.append(current)
            current, characters = [], 0
        current.append(index)
        characters += length
    if current:
        batches.append(current)
    return batches
