"""Entity predictions with a confidence score, from a trained spaCy pipeline.

**Which entities.** Exactly those of ``nlp.pipe`` (the ner component's greedy parse), so the runtime
predicts what the evaluation measured and what an exported model predicts with ``spacy.load``.

**Which score.** ``confidenceScore`` is the ner component's beam estimate of the probability that the
entity is right: the pipeline's own network also decodes each document with a beam search
(``EntityRecognizer.beam_parse``, width :data:`DEFAULT_BEAM_WIDTH`), the final parses get probabilities
(a softmax over their scores) and an entity's score is the total probability of the parses that contain
it with the same start, end and category (``EntityRecognizer.scored_ents``). So it is high when the
alternatives the model considers agree on the entity and low when they disagree about its boundaries or
category. It is 0.0 when no parse in the beam holds the greedy entity (the beam found only parses the
model scores higher); ``bench/extraction_confidence.py`` measures how often that happens and how well
the scores are calibrated on held-out data (BENCHMARKS.md).

The beam runs on the same ``doc.tensor`` as the greedy parse (the tok2vec output, computed once) before
the ner component annotates the documents: a beam over documents that already carry entities would be
constrained to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

DEFAULT_BEAM_WIDTH = 16
DEFAULT_BATCH_SIZE = 16  # documents per forward pass (bounds activations: ~1 MB per document)


@dataclass(frozen=True)
class PredictedEntity:
    """An entity as Python character indices ``[start, end)`` of the document's text."""

    start: int
    end: int
    category: str
    confidence: float


def _ner_name(nlp: Language) -> str:
    for name, proc in nlp.pipeline:
        if hasattr(proc, "beam_parse") and hasattr(proc, "scored_ents"):
            return name
    raise ValueError("The pipeline has no entity recognizer.")


def _predict_batch(
    nlp: Language, ner_name: str, texts: Sequence[str], beam_width: int
) -> list[list[PredictedEntity]]:
    docs: list[Doc] = [nlp.make_doc(text) for text in texts]
    scores: list[dict[tuple[int, int, str], float]] = [{} for _ in docs]
    for name, proc in nlp.pipeline:
        if name == ner_name and docs:
            ner: Any = proc
            beams = ner.beam_parse(docs, beam_width=beam_width)
            scores = [dict(found) for found in ner.scored_ents(beams)]
        # each component as nlp.pipe runs it (the ner's greedy parse sets doc.ents)
        component: Any = proc
        if hasattr(component, "pipe"):
            docs = list(component.pipe(docs, batch_size=len(docs)))
        else:
            docs = [component(doc) for doc in docs]
    return [
        [
            PredictedEntity(
                ent.start_char,
                ent.end_char,
                ent.label_,
                min(1.0, max(0.0, float(found.get((ent.start, ent.end, ent.label_), 0.0)))),
            )
            for ent in doc.ents
        ]
        for doc, found in zip(docs, scores, strict=True)
    ]


def predict_entities(
    nlp: Language,
    texts: Sequence[str],
    *,
    beam_width: int = DEFAULT_BEAM_WIDTH,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[list[PredictedEntity]]:
    """The entities of each text (as ``nlp.pipe`` finds them) with their confidence scores.

    Args:
        nlp: A trained pipeline with an ``ner`` component (``shared.ner.training.load_model``).
        texts: The documents' texts.
        beam_width: Parses kept by the scoring beam (at least 2 for a score that can differ from 1).
        batch_size: Documents per forward pass.
    """
    if beam_width < 1 or batch_size < 1:
        raise ValueError("beam_width and batch_size must be at least 1")
    ner_name = _ner_name(nlp)
    results: list[list[PredictedEntity]] = []
    for start in range(0, len(texts), batch_size):
        results.extend(_predict_batch(nlp, ner_name, texts[start : start + batch_size], beam_width))
    return results
