"""The models a worker process serves: one process-wide :class:`ModelCache` of spaCy pipelines.

Deployment jobs call :func:`served_model` to load a deployment's model where predictions run (so the
first extraction after a deploy is not slowed by loading), and prediction activities call it to get the
model of the version a job pinned. The cache's capacity is set by the first call of the process (the
``NER_MODEL_CACHE_SIZE`` setting).

A loaded pipeline comes with its confidence calibrator (``calibration.json`` next to ``model.bin``, fitted on
the dev set at training time, :mod:`shared.ner.calibration`): ``confidenceScore`` is the calibrated raw
score. A model version trained before calibration existed has no such file and serves its raw scores
(the identity calibrator).

A loaded pipeline comes with a lock: activities may run on several threads of one worker, and a spaCy
pipeline is not safe to run from two threads at once (its vocabulary grows as it meets new words).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from spacy.language import Language

from shared.errors import NotFound
from shared.extraction.model_cache import ModelCache
from shared.extraction.prediction import PredictedEntity, predict_entities
from shared.jobs.workspace import calibration_blob
from shared.ner.calibration import IDENTITY, Calibrator

logger = logging.getLogger(__name__)

_CACHE: ModelCache[ServedModel] | None = None
_CACHE_LOCK = threading.Lock()


class ModelBytes(Protocol):
    """Where a model version's bytes come from (the app's blob store)."""

    def get_bytes(self, name: str) -> bytes: ...


@dataclass
class ServedModel:
    """A loaded pipeline, its confidence calibrator and the lock that serialises its use within this process."""

    nlp: Language
    calibrator: Calibrator = IDENTITY
    lock: threading.Lock = field(default_factory=threading.Lock)

    def predict(self, texts: Sequence[str]) -> list[list[PredictedEntity]]:
        """The entities of each text with their calibrated confidence."""
        with self.lock:
            predicted = predict_entities(self.nlp, texts)
        if self.calibrator.is_identity:
            return predicted
        return [self._calibrated(entities) for entities in predicted]

    def _calibrated(self, entities: list[PredictedEntity]) -> list[PredictedEntity]:
        scores = self.calibrator.apply_all([entity.confidence for entity in entities])
        return [replace(entity, confidence=score) for entity, score in zip(entities, scores, strict=True)]


def model_cache(capacity: int) -> ModelCache[ServedModel]:
    """This process's cache (created with ``capacity`` on first use)."""
    global _CACHE
    with _CACHE_LOCK:
        if _CACHE is None:
            _CACHE = ModelCache(capacity)
        return _CACHE


def load_calibrator(blobs: ModelBytes, model_blob: str) -> Calibrator:
    """The calibrator stored with a model version; the identity when it has none (or it is unreadable)."""
    try:
        data = json.loads(blobs.get_bytes(calibration_blob(model_blob)).decode("utf-8"))
    except NotFound:
        return IDENTITY  # a model trained before calibration existed
    except ValueError:  # not UTF-8 JSON: serve raw scores rather than fail every extraction
        logger.warning("The calibration of model %s is unreadable; serving raw confidence scores", model_blob)
        return IDENTITY
    return Calibrator.from_dict(data)


def served_model(blobs: ModelBytes, model_blob: str, capacity: int) -> ServedModel:
    """The pipeline stored at ``model_blob`` (one trained model version) with its calibrator, loaded at most
    once per process."""
    from shared.ner.training import load_model

    def load() -> ServedModel:
        logger.info("Loading model %s into this worker", model_blob)
        nlp = load_model(blobs.get_bytes(model_blob))
        return ServedModel(nlp, load_calibrator(blobs, model_blob))

    return model_cache(capacity).get(model_blob, load)
