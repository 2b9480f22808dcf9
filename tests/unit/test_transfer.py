"""The transfer preset: a base pipeline built here, verified by its manifest digest, reused, shared."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy
import pytest
import spacy
import srsly
from spacy.training import Example
from spacy.util import load_model_from_config
from thinc.api import Config

from shared.errors import InvalidArgument, TrainingFailed
from shared.ner import config_versions, training, transfer
from tests.unit import tiny_ner

pytestmark = pytest.mark.slow


def _digest_by_shell(folder: Path) -> str:
    """The documented command, run as the operator would."""
    command = "find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"
    output = subprocess.run(["sh", "-c", command], cwd=folder, capture_output=True, text=True, check=True)
    return output.stdout.split()[0]


def _initialised_with_vectors(config: Config, width: int) -> tuple[Any, Any, list[Example]]:
    """A pipeline from ``config`` with random static vectors for the tiny corpus's words, initialised."""
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    rng = numpy.random.default_rng(width)
    nlp.vocab.reset_vectors(width=width)
    for word in "Alice Smith Paris Bob Jones Berlin Rome London Vienna lives moved the in".split():
        nlp.vocab.set_vector(word, rng.random(width, dtype=numpy.float32))
    examples = [Example(nlp.make_doc(doc.text), doc) for doc in tiny_ner.docs(nlp)]
    return nlp, nlp.initialize(get_examples=lambda: examples), examples


@pytest.fixture(scope="module")
def base_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small pretrained-like pipeline: static vectors + a tok2vec using them (+ a tagger-free ner)."""
    config = Config().from_str(
        config_versions.config_text(config_versions.EFFICIENCY, "en"), interpolate=False
    )
    config["components"]["tok2vec"]["model"]["embed"]["include_static_vectors"] = True
    nlp, _, _ = _initialised_with_vectors(config, width=16)
    folder = tmp_path_factory.mktemp("base") / "en_base"
    nlp.to_disk(folder)
    return folder


@pytest.fixture(scope="module")
def ner_base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A base shaped like spaCy's core pipelines: a ner with a tok2vec of its own (here, no tok2vec pipe).

    Returns the folder and the ner's tok2vec weights after a few updates (so not any fresh init's).
    """
    config = Config().from_str(
        config_versions.config_text(config_versions.EFFICIENCY, "en"), interpolate=False
    )
    config["nlp"]["pipeline"] = ["ner"]
    del config["components"]["tok2vec"]
    config["components"]["ner"]["model"]["tok2vec"] = {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {
            "@architectures": "spacy.MultiHashEmbed.v2",
            "width": 32,
            "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
            "rows": [500, 100, 100, 100],
            "include_static_vectors": True,
        },
        "encode": {
            "@architectures": "spacy.MaxoutWindowEncoder.v2",
            "width": 32,
            "depth": 2,
            "window_size": 1,
            "maxout_pieces": 3,
        },
    }
    nlp, optimizer, examples = _initialised_with_vectors(config, width=8)
    for _ in range(3):
        nlp.update(examples, sgd=optimizer)
    folder = tmp_path_factory.mktemp("nerbase") / "en_ner_base"
    nlp.to_disk(folder)
    weights = nlp.get_pipe("ner").model.get_ref("tok2vec").layers[0].to_bytes()  # type: ignore[attr-defined]
    return folder, weights


@pytest.fixture
def configured(base_folder: Path) -> Iterator[transfer.VerifiedBase]:
    base = transfer.configure_base(base_folder, _digest_by_shell(base_folder))
    assert base is not None
    yield base
    transfer.configure_base(None, None)


def test_without_a_base_the_transfer_version_is_refused_naming_the_settings() -> None:
    transfer.configure_base(None, None)
    with pytest.raises(InvalidArgument) as caught:
        config_versions.resolve_version(config_versions.TRANSFER)
    assert caught.value.target == "trainingConfigVersion"
    assert (
        "NER_TRANSFER_BASE_PATH" in caught.value.message
        and "NER_TRANSFER_BASE_SHA256" in caught.value.message
    )
    assert config_versions.TRANSFER not in [v.version for v in config_versions.offered_versions()]


