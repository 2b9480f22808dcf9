"""Step 0 of a run: build and initialise the blank pipeline and write its first checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spacy.util import fix_random_seed

from shared.errors import InvalidArgument
from shared.ner.config_versions import effective_version
from shared.ner.training.checkpoint import CHECKPOINT_FORMAT, dump_checkpoint, rng_state
from shared.ner.training.corpus import load_corpus
from shared.ner.training.model import build_nlp
from shared.ner.training.optimizer_state import optimizer_state
from shared.ner.training.options import TrainingOptions
from shared.ner.transfer import SHARED_EXCLUDE, load_base_weights


def init_checkpoint(options: TrainingOptions, train_doc_bins: Sequence[bytes]) -> bytes:
    """Build and initialise the blank pipeline; return the checkpoint of step 0.

    Args:
        options: Language, labels, limits and seed of the run.
        train_doc_bins: Serialised DocBins of the training set (used to initialise the model).

    Returns:
        A checkpoint to pass to :func:`~shared.ner.training.loop.train_chunk`.

    Raises:
        InvalidArgument: Unusable options or no training example.
        TrainingFailed: spaCy cannot build a pipeline for the language.
    """
    options.validate()
    fix_random_seed(options.seed)
    nlp = build_nlp(options)
    ner = nlp.get_pipe("ner")
    for label in options.labels:
        ner.add_label(label)  # type: ignore[attr-defined]
    corpus = load_corpus(nlp, train_doc_bins)
    if not len(corpus):
        raise InvalidArgument("There are no training documents to train on.", target="train")
    # Examples are rebuilt on each call instead of being held: initialisation walks them a few times.
    optimizer = nlp.initialize(get_examples=lambda: corpus.examples(nlp))
    version = effective_version(options.config_version, options.lang)
    if version.transfer:  # start from the base's trained tok2vec, not the random one
        load_base_weights(nlp, ner_head=version.transfer_ner_head)
    state: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "options": options.to_dict(),
        "model": nlp.to_bytes(exclude=SHARED_EXCLUDE),
        "optimizer": optimizer_state(nlp, optimizer),
        "step": 0,
        "epoch": 0,
        "batch_index": 0,
        "sizes_used": 0,
        "num_train_examples": len(corpus),
        "rng": rng_state(),
        "best_score": None,
        "best_step": None,
        "best_model": None,
        "last_score": None,
        "stop_reason": None,
    }
    return dump_checkpoint(state)
