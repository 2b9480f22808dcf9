"""The checkpoint: everything a chunk needs to continue a run exactly where the previous one stopped.

A checkpoint is a msgpack dict:

- ``format``: :data:`CHECKPOINT_FORMAT`; ``options``: the :class:`TrainingOptions`;
- ``model``: ``nlp.to_bytes()`` of the current weights (it carries its own ``config.cfg``);
- ``optimizer``: Adam's state (see :mod:`shared.ner.training.optimizer_state`);
- data order: ``epoch``, ``batch_index`` within the epoch and ``sizes_used`` (how many values the
  batch-size schedule had produced when the epoch began; see :mod:`shared.ner.training.batching`);
  ``num_train_examples`` (a chunk refuses to continue if it changed);
- RNG state: python ``random`` and numpy's global state;
- ``best_score``, ``best_step``, ``best_model`` (bytes of the best model so far), ``last_score``,
  ``stop_reason``.

The training data is not stored: every chunk receives the same train/dev DocBins again. Sizes and
(de)serialisation costs: BENCHMARKS.md ("Training memory in isolation").
"""

from __future__ import annotations

import random
from typing import Any

import numpy
import srsly

from shared.errors import TrainingFailed
from shared.ner.training.arrays import decode_array, encode_array

CHECKPOINT_FORMAT = "custom-ner-checkpoint/1"


def rng_state() -> dict[str, Any]:
    """Python's and numpy's global RNG state, msgpack-friendly."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = numpy.random.get_state()
    return {
        "python": [version, list(internal), gauss],
        "numpy": [name, encode_array(keys), int(pos), int(has_gauss), float(cached)],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    numpy.random.set_state((name, decode_array(keys), pos, has_gauss, cached))


def dump_checkpoint(state: dict[str, Any]) -> bytes:
    return srsly.msgpack_dumps(state)


def load_checkpoint(checkpoint: bytes) -> dict[str, Any]:
    """The state dict of a checkpoint; TrainingFailed if it is not one of ours."""
    try:
        state = srsly.msgpack_loads(checkpoint)
    except Exception as exc:  # a truncated or foreign blob
        raise TrainingFailed(f"The training checkpoint cannot be read: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainingFailed("The training checkpoint has an unknown format.")
    return state


def best_model_bytes(checkpoint: bytes) -> bytes:
    """``nlp.to_bytes()`` of the best model so far (the current one if nothing was evaluated yet)."""
    state = load_checkpoint(checkpoint)
    best = state.get("best_model")
    return bytes(best) if best is not None else bytes(state["model"])


def current_model_bytes(checkpoint: bytes) -> bytes:
    """``nlp.to_bytes()`` of the latest weights in a checkpoint."""
    return bytes(load_checkpoint(checkpoint)["model"])


def checkpoint_step(checkpoint: bytes) -> int:
    """Number of updates a checkpoint has done."""
    return int(load_checkpoint(checkpoint)["step"])