def test_a_base_is_used_only_when_its_manifest_digest_matches(base_folder: Path, tmp_path: Path) -> None:
    digest = _digest_by_shell(base_folder)
    assert transfer.verify_base(base_folder, digest).digest == digest  # the documented command agrees
    with pytest.raises(TrainingFailed, match="manifest"):
        transfer.verify_base(base_folder, "0" * 64)
    with pytest.raises(TrainingFailed, match="does not exist"):
        transfer.verify_base(tmp_path / "missing", digest)
    # a tok2vec naming a function outside spaCy is refused even with a matching digest
    tampered = tmp_path / "tampered"
    subprocess.run(["cp", "-r", str(base_folder), str(tampered)], check=True)
    config_file = tampered / "config.cfg"
    config_file.write_text(
        config_file.read_text().replace('"spacy.MaxoutWindowEncoder.v2"', '"somebody.Encoder.v1"'),
        encoding="utf-8",
    )
    with pytest.raises(TrainingFailed, match="outside spaCy"):
        transfer.verify_base(tampered, _digest_by_shell(tampered))


def test_transfer_training_starts_from_the_base_and_shares_its_vectors(
    configured: transfer.VerifiedBase, base_folder: Path
) -> None:
    assert config_versions.TRANSFER in [v.version for v in config_versions.offered_versions()]
    bins = tiny_ner.doc_bin()
    options = tiny_ner.options(config_versions.TRANSFER)
    start = training.init_checkpoint(options, [bins])
    initial = training.load_model(training.current_model_bytes(start))
    base_weights = (base_folder / "tok2vec" / "model").read_bytes()
    assert initial.get_pipe("tok2vec").model.to_bytes() == base_weights  # type: ignore[attr-defined]

    result = training.train_chunk(start, [bins], [bins])
    assert result.best_score is not None and result.best_score > 0.5
    model_bytes = training.best_model_bytes(result.checkpoint)
    vocab_fields = srsly.msgpack_loads(srsly.msgpack_loads(model_bytes)["vocab"])
    assert "vectors" not in vocab_fields  # not copied into the model
    nlp = training.load_model(model_bytes)
    assert nlp.vocab.vectors is configured.vectors()  # one copy per process, shared
    assert (0, 11, "PERSON") in training.predict_spans(nlp, ["Alice Smith lives in Paris."])[0]

    transfer.configure_base(None, None)
    with pytest.raises(TrainingFailed, match="not configured"):
        training.load_model(model_bytes)


def test_a_ner_with_its_own_tok2vec_gives_that_tok2vec(ner_base: tuple[Path, bytes]) -> None:
    folder, ner_weights = ner_base
    base = transfer.configure_base(folder, _digest_by_shell(folder))
    try:
        assert base is not None and base.tok2vec["model"]["encode"]["width"] == 32
        start = training.init_checkpoint(tiny_ner.options(config_versions.TRANSFER), [tiny_ner.doc_bin()])
        initial = training.load_model(training.current_model_bytes(start))
        assert initial.get_pipe("tok2vec").model.to_bytes() == ner_weights  # type: ignore[attr-defined]
        assert initial.vocab.vectors is base.vectors()
    finally:
        transfer.configure_base(None, None)



@pytest.fixture
def ner_base_configured(ner_base: tuple[Path, bytes]) -> Iterator[transfer.VerifiedBase]:
    folder, _ = ner_base
    base = transfer.configure_base(folder, _digest_by_shell(folder))
    assert base is not None
    yield base
    transfer.configure_base(None, None)


def _initial_transfer_ner(monkeypatch: pytest.MonkeyPatch, *, ner_head: bool) -> Any:
    """The ner model of a fresh transfer checkpoint, with the version's ``transfer_ner_head`` set as given."""
    # no version ships with the flag (BENCHMARKS.md section 7e); benchmarks set it per arm
    flagged = dataclasses.replace(config_versions.VERSIONS[config_versions.TRANSFER], transfer_ner_head=ner_head)
    monkeypatch.setitem(config_versions.VERSIONS, config_versions.TRANSFER, flagged)
    start = training.init_checkpoint(tiny_ner.options(config_versions.TRANSFER), [tiny_ner.doc_bin()])
    return training.load_model(training.current_model_bytes(start)).get_pipe("ner").model  # type: ignore[attr-defined]


