"""The generated sample project: deterministic, valid, offsets exact, learnable."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
import spacy
from spacy.tokens import DocBin
from spacy.training import Example

from samples.generate import (
    ENTITY_TYPES,
    generate_sample_documents,
    generate_sample_project,
    main,
    write_sample,
)
from shared.models import EvaluationOptions
from shared.ner.corpus import build_doc_bin
from shared.ner.documents import check_labels_fit, decode_document
from shared.ner.offsets import Utf16Text
from shared.ner.project_file import parse_project_file
from shared.ner.splitting import split_documents


def test_generation_is_deterministic(tmp_path: Path) -> None:
    assert generate_sample_project() == generate_sample_project()
    write_sample(tmp_path / "a")
    write_sample(tmp_path / "b")
    names = sorted(path.name for path in (tmp_path / "a").iterdir())
    assert names == sorted(path.name for path in (tmp_path / "b").iterdir())
    assert len(names) == 61 and "project.json" in names
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert generate_sample_project(seed=8)[1] != generate_sample_project()[1]


def test_sample_parses_and_has_the_promised_shape() -> None:
    data, files = generate_sample_project()
    project = parse_project_file(data, expected_project_name="sample-purchase-orders")
    assert project.storage_input_container_name == "sample-purchase-orders"
    assert len(project.documents) >= 40 and set(files) == {
        document.location for document in project.documents
    }
    assert len(project.entity_categories) >= 4
    counts = Counter(label.category for document in project.documents for label in document.labels())
    assert set(counts) == set(ENTITY_TYPES) and min(counts.values()) >= 50
    datasets = Counter(document.dataset for document in project.documents)
    assert datasets["Test"] >= 3 and datasets["Train"] > 0 and datasets[None] > 0
    texts = {location: data.decode("utf-8") for location, data in files.items()}
    assert sum("\r\n" in text for text in texts.values()) >= 5
    assert sum("\n" in text.replace("\r\n", "") for text in texts.values()) >= 5
    assert sum(any(ord(char) > 0xFFFF for char in text) for text in texts.values()) >= 5
    assert any(document.regions[0].offset > 0 for document in project.documents)


def test_custom_names_and_size() -> None:
    data, files = generate_sample_project(project_name="po2", container="po-docs", documents=12, seed=1)
    project = parse_project_file(data)
    assert project.project_name == "po2" and project.storage_input_container_name == "po-docs"
    assert len(files) == 12
    with pytest.raises(ValueError):
        generate_sample_documents(documents=5)


def test_every_label_points_at_the_inserted_text() -> None:
    data, files = generate_sample_project()
    project = parse_project_file(data)
    generated = {document.location: document for document in generate_sample_documents()}
    emoji_shifted = 0
    for document in project.documents:
        text = decode_document(document.location, files[document.location])
        check_labels_fit(document, text)
        utf16 = Utf16Text(text)
        expected = generated[document.location].labels
        assert len(document.labels()) == len(expected)
        for label, inserted in zip(document.labels(), expected, strict=True):
            assert label.category == inserted.category
            assert utf16.slice_utf16(label.offset, label.length) == inserted.text
            if utf16.to_index(label.offset) != label.offset:
                emoji_shifted += 1
    assert emoji_shifted > 10  # UTF-16 offsets really differ from Python indices for these labels


def test_sample_converts_without_alignment_warnings_and_splits_stratified() -> None:
    data, files = generate_sample_project()
    project = parse_project_file(data)
    items = [
        (document, decode_document(document.location, files[document.location]))
        for document in project.documents
    ]
    _, warnings = build_doc_bin("en", items)
    assert warnings == []
    split = split_documents(
        project.documents, EvaluationOptions(), seed=1, categories=project.entity_categories
    )
    assert split.warnings == []
    assert len(split.test) >= 10


def test_cli_writes_the_sample(tmp_path: Path) -> None:
    assert main([str(tmp_path / "out"), "--documents", "15", "--seed", "3"]) == 0
    project = json.loads((tmp_path / "out" / "project.json").read_text(encoding="utf-8"))
    assert len(project["assets"]["documents"]) == 15
    assert (tmp_path / "out" / "po_015.txt").read_bytes() == generate_sample_project(documents=15, seed=3)[1][
        "po_015.txt"
    ]


@pytest.mark.slow
def test_sample_is_learnable_by_a_small_spacy_model() -> None:
    data, files = generate_sample_project()
    project = parse_project_file(data)
    split = split_documents(project.documents, EvaluationOptions(), seed=1)

    def doc_bin(locations: list[str]) -> bytes:
        items = [
            (project.document(location), decode_document(location, files[location])) for location in locations
        ]
        return build_doc_bin("en", items)[0]

    nlp = spacy.blank("en")
    ner = nlp.add_pipe("ner")
    for category in project.entity_categories:
        ner.add_label(category)
    train = [
        Example(nlp.make_doc(doc.text), doc)
        for doc in DocBin().from_bytes(doc_bin(split.train)).get_docs(nlp.vocab)
    ]
    test = [
        Example(nlp.make_doc(doc.text), doc)
        for doc in DocBin().from_bytes(doc_bin(split.test)).get_docs(nlp.vocab)
    ]
    optimizer = nlp.initialize(lambda: train)
    rng = random.Random(0)
    for _ in range(15):
        rng.shuffle(train)
        for start in range(0, len(train), 8):
            nlp.update(train[start : start + 8], sgd=optimizer, drop=0.1)
    scores = nlp.evaluate(test)
    assert scores["ents_f"] > 0.5
