"""The models a worker process serves: one process-wide :class:`ModelCache` of spaCy pipelines.

Deployment jobs call :func:`served_model` to load a deployment's model where predictions run (so the
first extraction after a deploy is not slowed by loading), and prediction activities call it to get the
model of the version a job pinned. The cache's capacity is set by the first call of the process (the
``NER_MODEL_CACHE_SIZE`` setting).

A loaded pipeline comes with a lock: activities may run on several threads of one worker, and a spaCy
pipeline is not safe to run from two threads at once (its vocabulary grows as it meets new words).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from spacy.language import Language

from shared.extraction.model_cache import ModelCache
from shared.extraction.prediction import PredictedEntity, predict_entities

logger = logging.getLogger(__name__)

_CACHE: ModelCache[ServedModel] | None = None
_CACHE_LOCK = threading.Lock()


class ModelBytes(Protocol):
    """Where a model version's bytes come from (the app's blob store)."""

    def get_bytes(self, name: str) -> bytes: ...


@dataclass
class ServedModel:
    """A loaded pipeline and the lock that serialises its use within this process."""

    nlp: Language
    lock: threading.Lock = field(default_factory=threading.Lock)

    def predict(self, texts: Sequence[str]) -> list[list[PredictedEntity]]:
        with self.lock:
            return predict_entities(self.nlp, texts)


def model_cache(capacity: int) -> ModelCache[ServedModel]:
    """This process's cache (created with ``capacity`` on first use)."""
    global _CACHE
    with _CACHE_LOCK:
        if _CACHE is None:
            _CACHE = ModelCache(capacity)
        return _CACHE


def served_model(blobs: ModelBytes, model_blob: str, capacity: int) -> ServedModel:
    """The pipeline stored at ``model_blob`` (one trained model version), loaded at most once per process."""
    from shared.ner.training import load_model

    def load() -> ServedModel:
        logger.info("Loading model %s into this worker", model_blob)
        return ServedModel(load_model(blobs.get_bytes(model_blob)))

    return model_cache(capacity).get(model_blob, load)
