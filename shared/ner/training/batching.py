"""An epoch's batches as document indices, rebuilt exactly from (seed, epoch, schedule position).

An epoch's order is a shuffle seeded by ``(seed, epoch)`` and its batches are built with the configured
batcher from a given position of the batch-size schedule, so a resumed run sees the very same batches.
Gradient accumulation splits a batch with spaCy's own ``subdivide_batch``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from typing import Any

from spacy.util import registry


class Counted(Iterator[Any]):
    """An iterator that counts how many values it has produced (to restore a schedule's position)."""

    def __init__(self, source: Iterator[Any], skip: int = 0) -> None:
        self._source = source
        for _ in range(skip):
            next(self._source)
        self.count = 0  # values produced after the skipped ones

    def __next__(self) -> Any:
        value = next(self._source)
        self.count += 1
        return value


def schedule(value: Any) -> Iterator[Any]:
    """A config value that may be a constant, a list, or a registered schedule, as an iterator."""
    value = _resolve(value)
    if isinstance(value, int | float):
        return itertools.repeat(value)
    return iter(value)


def _resolve(value: Any) -> Any:
    if isinstance(value, dict):
        return registry.resolve({"value": value})["value"]
    return value


def epoch_batches(
    training: dict[str, Any], lengths: Sequence[int], seed: int, epoch: int, sizes_used: int
) -> tuple[list[list[int]], int]:
    """The batches of one epoch, as document indices, and the batch-size schedule's position after it.

    The order is a shuffle of the indices seeded by (seed, epoch) (the same permutation a list of examples
    of that length gets); the batcher is the config's, with its size schedule advanced to ``sizes_used``
    values, measuring each document by its predicted length (what ``len(example)`` is).
    """
    order = list(range(len(lengths)))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    batcher_cfg = dict(training["batcher"])
    factory = registry.batchers.get(batcher_cfg.pop("@batchers"))
    sizes = Counted(schedule(batcher_cfg.pop("size")), skip=sizes_used)
    args = {key: _resolve(value) for key, value in batcher_cfg.items()}
    args["get_length"] = lengths.__getitem__
    batcher = factory(size=sizes, **args)
    batches = [list(batch) for batch in batcher(order)]
    return batches, sizes_used + sizes.count
