"""Dev-set scoring during training: ents_f exactly like ``nlp.evaluate`` with the ner scorer (tested).

Each evaluation scores at most :data:`DEV_EVAL_MAX_DOCS` dev documents (a fixed seeded sample when the
dev set is larger), in batches of :data:`EVAL_BATCH_DOCS`, without ``nlp.evaluate``'s copies of every
example and its tokenisation scoring. spaCy's ``get_ner_prf`` returns ratios for a list of examples,
which cannot be summed over batches, so the per-example counts below follow it line by line and the
totals go through spaCy's own ``PRFScore``.
"""

from __future__ import annotations

import random

from spacy.language import Language
from spacy.scorer import PRFScore
from spacy.training import Example
from thinc.api import Optimizer

from shared.ner.training.corpus import Corpus
from shared.ner.transfer import SHARED_EXCLUDE

# At most this many dev documents are scored per evaluation (a fixed seeded sample when the dev set is
# larger), so an evaluation costs the same for any corpus size. Scoring 300 documents (~1,000+ entities
# in typical data) estimates ents_f well enough to pick the best checkpoint and to stop early.
DEV_EVAL_MAX_DOCS = 300
EVAL_BATCH_DOCS = 32  # dev documents per nlp.pipe batch (bounds the evaluation's memory)


def dev_indices(size: int, seed: int) -> list[int]:
    """The dev documents scored at every evaluation: all, or a fixed seeded sample of DEV_EVAL_MAX_DOCS."""
    if size <= DEV_EVAL_MAX_DOCS:
        return list(range(size))
    return sorted(random.Random(seed).sample(range(size), DEV_EVAL_MAX_DOCS))


def evaluate(nlp: Language, optimizer: Optimizer, dev: Corpus, indices: list[int]) -> float:
    """Dev ents_f of the evaluated weights (the averaged ones if the optimizer keeps averages)."""
    if optimizer.averages:
        with nlp.use_params(optimizer.averages):
            return score(nlp, dev, indices)
    return score(nlp, dev, indices)


def evaluated_weights(nlp: Language, optimizer: Optimizer) -> bytes:
    """``nlp.to_bytes()`` of the weights :func:`evaluate` scores."""
    if optimizer.averages:
        with nlp.use_params(optimizer.averages):
            return nlp.to_bytes(exclude=SHARED_EXCLUDE)
    return nlp.to_bytes(exclude=SHARED_EXCLUDE)


def _entity_counts(example: Example) -> PRFScore:
    """True positives, false positives, false negatives of one predicted example, as ``get_ner_prf``."""
    counts = PRFScore()
    reference = example.reference
    if not reference.has_annotation("ENT_IOB"):
        return counts
    golds = {(ent.label_, ent.start, ent.end) for ent in reference.ents}
    x2y = example.alignment.x2y
    for ent in example.predicted.ents:
        aligned = x2y[ent.start : ent.end]
        if not len(aligned):
            continue
        start, end = int(aligned[0]), int(aligned[-1]) + 1
        # a prediction over tokens without gold annotation is neither right nor wrong
        if all(token.ent_iob != 0 for token in reference[start:end]):
            key = (ent.label_, start, end)
            if key in golds:
                counts.tp += 1
                golds.remove(key)
            else:
                counts.fp += 1
    counts.fn += len(golds)
    return counts


def score(nlp: Language, dev: Corpus, indices: list[int]) -> float:
    """Micro ents_f over the dev documents ``indices``, counted like spaCy's ``get_ner_prf``."""
    totals = PRFScore()
    for start in range(0, len(indices), EVAL_BATCH_DOCS):
        # a few documents at a time: the pipe's activations grow with the batch
        examples = list(dev.examples(nlp, indices[start : start + EVAL_BATCH_DOCS]))
        predicted = nlp.pipe((eg.predicted for eg in examples), batch_size=EVAL_BATCH_DOCS)
        for example, doc in zip(examples, predicted, strict=True):
            example.predicted = doc
            totals += _entity_counts(example)
    if not len(totals):
        return 0.0
    return float(totals.fscore)
