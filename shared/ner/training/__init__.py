"""Resumable spaCy NER training, run in-process in chunks.

A training job is a sequence of :func:`train_chunk` calls. Each call restores the full training state
from a checkpoint (bytes), trains until a step or wall-clock budget is used up (or training ends), and
returns a new checkpoint. Activities can therefore run under a time limit and a job survives a host
restart without starting over.

Exact resumption: two chunks of N steps end exactly where one chunk of 2N steps ends, with bit-identical
per-step losses and weights (tests/unit/test_training.py). Costs per step, per chunk and per checkpoint:
BENCHMARKS.md ("Training memory in isolation").

One concept per module, as in spaCy's ``training/`` package:

- ``options``: :class:`TrainingOptions` and the stop reasons;
- ``model``: build a blank pipeline from its config version; load a trained one from its bytes; predict;
- ``cluster_embed``: the Brown-cluster embedding layer of the newer config versions;
- ``corpus``: the DocBins in a compact per-document form, decoded once per process;
- ``batching``: an epoch's batches as document indices, rebuilt exactly from (seed, epoch, schedule);
- ``arrays``, ``optimizer_state``: Adam's state keyed so it survives a rebuild of the pipeline;
- ``checkpoint``: the checkpoint's contents, RNG state, reading the models out of it;
- ``scoring``: dev ents_f exactly like ``nlp.evaluate``, on a bounded sample;
- ``initialize``: step 0 (:func:`init_checkpoint`);
- ``loop``: :func:`train_chunk`.
"""

from shared.ner.training.checkpoint import (
    CHECKPOINT_FORMAT,
    best_model_bytes,
    checkpoint_step,
    current_model_bytes,
)
from shared.ner.training.corpus import clear_corpus_cache
from shared.ner.training.initialize import init_checkpoint
from shared.ner.training.loop import ChunkResult, train_chunk
from shared.ner.training.model import load_model, predict_spans
from shared.ner.training.options import STOP_CANCELLED, STOP_EARLY, STOP_MAX_STEPS, TrainingOptions
from shared.ner.training.scoring import DEV_EVAL_MAX_DOCS, EVAL_BATCH_DOCS

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEV_EVAL_MAX_DOCS",
    "EVAL_BATCH_DOCS",
    "STOP_CANCELLED",
    "STOP_EARLY",
    "STOP_MAX_STEPS",
    "ChunkResult",
    "TrainingOptions",
    "best_model_bytes",
    "checkpoint_step",
    "clear_corpus_cache",
    "current_model_bytes",
    "init_checkpoint",
    "load_model",
    "predict_spans",
    "train_chunk",
]
