"""Building a blank pipeline from its config version, and loading a trained one from its bytes in any process.

Models are plain ``nlp.to_bytes()`` output. :func:`load_model` works in a fresh process because those
bytes include the pipeline's ``config.cfg`` (with the language and the architecture) and the ner
component's label set: the config is read out of the bytes, a blank pipeline is built from it, then
``nlp.from_bytes`` fills in the vocab, labels and weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import srsly
from spacy.language import Language
from spacy.util import load_model_from_config
from thinc.api import Config

from shared.errors import TrainingFailed
from shared.ner import config_versions
from shared.ner.training import cluster_embed  # noqa: F401  (registers custom_ner.ClusterHashEmbed.v1)
from shared.ner.training.options import TrainingOptions
from shared.ner.transfer import SHARED_EXCLUDE


def _config_text(version: str, lang: str) -> str:
    return config_versions.config_text(version, lang)  # a seam bench/tune_defaults.py replaces


def build_nlp(options: TrainingOptions) -> Language:
    """A blank, uninitialised pipeline from the options' config version, language and seed."""
    config = Config().from_str(_config_text(options.config_version, options.lang), interpolate=False)
    config["nlp"]["lang"] = options.lang
    config["system"]["seed"] = options.seed
    config["training"]["max_steps"] = options.max_steps
    config["training"]["patience"] = options.patience
    config["training"]["eval_frequency"] = options.eval_frequency
    try:
        return load_model_from_config(config, auto_fill=True, validate=True)
    except (ImportError, ValueError, KeyError) as exc:
        raise TrainingFailed(f"Cannot build a spaCy pipeline for language '{options.lang}': {exc}") from exc


def load_model(model_bytes: bytes) -> Language:
    """Rebuild a pipeline from ``nlp.to_bytes()`` output, in any process.

    The bytes carry the pipeline's config (language, architecture) under ``config.cfg``; a blank
    pipeline is built from it and then filled with the vocab, labels and weights.

    Args:
        model_bytes: Output of :func:`~shared.ner.training.checkpoint.best_model_bytes` (or any
            ``nlp.to_bytes()`` of this config).

    Returns:
        The loaded pipeline, ready for ``nlp.pipe``.

    Raises:
        TrainingFailed: The bytes are not a serialised spaCy pipeline.
    """
    try:
        msg = srsly.msgpack_loads(model_bytes)
        config = Config().from_bytes(msg["config.cfg"], interpolate=False)
    except Exception as exc:  # any decoding failure means the stored model is unusable
        raise TrainingFailed(f"The stored model is not a serialised spaCy pipeline: {exc}") from exc
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    nlp.from_bytes(model_bytes, exclude=SHARED_EXCLUDE)  # a transfer base's vectors are shared, not stored
    return nlp


def predict_spans(nlp: Language, texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
    """Entities found in each text as (start, end, label) python character indices."""
    return [[(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents] for doc in nlp.pipe(texts)]


def trainable_pipes(nlp: Language) -> list[tuple[str, Any]]:
    """The pipes that own a model and take updates (what spaCy's loop calls ``finish_update`` on)."""
    return [
        (name, proc)
        for name, proc in nlp.pipeline
        if getattr(proc, "is_trainable", False) and getattr(proc, "model", None) not in (True, False, None)
    ]
