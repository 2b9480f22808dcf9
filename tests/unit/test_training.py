"""Resumable spaCy NER training on tiny corpora (real training, a few seconds per test)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import registry

from shared.errors import InvalidArgument, TrainingFailed
from shared.ner import training
from shared.ner.training import TrainingOptions, batching, scoring
from shared.ner.training import checkpoint as checkpoints
from shared.ner.training import corpus as corpora

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

SHORT = [
    ("Alice Smith lives in Paris.", [("Alice Smith", "PERSON"), ("Paris", "CITY")]),
    ("Bob Jones moved to Berlin last year.", [("Bob Jones", "PERSON"), ("Berlin", "CITY")]),
    ("Carol White visited Rome in May.", [("Carol White", "PERSON"), ("Rome", "CITY")]),
    ("The meeting in London was led by Dan Brown.", [("London", "CITY"), ("Dan Brown", "PERSON")]),
    (
        "Eve Black flew from Madrid to Lisbon.",
        [("Eve Black", "PERSON"), ("Madrid", "CITY"), ("Lisbon", "CITY")],
    ),
    ("Frank Green works in Vienna.", [("Frank Green", "PERSON"), ("Vienna", "CITY")]),
]

FILLER = " The weather was mild and the trains were on time for most of the week, as usual."


def _doc_bin(rows: list[tuple[str, list[tuple[str, str]]]]) -> bytes:
    nlp = spacy.blank("en")
    doc_bin = DocBin()
    for text, entities in rows:
        doc = nlp.make_doc(text)
        spans = []
        for surface, label in entities:
            start = text.index(surface)
            span = doc.char_span(start, start + len(surface), label=label)
            assert span is not None, (text, surface)
            spans.append(span)
        doc.ents = spans
        doc_bin.add(doc)
    return doc_bin.to_bytes()


@pytest.fixture(scope="module")
def short_bins() -> bytes:
    return _doc_bin(SHORT)


@pytest.fixture(scope="module")
def long_bins() -> bytes:
    """Longer docs, so that an epoch has several batches and resumption happens mid-epoch."""
    return _doc_bin([(text + FILLER, entities) for text, entities in SHORT * 2])


def _options(**changes: object) -> TrainingOptions:
    values: dict[str, object] = {
        "lang": "en",
        "labels": ["PERSON", "CITY"],
        "max_steps": 200,
        "patience": 0,
        "eval_frequency": 5,
        "seed": 0,
    }
    values.update(changes)
    return TrainingOptions(**values)  # type: ignore[arg-type]


def _weights(nlp: Language) -> list[numpy.ndarray]:
    arrays = []
    for _name, proc in nlp.pipeline:
        for node in proc.model.walk():
            for param in node.param_names:
                if node.has_param(param):
                    arrays.append(numpy.asarray(node.get_param(param)))
    return arrays


def test_options_round_trip() -> None:
    options = _options(seed=7)
    assert TrainingOptions.from_dict(json.loads(json.dumps(options.to_dict()))) == options


def test_two_chunks_of_n_steps_end_where_one_chunk_of_2n_ends(long_bins: bytes) -> None:
    options = _options(eval_frequency=4)
    start = training.init_checkpoint(options, [long_bins])
    n = 6

    whole = training.train_chunk(start, [long_bins], [long_bins], max_steps=2 * n)
    first = training.train_chunk(start, [long_bins], [long_bins], max_steps=n)
    second = training.train_chunk(first.checkpoint, [long_bins], [long_bins], max_steps=n)

    assert (first.step, second.step, whole.step) == (n, 2 * n, 2 * n)
    state = checkpoints.load_checkpoint(whole.checkpoint)
    assert state["epoch"] >= 1 and state["batch_index"] >= 1  # the run crossed epochs; n is mid-epoch
    assert first.losses + second.losses == pytest.approx(whole.losses, rel=1e-6)
    assert (first.loss + second.loss) / 2 == pytest.approx(whole.loss, rel=1e-6)
    assert second.best_score == whole.best_score
    resumed = _weights(training.load_model(training.current_model_bytes(second.checkpoint)))
    direct = _weights(training.load_model(training.current_model_bytes(whole.checkpoint)))
    assert len(resumed) == len(direct) > 0
    max_diff = max(float(numpy.abs(a - b).max()) for a, b in zip(resumed, direct, strict=True))
    assert max_diff <= 1e-6
    # and training actually changed the weights
    initial = _weights(training.load_model(training.current_model_bytes(start)))
    assert any(not numpy.array_equal(a, b) for a, b in zip(initial, direct, strict=True))


def test_tiny_run_learns_and_the_model_loads_in_a_fresh_process(short_bins: bytes, tmp_path: Path) -> None:
    options = _options(max_steps=60, eval_frequency=10)
    result = training.train_chunk(training.init_checkpoint(options, [short_bins]), [short_bins], [short_bins])
    assert result.finished and result.stop_reason == "max_steps" and result.step == 60
    assert result.best_score is not None and result.best_score > 0.5

    model_bytes = training.best_model_bytes(result.checkpoint)
    nlp = training.load_model(model_bytes)
    spans = training.predict_spans(nlp, ["Alice Smith lives in Paris.", ""])
    assert (0, 11, "PERSON") in spans[0]
    assert (21, 26, "CITY") in spans[0]
    assert spans[1] == []

    model_file = tmp_path / "model.bin"
    model_file.write_bytes(model_bytes)
    script = (
        "import json, sys; from pathlib import Path; from shared.ner.training import load_model, predict_spans;"
        "nlp = load_model(Path(sys.argv[1]).read_bytes());"
        "print(json.dumps([nlp.lang, sorted(nlp.get_pipe('ner').labels),"
        " predict_spans(nlp, ['Alice Smith lives in Paris.'])]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(model_file)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lang, labels, fresh_spans = json.loads(done.stdout)
    assert lang == "en" and labels == ["CITY", "PERSON"]
    assert [list(span) for span in spans[0]] == fresh_spans[0]


def test_max_steps_is_the_total_over_chunks(short_bins: bytes) -> None:
    options = _options(max_steps=5, eval_frequency=100)
    first = training.train_chunk(
        training.init_checkpoint(options, [short_bins]), [short_bins], [short_bins], max_steps=3
    )
    assert (first.step, first.finished, first.stop_reason) == (3, False, None)
    assert first.dev_score is None  # no evaluation point reached yet
    second = training.train_chunk(first.checkpoint, [short_bins], [short_bins], max_steps=10)
    assert (second.step, second.finished, second.stop_reason) == (5, True, "max_steps")
    assert len(second.losses) == 2
    assert second.dev_score is not None  # the last step is always evaluated
    assert (
        training.best_model_bytes(second.checkpoint)
        == checkpoints.load_checkpoint(second.checkpoint)["best_model"]
    )
    # a finished checkpoint does not train further
    again = training.train_chunk(second.checkpoint, [short_bins], [short_bins])
    assert (again.step, again.stop_reason, again.losses) == (5, "max_steps", [])


def test_early_stopping_after_patience_steps_without_improvement(short_bins: bytes) -> None:
    options = _options(max_steps=200, patience=3, eval_frequency=1)
    result = training.train_chunk(training.init_checkpoint(options, [short_bins]), [short_bins], [short_bins])
    assert (result.finished, result.stop_reason) == (True, "early_stopping")
    state = checkpoints.load_checkpoint(result.checkpoint)
    assert result.step == state["best_step"] + 3
    assert result.step < 200


def test_should_stop_cancels_between_steps(short_bins: bytes) -> None:
    calls: list[int] = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    checkpoint = training.init_checkpoint(_options(), [short_bins])
    result = training.train_chunk(checkpoint, [short_bins], [short_bins], should_stop=should_stop)
    assert (result.step, result.finished, result.stop_reason) == (2, True, "cancelled")
    assert len(calls) == 3


def test_time_budget_and_no_dev_data(short_bins: bytes) -> None:
    checkpoint = training.init_checkpoint(_options(), [short_bins])
    idle = training.train_chunk(checkpoint, [short_bins], [], max_seconds=0)
    assert (idle.step, idle.finished, idle.stop_reason, idle.loss) == (0, False, None, 0.0)
    result = training.train_chunk(idle.checkpoint, [short_bins], [], max_steps=3)
    assert (result.step, result.dev_score, result.best_score) == (3, None, None)
    assert result.loss > 0.0
    # without dev data the best model is the latest one
    assert training.best_model_bytes(result.checkpoint) == training.current_model_bytes(result.checkpoint)


def test_rejected_inputs(short_bins: bytes, long_bins: bytes) -> None:
    with pytest.raises(InvalidArgument) as no_labels:
        training.init_checkpoint(_options(labels=[]), [short_bins])
    assert no_labels.value.target == "labels"
    with pytest.raises(InvalidArgument) as no_docs:
        training.init_checkpoint(_options(), [])
    assert "training documents" in no_docs.value.message
    with pytest.raises(InvalidArgument) as bad_frequency:
        training.init_checkpoint(_options(eval_frequency=0), [short_bins])
    assert bad_frequency.value.target == "eval_frequency"
    checkpoint = training.init_checkpoint(_options(), [short_bins])
    with pytest.raises(TrainingFailed, match="training data changed"):
        training.train_chunk(checkpoint, [long_bins], [], max_steps=1)
    with pytest.raises(TrainingFailed):
        training.train_chunk(b"not a checkpoint", [short_bins], [])
    with pytest.raises(TrainingFailed):
        training.load_model(b"\x00garbage")


def _old_style_examples(nlp: Language, doc_bins: list[bytes]) -> list[Example]:
    """Every example materialised up front, as training did before the compact corpus."""
    return [
        Example(nlp.make_doc(reference.text), reference)
        for data in doc_bins
        for reference in DocBin().from_bytes(data).get_docs(nlp.vocab)
    ]


def test_compact_corpus_rebuilds_the_docbin_docs_and_batches_them_like_examples(
    short_bins: bytes, long_bins: bytes
) -> None:
    options = _options()
    nlp = training.load_model(training.current_model_bytes(training.init_checkpoint(options, [short_bins])))
    bins = [short_bins, long_bins]
    training.clear_corpus_cache()
    corpus = corpora.load_corpus(nlp, bins)
    expected = _old_style_examples(nlp, bins)
    assert len(corpus) == len(expected) == 18
    attrs = ["ORTH", "ENT_IOB", "ENT_TYPE", "SPACY", "NORM"]
    for index, old in enumerate(expected):
        new = corpus.example(nlp, index)
        assert new.reference.text == old.reference.text
        assert numpy.array_equal(new.reference.to_array(attrs), old.reference.to_array(attrs))
        assert [(e.start, e.end, e.label_) for e in new.reference.ents] == [
            (e.start, e.end, e.label_) for e in old.reference.ents
        ]
        assert corpus.lengths[index] == len(old) == len(new.predicted)
    # the index batches of an epoch are the example batches the batcher makes from the same shuffle
    config = nlp.config.interpolate()["training"]
    index_batches, sizes_after = batching.epoch_batches(config, corpus.lengths, 3, 2, 0)
    order = list(expected)
    random.Random(3 * 1_000_003 + 2).shuffle(order)
    batcher = registry.resolve({"b": config["batcher"]})["b"]
    example_batches = [[eg.reference.text for eg in batch] for batch in batcher(order)]
    assert len(index_batches) > 1 and sizes_after == len(index_batches)
    assert [[expected[i].reference.text for i in batch] for batch in index_batches] == example_batches
    # a second lookup is served from the cache and gives the same corpus
    assert corpora.load_corpus(nlp, bins) is corpus


def test_dev_score_matches_spacy_evaluate_and_is_capped(
    long_bins: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = _options(max_steps=20, eval_frequency=20)
    result = training.train_chunk(training.init_checkpoint(options, [long_bins]), [long_bins], [long_bins])
    nlp = training.load_model(training.current_model_bytes(result.checkpoint))
    dev = corpora.load_corpus(nlp, [long_bins])
    optimizer = nlp.create_optimizer()
    everything = list(range(len(dev)))
    spacy_f = nlp.evaluate(_old_style_examples(nlp, [long_bins]))["ents_f"] or 0.0
    assert scoring.evaluate(nlp, optimizer, dev, everything) == pytest.approx(spacy_f, abs=0.0)
    assert result.dev_score == spacy_f  # the chunk's last evaluation scored the same weights

    monkeypatch.setattr(scoring, "DEV_EVAL_MAX_DOCS", 5)
    sample = scoring.dev_indices(len(dev), seed=0)
    assert len(sample) == 5 and sample == sorted(set(sample)) and sample == scoring.dev_indices(12, seed=0)
    assert scoring.dev_indices(4, seed=0) == [0, 1, 2, 3]
    subset = [
        example for index, example in enumerate(_old_style_examples(nlp, [long_bins])) if index in sample
    ]
    assert scoring.evaluate(nlp, optimizer, dev, sample) == (nlp.evaluate(subset)["ents_f"] or 0.0)


def test_results_do_not_depend_on_the_corpus_cache_or_the_process(long_bins: bytes, tmp_path: Path) -> None:
    options = _options(eval_frequency=3)
    training.clear_corpus_cache()
    start = training.init_checkpoint(options, [long_bins])
    cold_cache = training.train_chunk(start, [long_bins], [long_bins], max_steps=5)
    warm_cache = training.train_chunk(start, [long_bins], [long_bins], max_steps=5)
    assert cold_cache.losses == warm_cache.losses and cold_cache.dev_score == warm_cache.dev_score
    assert training.current_model_bytes(cold_cache.checkpoint) == training.current_model_bytes(
        warm_cache.checkpoint
    )

    bins_file = tmp_path / "train.spacy"
    bins_file.write_bytes(long_bins)
    (tmp_path / "start.bin").write_bytes(start)
    script = (
        "import json, sys; from pathlib import Path; from shared.ner import training;"
        "d = Path(sys.argv[1]); data = (d / 'train.spacy').read_bytes();"
        "r = training.train_chunk((d / 'start.bin').read_bytes(), [data], [data], max_steps=5);"
        "print(json.dumps([r.losses, r.dev_score]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [cold_cache.losses, cold_cache.dev_score]