@pytest.mark.parametrize("ner_head", [True, False])
def test_the_ner_head_can_start_from_the_base_ners_hidden_layers(
    ner_base_configured: transfer.VerifiedBase, monkeypatch: pytest.MonkeyPatch, ner_head: bool
) -> None:
    base_ner = spacy.load(ner_base_configured.folder).get_pipe("ner").model  # type: ignore[attr-defined]
    ner = _initial_transfer_ner(monkeypatch, ner_head=ner_head)
    assert ner_base_configured.ner_head_weights() is not None
    same = {
        name: layer(ner).to_bytes() == layer(base_ner).to_bytes()
        for name, layer in {
            "lower": lambda model: model.get_ref("lower"),
            "projection": lambda model: model.get_ref("tok2vec").layers[-1],
            "upper": lambda model: model.get_ref("upper"),  # the output layer always starts fresh
        }.items()
    }
    assert same == {"lower": ner_head, "projection": ner_head, "upper": False}


def test_a_base_ner_of_other_dimensions_leaves_the_head_fresh(
    ner_base_configured: transfer.VerifiedBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = ner_base_configured.ner_head_weights()
    assert real is not None
    wider = {name: ({**dims, "nO": (dims.get("nO") or 0) + 1}, weights) for name, (dims, weights) in real.items()}
    monkeypatch.setattr(ner_base_configured, "_head_weights", wider)  # as a base with another hidden width gives
    ner = _initial_transfer_ner(monkeypatch, ner_head=True)
    base_ner = spacy.load(ner_base_configured.folder).get_pipe("ner").model  # type: ignore[attr-defined]
    assert ner.get_ref("lower").to_bytes() != base_ner.get_ref("lower").to_bytes()
    assert "other dimensions" in caplog.text


def test_a_base_without_a_ner_tok2vec_gives_no_head(configured: transfer.VerifiedBase) -> None:
    assert configured.ner_head_weights() is None

def test_other_languages_fall_back_to_the_default(configured: transfer.VerifiedBase) -> None:
    assert (
        config_versions.effective_version(config_versions.TRANSFER, "en").version == config_versions.TRANSFER
    )
    fallback = config_versions.effective_version(config_versions.TRANSFER, "fr")
    assert fallback.version == config_versions.EFFICIENCY


def test_the_train_request_and_the_versions_list_follow_the_settings(base_folder: Path) -> None:
    from shared.config import SettingsError, load_settings
    from shared.service.trained_models import training_config_versions
    from shared.training.requests import _validate_train_body

    def settings(path: str = "", sha: str = "") -> Any:
        return load_settings(
            {"LANGUAGE_API_KEYS": "k", "NER_TRANSFER_BASE_PATH": path, "NER_TRANSFER_BASE_SHA256": sha}
        )

    body = {"modelLabel": "m1", "trainingConfigVersion": config_versions.TRANSFER}
    transfer.configure_from_settings(settings())
    assert _validate_train_body({**body, "trainingConfigVersion": "latest"})[1] == config_versions.LATEST
    with pytest.raises(InvalidArgument, match="NER_TRANSFER_BASE_PATH"):
        _validate_train_body(body)
    listed = [item["trainingConfigVersion"] for item in training_config_versions(settings())]
    assert listed == [config_versions.EFFICIENCY, config_versions.EFFICIENCY_CLUSTERS, config_versions.CLUSTERS_FASTER_LEARNING]

    wrong = settings(str(base_folder), "ab" * 32)  # a base that does not match: refused, and the 400 says so
    assert training_config_versions(wrong) == training_config_versions()
    with pytest.raises(InvalidArgument, match="refused") as caught:
        _validate_train_body(body)
    assert str(base_folder) not in caught.value.message  # no machine paths in answers

    good = settings(str(base_folder), _digest_by_shell(base_folder))
    assert config_versions.TRANSFER in [
        item["trainingConfigVersion"] for item in training_config_versions(good)
    ]
    assert _validate_train_body(body)[1] == config_versions.TRANSFER
    transfer.configure_from_settings(settings())
    with pytest.raises(SettingsError, match="together"):
        settings(str(base_folder))
    with pytest.raises(SettingsError, match="64 hexadecimal"):
        settings(str(base_folder), "xyz")
