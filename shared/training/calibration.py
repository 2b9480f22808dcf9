"""Fitting a trained model's confidence calibrator on its development set (part of the register step).

The dev documents are the ones training carved from the training documents to choose the best checkpoint
(the ``dev-*`` DocBins of the job); the test documents are not used, so the evaluation stays an honest
measurement. The model predicts them exactly as the runtime does (:func:`predict_entities`, raw path
scores) and each prediction is *correct* when the same span and category are labelled, as the evaluation
counts; a prediction over tokens whose label was left out of training (unaligned labels, "missing") is
neither right nor wrong and is skipped, as in the dev scoring. At most :data:`CALIBRATION_MAX_DOCS` dev
documents are predicted (the same seeded sample the dev scoring uses), so the step costs the same for any
corpus size.

Why dev documents chose the checkpoint and still serve for calibration: the calibrator only rescales scores
(2 parameters, monotone), the selection bias of one checkpoint choice is small next to the raw score's
over-confidence (BENCHMARKS.md section 9 measures the result on the test documents).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from spacy.language import Language
from spacy.tokens import Doc, DocBin

from shared.extraction.prediction import predict_entities
from shared.ner.calibration import Calibrator, fit_calibrator
from shared.ner.training.scoring import DEV_EVAL_MAX_DOCS, dev_indices

CALIBRATION_MAX_DOCS = DEV_EVAL_MAX_DOCS
"""Dev documents predicted to fit the calibrator (a fixed seeded sample when the dev set is larger)."""


def dev_observations(nlp: Language, references: Sequence[Doc]) -> tuple[list[float], list[bool]]:
    """Raw confidence and correctness of every entity ``nlp`` predicts in the labelled ``references``."""
    scores: list[float] = []
    correct: list[bool] = []
    predictions = predict_entities(nlp, [doc.text for doc in references])
    for reference, entities in zip(references, predictions, strict=True):
        gold = {(ent.start_char, ent.end_char, ent.label_) for ent in reference.ents}
        for entity in entities:
            span = reference.char_span(entity.start, entity.end, alignment_mode="expand")
            if span is not None and any(token.ent_iob == 0 for token in span):
                continue  # over tokens without a gold label: neither right nor wrong
            scores.append(entity.confidence)
            correct.append((entity.start, entity.end, entity.category) in gold)
    return scores, correct


def dev_documents(nlp: Language, dev_bins: Sequence[bytes], seed: int) -> list[Doc]:
    """The labelled dev documents to calibrate on: all, or the seeded sample of CALIBRATION_MAX_DOCS."""
    docs = [doc for data in dev_bins for doc in DocBin().from_bytes(data).get_docs(nlp.vocab)]
    if len(docs) <= CALIBRATION_MAX_DOCS:
        return docs
    return [docs[index] for index in dev_indices(len(docs), seed)]


def fit_on_dev_set(nlp: Language, lock: threading.Lock, dev_bins: Sequence[bytes], seed: int) -> Calibrator:
    """The calibrator of a trained model from its dev DocBins (the identity, saying why, when too few)."""
    with lock:  # the process-wide evaluation model is shared with evaluation shards
        scores, correct = dev_observations(nlp, dev_documents(nlp, dev_bins, seed))
    return fit_calibrator(scores, correct)
