"""Predictions with confidence scores from a tiny spaCy model trained here, and the model cache."""

from __future__ import annotations

import statistics
import threading
import time

import pytest
from spacy.language import Language

from shared.extraction.analysis import analyze_batch
from shared.extraction.model_cache import ModelCache
from shared.extraction.prediction import predict_entities
from shared.extraction.request import InputDocument
from shared.extraction.text_elements import StringIndexType
from shared.ner import training
from tests.unit.test_training import FILLER, SHORT, _doc_bin, _options

pytestmark = pytest.mark.slow

HELD_OUT = [
    ("Grace Hall lives in Oslo.", [("Grace Hall", "PERSON"), ("Oslo", "CITY")]),
    ("Henry Ford moved to Dublin last year.", [("Henry Ford", "PERSON"), ("Dublin", "CITY")]),
    ("Ivy Stone visited Prague in May.", [("Ivy Stone", "PERSON"), ("Prague", "CITY")]),
    ("The meeting in Athens was led by Jack Reed.", [("Athens", "CITY"), ("Jack Reed", "PERSON")]),
    (
        "Kate Moss flew from Warsaw to Budapest.",
        [("Kate Moss", "PERSON"), ("Warsaw", "CITY"), ("Budapest", "CITY")],
    ),
    ("Liam Gray works in Zurich.", [("Liam Gray", "PERSON"), ("Zurich", "CITY")]),
    ("Mia Lane moved to Geneva last year.", [("Mia Lane", "PERSON"), ("Geneva", "CITY")]),
    ("The weather was mild and the trains were on time.", []),
    ("Nora Quinn visited Seville in May.", [("Nora Quinn", "PERSON"), ("Seville", "CITY")]),
    (
        "Oscar Wilde flew from Naples to Milan.",
        [("Oscar Wilde", "PERSON"), ("Naples", "CITY"), ("Milan", "CITY")],
    ),
]


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    bins = _doc_bin([(text + FILLER, entities) for text, entities in SHORT * 2] + SHORT)
    options = _options(max_steps=120, eval_frequency=20)
    checkpoint = training.train_chunk(training.init_checkpoint(options, [bins]), [bins], [bins]).checkpoint
    return training.best_model_bytes(checkpoint)


@pytest.fixture(scope="module")
def nlp(model_bytes: bytes) -> Language:
    return training.load_model(model_bytes)


def _texts() -> list[str]:
    return [text for text, _ in HELD_OUT] + [text for text, _ in SHORT]


def test_entities_are_exactly_those_of_the_greedy_pipeline(nlp: Language) -> None:
    texts = _texts() + ["\U0001f44d\U0001f3fd Alice Smith lives in Paris.", ""]
    predicted = predict_entities(nlp, texts, batch_size=4)
    greedy = training.predict_spans(nlp, texts)
    assert [[(e.start, e.end, e.category) for e in doc] for doc in predicted] == greedy
    assert sum(len(doc) for doc in greedy) > 10  # the model does find entities


def test_confidence_is_a_probability_that_separates_right_from_wrong(nlp: Language) -> None:
    gold = {(text, surface, label) for text, entities in HELD_OUT for surface, label in entities}
    right, wrong = [], []
    texts = [text for text, _ in HELD_OUT]
    for text, entities in zip(texts, predict_entities(nlp, texts), strict=True):
        for entity in entities:
            assert 0.0 <= entity.confidence <= 1.0
            is_right = (text, text[entity.start : entity.end], entity.category) in gold
            (right if is_right else wrong).append(entity.confidence)
    scores = right + wrong
    assert len(set(scores)) > len(scores) // 2  # a score per entity, not a constant
    assert right, "the tiny model should get some held-out entities right"
    if wrong:
        assert statistics.mean(right) > statistics.mean(wrong)
    # the score of a document does not depend on the documents batched with it
    alone = [predict_entities(nlp, [text])[0] for text in texts]
    batched = predict_entities(nlp, texts, batch_size=len(texts))
    assert [e.confidence for doc in alone for e in doc] == pytest.approx(
        [e.confidence for doc in batched for e in doc], abs=1e-5
    )


def test_beam_scoring_finds_the_same_entities(nlp: Language) -> None:
    texts = [text for text, _ in HELD_OUT]
    path = predict_entities(nlp, texts)
    beam = predict_entities(nlp, texts, scoring="beam")
    assert [[(e.start, e.end, e.category) for e in doc] for doc in beam] == [
        [(e.start, e.end, e.category) for e in doc] for doc in path
    ]
    assert all(0.0 <= e.confidence <= 1.0 for doc in beam for e in doc)
    # a one-parse beam has nothing to compare with: every entity gets probability 1
    single = predict_entities(nlp, texts, scoring="beam", beam_width=1)
    assert {e.confidence for doc in single for e in doc} == {1.0}


def _slice(text: str, offset: int, length: int, scheme: StringIndexType) -> str:
    if scheme is StringIndexType.UNICODE_CODE_POINT:
        return text[offset : offset + length]
    if scheme is StringIndexType.UTF16_CODE_UNIT:
        units = text.encode("utf-16-le")
        return units[2 * offset : 2 * (offset + length)].decode("utf-16-le")
    import regex

    clusters = regex.findall(r"\X", text)  # the test's texts have no Indic conjuncts
    return "".join(clusters[offset : offset + length])


