"""Entity predictions with a confidence score, from a trained spaCy pipeline.

**Which entities.** Exactly those of ``nlp.pipe`` (the ner component's greedy parse), so the runtime
predicts what the evaluation measured and what an exported model predicts with ``spacy.load``.

**Which score** (``scoring="path"``, the default). spaCy's ner component tags a document with one
transition per token (``B-X``, ``I-X``, ``L-X``, ``U-X``, ``O``), choosing each from the network's scores
for the current parse state; training fits a softmax over those scores (spaCy's ``cpu_log_loss``). An
entity's ``confidenceScore`` is the model's probability of the transitions that built it, given the
parse so far: the product over its tokens of softmax(scores)[transition taken]. It is computed by
replaying the greedy transitions once more with the same network (one extra forward pass per token;
the tok2vec output in ``doc.tensor`` is reused), so it belongs to exactly the entity returned. It is low
when the model hesitated about the start, the category or the end.

``scoring="beam"`` is spaCy's own estimate (``beam_parse`` + ``scored_ents``: the share of a beam's
parses that contain the entity); it is kept for comparison in ``bench/extraction_confidence.py``, where
it separated right from wrong predictions less well, gave 0 to greedy entities that fell out of the beam
and cost more time (BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training.iob_utils import doc_to_biluo_tags

DEFAULT_BATCH_SIZE = 16  # documents per forward pass (bounds activations: ~1 MB per document)
DEFAULT_BEAM_WIDTH = 16

Scoring = Literal["path", "beam"]


@dataclass(frozen=True)
class PredictedEntity:
    """An entity as Python character indices ``[start, end)`` of the document's text."""

    start: int
    end: int
    category: str
    confidence: float


def _ner_name(nlp: Language) -> str:
    for name, proc in nlp.pipeline:
        if hasattr(proc, "moves") and hasattr(proc, "scored_ents"):
            return name
    raise ValueError("The pipeline has no entity recognizer.")


def _run(component: Any, docs: list[Doc]) -> list[Doc]:
    if hasattr(component, "pipe"):
        return list(component.pipe(docs, batch_size=max(1, len(docs))))
    return [component(doc) for doc in docs]


def _softmax(scores: Any) -> numpy.ndarray:
    array = numpy.asarray(scores, dtype="float64")
    array = numpy.exp(array - array.max(axis=1, keepdims=True))
    return array / array.sum(axis=1, keepdims=True)


def transition_probabilities(ner: Any, docs: Sequence[Doc]) -> list[numpy.ndarray]:
    """Per document and token: the model's probability of the transition the greedy parse took there.

    ``docs`` are annotated by ``ner`` (their ``doc.ents`` are its greedy parse, ``doc.tensor`` the
    tok2vec output). The parse is replayed state by state with the same network.
    """
    index = {name: position for position, name in enumerate(ner.move_names)}
    tags = [doc_to_biluo_tags(doc) for doc in docs]
    probabilities = [numpy.ones(len(doc)) for doc in docs]
    states = ner.moves.init_batch(list(docs))
    step_model = ner.model.predict(list(docs))
    try:
        active = [(number, state) for number, state in enumerate(states) if not state.is_final()]
        while active:
            softmax = _softmax(step_model.predict([state for _, state in active]))
            for row, (number, state) in enumerate(active):
                token = state.B(0)
                tag = tags[number][token]
                move = index.get(tag)
                probabilities[number][token] = softmax[row, move] if move is not None else 0.0
                ner.moves.apply_transition(state, tag)
            active = [(number, state) for number, state in active if not state.is_final()]
    finally:
        step_model.clear_memory()
    return probabilities


def _predict_batch(
    nlp: Language, ner_name: str, texts: Sequence[str], scoring: Scoring, beam_width: int
) -> list[list[PredictedEntity]]:
    docs: list[Doc] = [nlp.make_doc(text) for text in texts]
    beam_scores: list[dict[tuple[int, int, str], float]] = [{} for _ in docs]
    for name, proc in nlp.pipeline:
        if name == ner_name and scoring == "beam" and docs:
            ner: Any = proc  # the beam must run before the greedy parse annotates the docs
            beam_scores = [dict(found) for found in ner.scored_ents(ner.beam_parse(docs, beam_width=beam_width))]
        docs = _run(proc, docs)
    if scoring == "path":
        per_token = transition_probabilities(nlp.get_pipe(ner_name), docs)
    results = []
    for number, doc in enumerate(docs):
        entities = []
        for ent in doc.ents:
            if scoring == "path":
                confidence = float(numpy.prod(per_token[number][ent.start : ent.end]))
            else:
                confidence = beam_scores[number].get((ent.start, ent.end, ent.label_), 0.0)
            entities.append(PredictedEntity(ent.start_char, ent.end_char, ent.label_, min(1.0, max(0.0, confidence))))
        results.append(entities)
    return results


def predict_entities(
    nlp: Language,
    texts: Sequence[str],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    scoring: Scoring = "path",
    beam_width: int = DEFAULT_BEAM_WIDTH,
) -> list[list[PredictedEntity]]:
    """The entities of each text (as ``nlp.pipe`` finds them) with their confidence scores.

    Args:
        nlp: A trained pipeline with an ``ner`` component (``shared.ner.training.load_model``).
        texts: The documents' texts.
        batch_size: Documents per forward pass.
        scoring: ``"path"`` (the runtime's score) or ``"beam"`` (spaCy's beam estimate, for comparison).
        beam_width: Parses kept by the ``"beam"`` scoring.
    """
    if batch_size < 1 or beam_width < 1:
        raise ValueError("batch_size and beam_width must be at least 1")
    ner_name = _ner_name(nlp)
    results: list[list[PredictedEntity]] = []
    for start in range(0, len(texts), batch_size):
        results.extend(_predict_batch(nlp, ner_name, texts[start : start + batch_size], scoring, beam_width))
    return results
