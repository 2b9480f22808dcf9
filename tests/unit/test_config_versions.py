"""Training configuration versions: each one really trains; fallbacks, "latest" and unknown versions."""

from __future__ import annotations

import pytest
import spacy

from shared.errors import InvalidArgument
from shared.ner import config_versions, training
from shared.ner.training import TrainingOptions
from shared.ner.training.cluster_embed import ARCHITECTURE, cluster_embedding
from tests.unit import tiny_ner

pytestmark = pytest.mark.slow


def _embed_architecture(nlp: spacy.Language) -> str:
    return str(nlp.config["components"]["tok2vec"]["model"]["embed"]["@architectures"])


@pytest.mark.parametrize("version", [v for v, c in config_versions.VERSIONS.items() if not c.transfer])
def test_every_version_trains_a_tiny_model_that_finds_the_entities(version: str) -> None:
    bins = tiny_ner.doc_bin("en")
    options = tiny_ner.options(version)
    result = training.train_chunk(training.init_checkpoint(options, [bins]), [bins], [bins])
    assert result.finished and result.best_score is not None and result.best_score > 0.5
    nlp = training.load_model(training.best_model_bytes(result.checkpoint))
    expected = config_versions.VERSIONS[version]
    uses_clusters = expected.config_file != "2022-05-01.cfg"
    assert (_embed_architecture(nlp) == ARCHITECTURE) is uses_clusters
    assert (0, 11, "PERSON") in training.predict_spans(nlp, ["Alice Smith lives in Paris."])[0]


def test_the_cluster_layer_sees_the_tokens_clusters() -> None:
    options = tiny_ner.options(config_versions.EFFICIENCY_CLUSTERS, max_steps=1, eval_frequency=1)
    nlp = training.load_model(
        training.current_model_bytes(training.init_checkpoint(options, [tiny_ner.doc_bin("en")]))
    )
    extractor = nlp.get_pipe("tok2vec").model.get_ref("embed").layers[0]  # type: ignore[attr-defined]
    (features,) = extractor.predict([nlp.make_doc("the qqqzzzx")])
    assert features.shape == (2, 8)
    assert features[0, 4:].tolist() == [11, 11, 11, 11] and features[1, 4:].tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize(("sum_clusters", "columns"), [(False, 8), (True, 5)])
def test_summed_cluster_embeddings_narrow_the_mixing_layer(sum_clusters: bool, columns: int) -> None:
    # the benchmark-only variant (BENCHMARKS.md section 7e): four attribute columns plus one summed cluster column
    layer = cluster_embedding(8, ["NORM", "PREFIX", "SUFFIX", "SHAPE"], [50] * 4, [50] * 4, "en", sum_clusters=sum_clusters)
    docs = [spacy.blank("en").make_doc("the qqqzzzx")]
    layer.initialize(X=docs)
    mixer = layer.layers[-2]  # with_array(Maxout)
    assert mixer.layers[0].get_dim("nI") == 8 * columns
    (vectors,) = layer.predict(docs)
    assert vectors.shape == (2, 8)


def test_a_language_without_clusters_trains_with_the_fallback_config() -> None:
    version = config_versions.effective_version(config_versions.EFFICIENCY_CLUSTERS, "fr")
    assert version.version == config_versions.EFFICIENCY
    assert config_versions.effective_version("latest", "en").version == config_versions.LATEST
    options = tiny_ner.options("latest", lang="fr", max_steps=2, eval_frequency=1)
    checkpoint = training.init_checkpoint(options, [tiny_ner.doc_bin("fr")])
    assert options.config_version == config_versions.LATEST  # "latest" is recorded as what it resolves to
    nlp = training.load_model(training.current_model_bytes(checkpoint))
    assert _embed_architecture(nlp) == "spacy.MultiHashEmbed.v2"


def test_unknown_versions_are_refused_naming_the_field_and_old_checkpoints_keep_their_config() -> None:
    with pytest.raises(InvalidArgument) as caught:
        config_versions.resolve_version("2099-01-01")
    assert caught.value.target == "trainingConfigVersion" and "2022-05-01" in caught.value.message
    options = TrainingOptions(lang="en", labels=["X"], max_steps=1, patience=0, eval_frequency=1, seed=0)
    before_versions = {key: value for key, value in options.to_dict().items() if key != "config_version"}
    assert TrainingOptions.from_dict(before_versions).config_version == config_versions.EFFICIENCY


@pytest.mark.parametrize("config_file", sorted({v.config_file for v in config_versions.VERSIONS.values()}))
def test_every_config_file_has_exactly_spacys_sections(config_file: str) -> None:
    # a stray "[...]" text line parses as a section of its own and would be saved into every model
    config = spacy.util.load_config(config_versions.CONFIG_DIR / config_file)
    assert set(config) == {
        "paths", "system", "nlp", "corpora", "training", "initialize", "components", "pretraining"
    }
