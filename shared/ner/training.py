"""Resumable spaCy NER training, run in-process in chunks.

A training job is a sequence of :func:`train_chunk` calls. Each call restores the full training state
from a checkpoint (bytes), trains until a step or wall-clock budget is used up (or training ends), and
returns a new checkpoint. Activities can therefore run under a time limit and a job survives a host
restart without starting over.

What a checkpoint holds (a msgpack dict, see ``_dump_checkpoint``):

- ``options``: the :class:`TrainingOptions`;
- ``model``: ``nlp.to_bytes()`` of the current weights (it carries its own ``config.cfg``);
- ``optimizer``: thinc's Adam state (``mom1``, ``mom2``, ``nr_update``, ``last_seen``, ``averages``).
  thinc keys it by ``(model.id, param name)``, and model ids change whenever a pipeline is rebuilt, so
  the keys are stored as (position of the node in a walk over every pipe's model, param name) and
  mapped back to the new ids on restore. The positions of the optimizer's schedules (learning rate etc.)
  are restored by stepping a fresh optimizer ``step`` times, as spaCy's loop steps them once per update;
- data order: ``epoch``, ``batch_index`` within the epoch and ``sizes_used`` (how many values the
  batch-size schedule had produced when the epoch began). An epoch's order is a shuffle seeded by
  ``(seed, epoch)`` and its batches are rebuilt with the configured batcher from that position of the
  size schedule, so a resumed run sees the very same batches;
- RNG state: python ``random`` and numpy's global state. Each step also reseeds them with
  ``fix_random_seed(seed + step)`` (dropout masks, the parser's oracle cuts), so a step's randomness
  does not depend on how the run was split into chunks;
- ``best_score``, ``best_step``, ``best_model`` (bytes of the best model so far), ``last_score``.

The training data is not stored: every chunk receives the same train/dev DocBins again (a chunk refuses
to continue if the number of training examples changed).

Memory and time do not grow with the corpus beyond a compact form of it (see ``_Corpus``): the DocBins
are split once into per-document records (zlib-compressed token attribute rows, a few hundred bytes per
document) plus each document's predicted length, and Docs/Examples are built only for the batch being
trained or scored. An epoch's order is a permutation of document indices, batched by those lengths, so
the batches are exactly those the batcher makes from materialised examples. The decoded form is kept in
a small per-process cache (train and dev set, keyed by a digest of the bytes, language and config), so a
worker's next chunk starts without decoding again; a fresh process builds the same form, so results do
not depend on the cache (tested). Each evaluation scores at most ``DEV_EVAL_MAX_DOCS`` dev documents (a
fixed seeded sample when the dev set is larger), in batches of ``EVAL_BATCH_DOCS``, computing ents_f
exactly like ``nlp.evaluate`` with the ner scorer (tested) without its copies and tokenisation scoring.

Exact resumption: two chunks of N steps end exactly where one chunk of 2N steps ends. Measured on a
tiny corpus (tests/unit/test_training.py: 12 docs of ~25 words, N=6, seed 0, the split falling mid-epoch
after an epoch boundary): per-step losses and every weight were bit-identical (max absolute difference
0.0; even the serialised models were byte-equal). Not stored: RAdam's step-size cache (only used if the
config switches to RAdam; it is recomputed on demand, so the values are the same).

Cost (spaCy 3.8, 2 shared cores; ``bench/train_memory.py``): ~17 ms per step on 6 docs of ~7 words,
~23 ms on 12 docs of ~25 words, ~50-60 ms on the synthetic purchase orders (batch sizes compound from 100
to 1,000 words). A chunk adds ~0.3 s to restore and write a checkpoint when the corpus is cached, plus
decoding the corpus (~1 s per 1,000 documents) in a new process. A checkpoint of the default config is
~25 MB (current weights ~6 MB, best weights ~6 MB, Adam moments ~12 MB); msgpack reads and writes it in
milliseconds (it is mostly raw byte strings), so the per-chunk cost is in rebuilding the pipeline and the
optimizer and in ``nlp.to_bytes``, and the best weights are serialised only when the dev score improves.

Models built by :func:`best_model_bytes` are plain ``nlp.to_bytes()`` output. :func:`load_model` works in
a fresh process because those bytes include the pipeline's ``config.cfg`` (with the language and the
architecture) and the ner component's label set: the config is read out of the bytes, a blank pipeline
is built from it, then ``nlp.from_bytes`` fills in the vocab, labels and weights.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import random
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy
import srsly
from spacy.attrs import ORTH
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.tokens._dict_proxies import SpanGroups
from spacy.training import Example
from spacy.util import fix_random_seed, load_model_from_config, registry
from thinc.api import Config, Model, Optimizer

from shared.errors import InvalidArgument, TrainingFailed

logger = logging.getLogger(__name__)

CONFIG_PATH = Path(__file__).with_name("config.cfg")
CHECKPOINT_FORMAT = "custom-ner-checkpoint/1"

STOP_MAX_STEPS = "max_steps"
STOP_EARLY = "early_stopping"
STOP_CANCELLED = "cancelled"

# At most this many dev documents are scored per evaluation (a fixed seeded sample when the dev set is
# larger), so an evaluation costs the same for any corpus size. Scoring 300 documents (~1,000+ entities
# in typical data) estimates ents_f well enough to pick the best checkpoint and to stop early.
DEV_EVAL_MAX_DOCS = 300
EVAL_BATCH_DOCS = 32  # dev documents per nlp.pipe batch (bounds the evaluation's memory)


@dataclass
class TrainingOptions:
    """What a training run needs besides its data.

    Attributes:
        lang: spaCy language code of the blank pipeline ("en", "de", "xx", ...).
        labels: Every entity category of the project; all are added to the ner component.
        max_steps: Total number of updates after which training ends.
        patience: Stop after this many steps without a better dev score (0 disables early stopping).
        eval_frequency: Evaluate on the dev set every this many steps.
        seed: Seed for initialisation, data order, dropout.
    """

    lang: str
    labels: list[str]
    max_steps: int
    patience: int
    eval_frequency: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "labels": list(self.labels),
            "max_steps": self.max_steps,
            "patience": self.patience,
            "eval_frequency": self.eval_frequency,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingOptions:
        return cls(
            lang=str(data["lang"]),
            labels=[str(label) for label in data["labels"]],
            max_steps=int(data["max_steps"]),
            patience=int(data["patience"]),
            eval_frequency=int(data["eval_frequency"]),
            seed=int(data["seed"]),
        )

    def validate(self) -> None:
        """Raise InvalidArgument naming the first unusable option."""
        if not self.labels:
            raise InvalidArgument("The project has no entity categories to train.", target="labels")
        if self.max_steps < 1:
            raise InvalidArgument(f"max_steps must be at least 1, got {self.max_steps}.", target="max_steps")
        if self.patience < 0:
            raise InvalidArgument(f"patience must not be negative, got {self.patience}.", target="patience")
        if self.eval_frequency < 1:
            raise InvalidArgument(
                f"eval_frequency must be at least 1, got {self.eval_frequency}.", target="eval_frequency"
            )


@dataclass
class ChunkResult:
    """Outcome of one :func:`train_chunk` call.

    Attributes:
        checkpoint: State to pass to the next chunk (or to :func:`best_model_bytes`).
        step: Updates done so far over the whole run.
        loss: Mean ner loss over this chunk's steps (0.0 if the chunk made no step).
        dev_score: Latest dev ents_f (None before the first evaluation or without dev data).
        best_score: Best dev ents_f so far.
        finished: True when training is over (any stop_reason); False when the budget ran out.
        stop_reason: "max_steps", "early_stopping", "cancelled", or None (budget used up, more to do).
        losses: Per-step ner losses of this chunk (extra to the contract; used by tests and logs).
    """

    checkpoint: bytes
    step: int
    loss: float
    dev_score: float | None
    best_score: float | None
    finished: bool
    stop_reason: str | None
    losses: list[float] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- pipeline


@lru_cache(maxsize=1)
def _config_text() -> str:
    return CONFIG_PATH.read_text(encoding="utf-8")


def _build_nlp(options: TrainingOptions) -> Language:
    """A blank, uninitialised pipeline from config.cfg with the options' language and seed."""
    config = Config().from_str(_config_text(), interpolate=False)
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
        model_bytes: Output of :func:`best_model_bytes` (or any ``nlp.to_bytes()`` of this config).

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
    nlp.from_bytes(model_bytes)
    return nlp


