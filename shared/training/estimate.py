"""Progress and end-time estimates of a training job before its first chunk has been timed.

From the first seconds a client sees a ``percentComplete`` above 0 and an ``estimatedEndDateTime``:
both come from the corpus size and the step budget, with per-document and per-step costs measured by
``bench.scaling`` / ``bench.train_memory`` on a 2-core machine (BENCHMARKS.md, section 4), rounded up.
Once a chunk has run, :func:`shared.jobs.lifecycle.record_progress` replaces them with the measured
time per step. The phases before training get a small, fixed share of ``percentComplete``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

SPLIT_SECONDS_PER_DOCUMENT = 0.001
"""Listing, checking and splitting: 0.8 s per 1,000 documents measured."""
CONVERT_SECONDS_PER_DOCUMENT = 0.003
"""Reading, checking and converting with 2 workers: ~2.4 ms per document measured."""
INIT_SECONDS_PER_TRAINING_DOCUMENT = 0.0006
"""Model initialisation reads the training corpus: 0.9 s at 1,000 documents, 9.0 s at 16,000."""
INIT_BASE_SECONDS = 1.0
SECONDS_PER_STEP = 0.1
"""0.04-0.11 s per step measured between 1,000 and 16,000 documents."""
EVALUATE_SECONDS_PER_TEST_DOCUMENT = 0.005
"""Evaluation: 1.0 s for 100 test documents, 7.4 s for 1,600."""

PHASE_PERCENT = {"splitting": 0, "converting": 1, "initialising": 2, "training": 3}
"""``percentComplete`` when a phase starts: a small share, below the first chunk's own figure."""


@dataclass(frozen=True)
class Corpus:
    """The sizes an estimate needs (kept in the job's manifest)."""

    documents: int
    training_documents: int
    test_documents: int

    def to_dict(self) -> dict[str, int]:
        return {"documents": self.documents, "training": self.training_documents, "test": self.test_documents}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Corpus:
        data = data or {}
        return cls(int(data.get("documents", 0)), int(data.get("training", 0)), int(data.get("test", 0)))


def remaining_seconds(phase: str, corpus: Corpus, max_steps: int) -> float:
    """Estimated seconds from the start of ``phase`` to the end of the job."""
    order = ["splitting", "converting", "initialising", "training", "evaluating"]
    costs = {
        "splitting": SPLIT_SECONDS_PER_DOCUMENT * corpus.documents,
        "converting": CONVERT_SECONDS_PER_DOCUMENT * corpus.documents,
        "initialising": INIT_BASE_SECONDS + INIT_SECONDS_PER_TRAINING_DOCUMENT * corpus.training_documents,
        "training": SECONDS_PER_STEP * max_steps,
        "evaluating": EVALUATE_SECONDS_PER_TEST_DOCUMENT * corpus.test_documents,
    }
    start = order.index(phase) if phase in order else len(order)
    return sum(costs[name] for name in order[start:])


def estimated_end(now: datetime, phase: str, corpus: Corpus, max_steps: int) -> datetime:
    """When the job should end if ``phase`` starts ``now``."""
    return now + timedelta(seconds=remaining_seconds(phase, corpus, max_steps))