@pytest.mark.parametrize("scheme", list(StringIndexType))
def test_batch_results_locate_each_entity_in_every_scheme(nlp: Language, scheme: StringIndexType) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    documents = [
        InputDocument("emoji", f"{family}\U0001f44d\U0001f3fd Alice Smith lives in Paris.", "en"),
        InputDocument("accents", "Zoe\u0301 Black flew from Madrid to Lisbon.", "en"),
        InputDocument("empty", "  ", "en"),
        InputDocument("klingon", "Bob Jones moved to Berlin.", "tlh"),
        InputDocument("plain", "Carol White visited Rome in May.", None),
    ]
    result = analyze_batch(documents, lambda texts: predict_entities(nlp, texts), scheme)
    assert [doc["id"] for doc in result.documents] == ["emoji", "accents", "plain"]
    assert [(err["id"], err["error"]["innererror"]["code"]) for err in result.errors] == [
        ("empty", "InvalidDocument"),
        ("klingon", "UnsupportedLanguageCode"),
    ]
    texts = {doc.id: doc.text for doc in documents}
    found = 0
    for doc in result.documents:
        assert doc["warnings"] == []
        for entity in doc["entities"]:
            assert set(entity) == {"text", "category", "offset", "length", "confidenceScore"}
            assert _slice(texts[doc["id"]], entity["offset"], entity["length"], scheme) == entity["text"]
            found += 1
    assert found >= 3
    paris = [e for e in result.documents[0]["entities"] if e["text"] == "Paris"]
    expected = {"TextElements_v8": 24, "UnicodeCodePoint": 29, "Utf16CodeUnit": 34}[scheme.value]
    assert [(e["offset"], e["length"], e["category"]) for e in paris] == [(expected, 5, "CITY")]


def test_model_cache_is_lru_bounded_and_loads_each_version_once(model_bytes: bytes) -> None:
    loaded: list[str] = []

    def loader(ref: str) -> Language:
        loaded.append(ref)
        time.sleep(0.05)  # a slow load, so concurrent requests overlap
        return training.load_model(model_bytes)

    cache: ModelCache[Language] = ModelCache(2)
    v1, v2, v3 = (f"models/loans/m/job{i}/model.spacy" for i in (1, 2, 3))
    got: list[Language] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get(v1, lambda: loader(v1)))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loaded == [v1] and len({id(model) for model in got}) == 1
    cache.get(v2, lambda: loader(v2))
    assert cache.get(v1, lambda: loader(v1)) is got[0]  # a hit, and v1 becomes the most recently used
    cache.get(v3, lambda: loader(v3))  # evicts v2, the least recently used
    assert (v1 in cache, v2 in cache, v3 in cache, len(cache)) == (True, False, True, 2)
    cache.get(v2, lambda: loader(v2))
    assert loaded == [v1, v2, v3, v2] and cache.loads == 4
    with pytest.raises(ValueError):
        ModelCache(0)


class _ModelBlobs:
    """A model version's blobs by name; a missing one is ``NotFound``, as in the app's blob store."""

    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.reads: list[str] = []

    def get_bytes(self, name: str) -> bytes:
        from shared.errors import NotFound

        self.reads.append(name)
        if name not in self.blobs:
            raise NotFound(message=f"no blob {name}")
        return self.blobs[name]


def test_served_model_loads_each_blob_once_per_process(model_bytes: bytes) -> None:
    from shared.extraction.serving import model_cache, served_model

    blobs = _ModelBlobs({"models/p/m/job1/model.bin": model_bytes})
    model_cache(2).clear()
    first = served_model(blobs, "models/p/m/job1/model.bin", 2)
    again = served_model(blobs, "models/p/m/job1/model.bin", 2)
    assert first is again
    # the model, then its calibrator (absent: a model trained before calibration serves raw scores)
    assert blobs.reads == ["models/p/m/job1/model.bin", "models/p/m/job1/calibration.json"]
    assert first.calibrator.is_identity
    texts = [text for text, _ in HELD_OUT]
    assert first.predict(texts) == predict_entities(first.nlp, texts)


def test_served_model_applies_its_stored_calibrator(model_bytes: bytes) -> None:
    import json

    from shared.extraction.serving import model_cache, served_model
    from shared.ner.calibration import METHOD_PLATT, Calibrator

    stored = Calibrator(METHOD_PLATT, 0.5, -0.4, 40, 20, "test")
    blobs = _ModelBlobs(
        {
            "models/p/m/job2/model.bin": model_bytes,
            "models/p/m/job2/calibration.json": json.dumps(stored.to_dict()).encode(),
            "models/p/m/job3/model.bin": model_bytes,
            "models/p/m/job3/calibration.json": b"\x00 not json",
        }
    )
    model_cache(2).clear()
    served = served_model(blobs, "models/p/m/job2/model.bin", 2)
    assert served.calibrator == stored
    texts = _texts()
    raw = [e for entities in predict_entities(served.nlp, texts) for e in entities]
    calibrated = [e for entities in served.predict(texts) for e in entities]
    assert [(e.start, e.end, e.category) for e in calibrated] == [(e.start, e.end, e.category) for e in raw]
    assert [e.confidence for e in calibrated] == pytest.approx(stored.apply_all([e.confidence for e in raw]))
    assert any(abs(c.confidence - r.confidence) > 1e-3 for c, r in zip(calibrated, raw, strict=True))
    assert all(0.0 <= e.confidence <= 1.0 for e in calibrated)
    # an unreadable calibration file serves raw scores instead of failing every extraction
    assert served_model(blobs, "models/p/m/job3/model.bin", 2).calibrator.is_identity