def predict_spans(nlp: Language, texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
    """Entities found in each text as (start, end, label) python character indices."""
    return [[(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents] for doc in nlp.pipe(texts)]


# ------------------------------------------------------------------------------------------- corpora


@dataclass(frozen=True)
class _Doc:
    """One document of a DocBin, compactly: its token attribute rows and spaces, zlib-compressed.

    Attributes:
        bin: Index of the DocBin it came from (for that bin's attrs).
        length: Number of tokens of the reference doc.
        payload: ``zlib(tokens.tobytes() + spaces.tobytes())`` (uint64 rows of the bin's attrs, bools).
        unknown_spaces: The doc's ``has_unknown_spaces`` flag.
        cats: ``doc.cats`` (None when empty).
        spans: ``doc.spans.to_bytes()`` (None when there are no span groups).
    """

    bin: int
    length: int
    payload: bytes
    unknown_spaces: bool
    cats: dict[str, float] | None
    spans: bytes | None


class _Corpus:
    """The documents of some DocBins in a compact form; Docs and Examples are built only on demand.

    Holds per document the compressed token rows (a few hundred bytes for a ~80-token document instead of
    ~150 KB for an Example with two Docs), per DocBin its attrs and strings, and per document the length
    of its predicted doc (``nlp.make_doc(text)``), which the batcher needs. Docs are rebuilt exactly as
    ``DocBin.get_docs`` builds them (user data, which training never reads, is not kept).
    """

    def __init__(self, attrs: list[list[Any]], strings: Iterable[str], docs: list[_Doc]) -> None:
        self.attrs = attrs
        self.strings = tuple(sorted(set(strings)))  # every DocBin's strings, once
        self.docs = docs
        self.lengths: list[int] = []  # predicted (nlp.make_doc) token counts, filled by _decode_bins

    def __len__(self) -> int:
        return len(self.docs)

    def prepare_vocab(self, nlp: Language) -> None:
        """Add the DocBins' strings to ``nlp``'s string store so their docs can be built.

        ``DocBin.get_docs`` also creates a lexeme per string; lexemes are created on demand instead (they
        are not serialised and their attributes are computed the same way whenever they are created).
        """
        add = nlp.vocab.strings.add
        for string in self.strings:
            add(string)

    def reference(self, nlp: Language, index: int) -> Doc:
        """The annotated document ``index`` (call :meth:`prepare_vocab` on ``nlp`` first)."""
        item = self.docs[index]
        attrs = self.attrs[item.bin]
        raw = zlib.decompress(item.payload)
        size = item.length * len(attrs) * 8
        tokens = numpy.frombuffer(raw[:size], dtype=numpy.uint64).reshape((item.length, len(attrs)))
        spaces = None if item.unknown_spaces else numpy.frombuffer(raw[size:], dtype=bool).tolist()
        doc = Doc(nlp.vocab, words=tokens[:, attrs.index(ORTH)], spaces=spaces)  # type: ignore[arg-type]
        doc = doc.from_array(attrs, tokens)  # type: ignore[arg-type]  # spaCy's stubs are narrower
        doc.cats = dict(item.cats) if item.cats else {}
        if item.spans is not None:
            doc.spans.from_bytes(item.spans)
        return doc

    def example(self, nlp: Language, index: int) -> Example:
        """Document ``index`` as a training example: retokenised by ``nlp`` as the prediction."""
        reference = self.reference(nlp, index)
        return Example(nlp.make_doc(reference.text), reference)

    def examples(self, nlp: Language, indices: Iterable[int] | None = None) -> Iterator[Example]:
        """Examples built one at a time (nothing is kept)."""
        for index in range(len(self.docs)) if indices is None else indices:
            yield self.example(nlp, index)


def _decode_bins(nlp: Language, doc_bins: Sequence[bytes]) -> _Corpus:
    """Split DocBins into compact per-document records and measure every document's predicted length."""
    attrs: list[list[Any]] = []  # attribute ids, as DocBin stores them
    strings: set[str] = set()
    docs: list[_Doc] = []
    for number, data in enumerate(doc_bins):
        try:
            doc_bin = DocBin().from_bytes(data)
        except (ValueError, KeyError) as exc:
            raise TrainingFailed(f"Training shard {number} is not a serialised DocBin: {exc}") from exc
        attrs.append(list(doc_bin.attrs))
        strings.update(doc_bin.strings)
        for tokens, spaces, flags, cats, spans in zip(
            doc_bin.tokens, doc_bin.spaces, doc_bin.flags, doc_bin.cats, doc_bin.span_groups, strict=True
        ):
            payload = numpy.ascontiguousarray(tokens, dtype=numpy.uint64).tobytes()
            payload += numpy.ascontiguousarray(spaces, dtype=bool).tobytes()
            docs.append(
                _Doc(
                    bin=number,
                    length=int(tokens.shape[0]),
                    payload=zlib.compress(payload, 1),
                    unknown_spaces=bool(flags.get("has_unknown_spaces")),
                    cats=dict(cats) if cats else None,
                    spans=bytes(spans) if spans and spans != SpanGroups._EMPTY_BYTES else None,
                )
            )
        del doc_bin  # one decompressed bin at a time
    corpus = _Corpus(attrs, strings, docs)
    corpus.prepare_vocab(nlp)
    corpus.lengths = [len(nlp.make_doc(corpus.reference(nlp, index).text)) for index in range(len(docs))]
    return corpus


# Decoded corpora of this process, newest last: a worker running chunk after chunk of one job decodes its
# DocBins once. Keyed by a digest of the bytes, the language and the config (which decide the
# tokenisation); the values are pure functions of the key, so results never depend on a hit or a miss.
_CORPUS_CACHE: OrderedDict[str, _Corpus] = OrderedDict()
_CORPUS_CACHE_SIZE = 2  # the train and the dev set of the job being trained
_CORPUS_CACHE_LOCK = threading.Lock()  # activities may run on several threads of one worker


def _corpus(nlp: Language, doc_bins: Sequence[bytes]) -> _Corpus:
    """The compact corpus of ``doc_bins`` (cached per process), with its strings in ``nlp``'s vocab."""
    digest = hashlib.sha256()
    for part in (str(nlp.lang).encode(), _config_text().encode(), *doc_bins):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    key = digest.hexdigest()
    with _CORPUS_CACHE_LOCK:
        corpus = _CORPUS_CACHE.get(key)
        if corpus is not None:
            _CORPUS_CACHE.move_to_end(key)
    if corpus is None:
        corpus = _decode_bins(nlp, doc_bins)  # outside the lock: it takes ~1 s per 1,000 documents
        with _CORPUS_CACHE_LOCK:
            _CORPUS_CACHE[key] = corpus
            while len(_CORPUS_CACHE) > _CORPUS_CACHE_SIZE:
                _CORPUS_CACHE.popitem(last=False)
    else:
        corpus.prepare_vocab(nlp)
    return corpus


def clear_corpus_cache() -> None:
    """Forget the decoded corpora of this process (tests; memory)."""
    with _CORPUS_CACHE_LOCK:
        _CORPUS_CACHE.clear()


def _trainable_pipes(nlp: Language) -> list[tuple[str, Any]]:
    return [
        (name, proc)
        for name, proc in nlp.pipeline
        if getattr(proc, "is_trainable", False) and getattr(proc, "model", None) not in (True, False, None)
    ]


def _node_ids(nlp: Language) -> list[int]:
    """Ids of every model node, pipe by pipe, in walk order (stable across rebuilds of one config)."""
    ids: list[int] = []
    for _name, proc in nlp.pipeline:
        model = getattr(proc, "model", None)
        if isinstance(model, Model):
            ids.extend(node.id for node in model.walk())
    return ids


# ------------------------------------------------------------------------------------------- schedules


class _Counted(Iterator[Any]):
    """An iterator that counts how many values it has produced (to restore a schedule's position)."""

    def __init__(self, source: Iterator[Any], skip: int = 0) -> None:
        self._source = source
        for _ in range(skip):
            next(self._source)
        self.count = 0  # values produced after the skipped ones

    def __next__(self) -> Any:
        value = next(self._source)
        self.count += 1
        return value


def _schedule(value: Any) -> Iterator[Any]:
    """A config value that may be a constant, a list, or a registered schedule, as an iterator."""
    if isinstance(value, dict):
        value = registry.resolve({"value": value})["value"]
    if isinstance(value, int | float):
        return itertools.repeat(value)
    return iter(value)


def _resolve(value: Any) -> Any:
    if isinstance(value, dict):
        return registry.resolve({"value": value})["value"]
    return value


def _epoch_batches(
    training: dict[str, Any], lengths: Sequence[int], seed: int, epoch: int, sizes_used: int
) -> tuple[list[list[int]], int]:
    """The batches of one epoch, as document indices, and the batch-size schedule's position after it.

    The order is a shuffle of the indices seeded by (seed, epoch) (the same permutation a list of examples
    of that length gets); the batcher is the config's, with its size schedule advanced to ``sizes_used``
    values, measuring each document by its predicted length (what ``len(example)`` is).
    """
    order = list(range(len(lengths)))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    batcher_cfg = dict(training["batcher"])
    factory = registry.batchers.get(batcher_cfg.pop("@batchers"))
    sizes = _Counted(_schedule(batcher_cfg.pop("size")), skip=sizes_used)
    args = {key: _resolve(value) for key, value in batcher_cfg.items()}
    args["get_length"] = lengths.__getitem__
    batcher = factory(size=sizes, **args)
    batches = [list(batch) for batch in batcher(order)]
    return batches, sizes_used + sizes.count


def _subdivide(batch: list[Example], parts: int) -> Iterable[list[Example]]:
    """Split a batch for gradient accumulation the way spaCy's loop does (sorted by length)."""
    ordered = sorted(batch, key=lambda eg: len(eg.predicted))
    size = len(ordered) // parts
    start = 0
    for _ in range(parts):
        sub = ordered[start : start + size]
        if sub:
            yield sub
        start += len(sub)
    if ordered[start:]:
        yield ordered[start:]


# ------------------------------------------------------------------------------------------ optimizer


def _encode_array(array: Any) -> dict[str, Any]:
    arr = numpy.ascontiguousarray(array)
    return {"dtype": arr.dtype.str, "shape": list(arr.shape), "data": arr.tobytes()}


def _decode_array(data: dict[str, Any]) -> numpy.ndarray:
    flat = numpy.frombuffer(data["data"], dtype=numpy.dtype(data["dtype"]))
    return flat.reshape(data["shape"]).copy()


def _optimizer_state(nlp: Language, optimizer: Optimizer) -> dict[str, Any]:
    """Adam's state keyed by (node position, param name) instead of process-local model ids."""
    position: dict[int, int] = {}
    for index, node_id in enumerate(_node_ids(nlp)):
        position.setdefault(node_id, index)
    averages = optimizer.averages
    keys = set(optimizer.mom1) | set(optimizer.mom2) | set(optimizer.nr_update) | set(optimizer.last_seen)
    if averages is not None:
        keys |= set(averages)
    entries = []
    for key in sorted(keys, key=lambda k: (position.get(k[0], -1), k[1])):
        node_id, name = key
        if node_id not in position:
            raise TrainingFailed(
                f"Optimizer state refers to a model node ({node_id}, {name}) not in the pipeline."
            )
        entries.append(
            {
                "node": position[node_id],
                "name": name,
                "mom1": _encode_array(optimizer.mom1[key]) if key in optimizer.mom1 else None,
                "mom2": _encode_array(optimizer.mom2[key]) if key in optimizer.mom2 else None,
                "nr_update": int(optimizer.nr_update.get(key, 0)),
                "last_seen": int(optimizer.last_seen.get(key, 0)),
                "average": _encode_array(averages[key]) if averages is not None and key in averages else None,
            }
        )
    return {"entries": entries}


def _restore_optimizer(nlp: Language, state: dict[str, Any], step: int) -> Optimizer:
    """A fresh optimizer from the config with the saved state mapped onto this pipeline's model ids."""
    optimizer = nlp.create_optimizer()
    for _ in range(step):
        optimizer.step_schedules()
    ids = _node_ids(nlp)
    for entry in state["entries"]:
        key = (ids[entry["node"]], entry["name"])
        if entry["mom1"] is not None:
            optimizer.mom1[key] = _decode_array(entry["mom1"])
        if entry["mom2"] is not None:
            optimizer.mom2[key] = _decode_array(entry["mom2"])
        if entry["nr_update"]:
            optimizer.nr_update[key] = entry["nr_update"]
        if entry["last_seen"]:
            optimizer.last_seen[key] = entry["last_seen"]
        if entry["average"] is not None and optimizer.averages is not None:
            optimizer.averages[key] = _decode_array(entry["average"])
    return optimizer


# ----------------------------------------------------------------------------------------- checkpoints


def _rng_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = numpy.random.get_state()
    return {
        "python": [version, list(internal), gauss],
        "numpy": [name, _encode_array(keys), int(pos), int(has_gauss), float(cached)],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    numpy.random.set_state((name, _decode_array(keys), pos, has_gauss, cached))


def _dump_checkpoint(state: dict[str, Any]) -> bytes:
    return srsly.msgpack_dumps(state)


def _load_checkpoint(checkpoint: bytes) -> dict[str, Any]:
    try:
        state = srsly.msgpack_loads(checkpoint)
    except Exception as exc:  # a truncated or foreign blob
        raise TrainingFailed(f"The training checkpoint cannot be read: {exc}") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainingFailed("The training checkpoint has an unknown format.")
    return state


def init_checkpoint(options: TrainingOptions, train_doc_bins: Sequence[bytes]) -> bytes:
    """Build and initialise the blank pipeline; return the checkpoint of step 0.

    Args:
        options: Language, labels, limits and seed of the run.
        train_doc_bins: Serialised DocBins of the training set (used to initialise the model).

    Returns:
        A checkpoint to pass to :func:`train_chunk`.

    Raises:
        InvalidArgument: Unusable options or no training example.
        TrainingFailed: spaCy cannot build a pipeline for the language.
    """
    options.validate()
    fix_random_seed(options.seed)
    nlp = _build_nlp(options)
    ner = nlp.get_pipe("ner")
    for label in options.labels:
        ner.add_label(label)  # type: ignore[attr-defined]
    corpus = _corpus(nlp, train_doc_bins)
    if not len(corpus):
        raise InvalidArgument("There are no training documents to train on.", target="train")
    # Examples are rebuilt on each call instead of being held: initialisation walks them a few times.
    optimizer = nlp.initialize(get_examples=lambda: corpus.examples(nlp))
    state: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "options": options.to_dict(),
        "model": nlp.to_bytes(),
        "optimizer": _optimizer_state(nlp, optimizer),
        "step": 0,
        "epoch": 0,
        "batch_index": 0,
        "sizes_used": 0,
        "num_train_examples": len(corpus),
        "rng": _rng_state(),
        "best_score": None,
        "best_step": None,
        "best_model": None,
        "last_score": None,
        "stop_reason": None,
    }
    return _dump_checkpoint(state)


def best_model_bytes(checkpoint: bytes) -> bytes:
    """``nlp.to_bytes()`` of the best model so far (the current one if nothing was evaluated yet)."""
    state = _load_checkpoint(checkpoint)
    best = state.get("best_model")
    return bytes(best) if best is not None else bytes(state["model"])


def current_model_bytes(checkpoint: bytes) -> bytes:
    """``nlp.to_bytes()`` of the latest weights in a checkpoint."""
    return bytes(_load_checkpoint(checkpoint)["model"])


def checkpoint_step(checkpoint: bytes) -> int:
    """Number of updates a checkpoint has done."""
    return int(_load_checkpoint(checkpoint)["step"])


def _dev_indices(size: int, seed: int) -> list[int]:
    """The dev documents scored at every evaluation: all, or a fixed seeded sample of DEV_EVAL_MAX_DOCS."""
    if size <= DEV_EVAL_MAX_DOCS:
        return list(range(size))
    return sorted(random.Random(seed).sample(range(size), DEV_EVAL_MAX_DOCS))


def _evaluate(nlp: Language, optimizer: Optimizer, dev: _Corpus, indices: list[int]) -> float:
    """Dev ents_f of the evaluated weights (the averaged ones if the optimizer keeps averages)."""
    if optimizer.averages:
        with nlp.use_params(optimizer.averages):
            return _score(nlp, dev, indices)
    return _score(nlp, dev, indices)


def _evaluated_weights(nlp: Language, optimizer: Optimizer) -> bytes:
    if optimizer.averages:
        with nlp.use_params(optimizer.averages):
            return nlp.to_bytes()
    return nlp.to_bytes()


def _entity_counts(example: Example) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of one predicted example, as ``get_ner_prf``."""
    reference = example.reference
    if not reference.has_annotation("ENT_IOB"):
        return 0, 0, 0
    golds = {(ent.label_, ent.start, ent.end) for ent in reference.ents}
    x2y = example.alignment.x2y
    tp = fp = 0
    for ent in example.predicted.ents:
        aligned = x2y[ent.start : ent.end]
        if not len(aligned):
            continue
        start, end = int(aligned[0]), int(aligned[-1]) + 1
        # a prediction over tokens without gold annotation is neither right nor wrong
        if all(token.ent_iob != 0 for token in reference[start:end]):
            key = (ent.label_, start, end)
            if key in golds:
                tp += 1
                golds.remove(key)
            else:
                fp += 1
    return tp, fp, len(golds)


def _score(nlp: Language, dev: _Corpus, indices: list[int]) -> float:
    """Micro ents_f over the dev documents ``indices``, counted like spaCy's ``get_ner_prf``.

    Same figure as ``nlp.evaluate(examples)["ents_f"]`` with the config's ner scorer, without its extra
    work (copying every example, retokenising for timing, scoring tokenisation).
    """
    tp = fp = fn = 0
    for start in range(0, len(indices), EVAL_BATCH_DOCS):
        # a few documents at a time: the pipe's activations grow with the batch (~1 MB per document)
        examples = list(dev.examples(nlp, indices[start : start + EVAL_BATCH_DOCS]))
        predicted = nlp.pipe((eg.predicted for eg in examples), batch_size=EVAL_BATCH_DOCS)
        for example, doc in zip(examples, predicted, strict=True):
            example.predicted = doc
            found, extra, missed = _entity_counts(example)
            tp, fp, fn = tp + found, fp + extra, fn + missed
    if tp + fp + fn == 0:
        return 0.0
    precision = tp / (tp + fp + 1e-100)
    recall = tp / (tp + fn + 1e-100)
    return float(2 * ((precision * recall) / (precision + recall + 1e-100)))


def train_chunk(
    checkpoint: bytes,
    train_doc_bins: Sequence[bytes],
    dev_doc_bins: Sequence[bytes],
    *,
    max_seconds: float | None = None,
    max_steps: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ChunkResult:
    """Continue training from ``checkpoint`` until a budget is used up or training ends.

    Per step: reseed RNGs with ``seed + step``, take the next batch of the seeded epoch order, update
    with the config's dropout (and gradient accumulation), apply the optimizer, and every
    ``eval_frequency`` steps score ents_f on the dev set, keeping the best model. Without dev data,
    nothing is scored, early stopping is off and the best model is the latest one.

    Args:
        checkpoint: From :func:`init_checkpoint` or a previous chunk.
        train_doc_bins: The same training DocBins as before.
        dev_doc_bins: The dev DocBins (may be empty).
        max_seconds: Wall-clock budget of this chunk, checked between steps.
        max_steps: Number of steps this chunk may do (the run's total is ``options.max_steps``).
        should_stop: Checked between steps; True ends training with stop_reason "cancelled".

    Returns:
        The new checkpoint and the chunk's progress.

    Raises:
        TrainingFailed: Unreadable checkpoint, or training data that differ from the run's.
    """
    started = time.monotonic()
    state = _load_checkpoint(checkpoint)
    options = TrainingOptions.from_dict(state["options"])
    if state.get("stop_reason"):
        return _result(state, checkpoint, [])

    nlp = load_model(state["model"])
    step = int(state["step"])
    optimizer = _restore_optimizer(nlp, state["optimizer"], step)
    _set_rng_state(state["rng"])
    train = _corpus(nlp, train_doc_bins)
    if len(train) != state["num_train_examples"]:
        raise TrainingFailed(
            f"The training data changed during the run: {len(train)} examples instead of "
            f"{state['num_train_examples']}."
        )
    dev = _corpus(nlp, dev_doc_bins)
    dev_indices = _dev_indices(len(dev), options.seed)
    training = nlp.config.interpolate()["training"]
    dropouts = _Counted(_schedule(training["dropout"]), skip=step)
    accumulate = int(training.get("accumulate_gradient", 1) or 1)
    frozen = list(training.get("frozen_components", []))
    annotating = list(training.get("annotating_components", []))
    pipes = [(name, proc) for name, proc in _trainable_pipes(nlp) if name not in frozen]

    epoch = int(state["epoch"])
    batch_index = int(state["batch_index"])
    sizes_used = int(state["sizes_used"])
    batches, sizes_after = _epoch_batches(training, train.lengths, options.seed, epoch, sizes_used)
    best_score: float | None = state["best_score"]
    best_step: int | None = state["best_step"]
    best_model: bytes | None = state["best_model"]
    last_score: float | None = state["last_score"]
    stop_reason: str | None = None
    step_losses: list[float] = []

    while True:
        if step >= options.max_steps:
            stop_reason = STOP_MAX_STEPS
            break
        if should_stop is not None and should_stop():
            stop_reason = STOP_CANCELLED
            break
        if max_steps is not None and len(step_losses) >= max_steps:
            break
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            break
        while batch_index >= len(batches):
            epoch, batch_index, sizes_used = epoch + 1, 0, sizes_after
            batches, sizes_after = _epoch_batches(training, train.lengths, options.seed, epoch, sizes_used)
        batch = [train.example(nlp, index) for index in batches[batch_index]]
        batch_index += 1

        fix_random_seed(options.seed + step)
        dropout = float(next(dropouts))
        losses: dict[str, float] = {}
        for sub in _subdivide(batch, accumulate):
            # sgd=False: gradients only; the optimizer is applied once per step below, like spaCy's loop.
            nlp.update(sub, drop=dropout, losses=losses, sgd=False, exclude=frozen, annotates=annotating)  # type: ignore[arg-type]
        for _name, proc in pipes:
            proc.finish_update(optimizer)
        optimizer.step_schedules()
        step += 1
        step_losses.append(float(losses.get("ner", 0.0)))

        if dev_indices and (step % options.eval_frequency == 0 or step >= options.max_steps):
            score = _evaluate(nlp, optimizer, dev, dev_indices)
            last_score = score
            if best_score is None or score > best_score:
                # serialised only when it improves (it is ~6 MB)
                best_score, best_step, best_model = score, step, _evaluated_weights(nlp, optimizer)
        if options.patience and best_step is not None and step - best_step >= options.patience:
            stop_reason = STOP_EARLY
            break

    state.update(
        {
            "model": nlp.to_bytes(),
            "optimizer": _optimizer_state(nlp, optimizer),
            "step": step,
            "epoch": epoch,
            "batch_index": batch_index,
            "sizes_used": sizes_used,
            "rng": _rng_state(),
            "best_score": best_score,
            "best_step": best_step,
            "best_model": best_model,
            "last_score": last_score,
            "stop_reason": stop_reason,
        }
    )
    new_checkpoint = _dump_checkpoint(state)
    logger.info(
        "Trained %d steps (total %d) in %.1fs; dev score %s, best %s, stop %s",
        len(step_losses),
        step,
        time.monotonic() - started,
        last_score,
        best_score,
        stop_reason,
    )
    return _result(state, new_checkpoint, step_losses)


def _result(state: dict[str, Any], checkpoint: bytes, step_losses: list[float]) -> ChunkResult:
    stop_reason = state.get("stop_reason")
    return ChunkResult(
        checkpoint=checkpoint,
        step=int(state["step"]),
        loss=sum(step_losses) / len(step_losses) if step_losses else 0.0,
        dev_score=state.get("last_score"),
        best_score=state.get("best_score"),
        finished=stop_reason is not None,
        stop_reason=stop_reason,
        losses=step_losses,
    )
