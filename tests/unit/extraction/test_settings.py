"""The extraction settings: defaults, overrides, refusals, and that the sample settings file lists them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config import SettingsError, load_settings

KEYS = {"NER_MODEL_CACHE_SIZE": "4", "NER_EXTRACTION_BATCH_DOCUMENTS": "5", "NER_EXTRACTION_BATCH_CHARACTERS": "25000"}


def test_defaults_and_overrides() -> None:
    settings = load_settings({"LANGUAGE_API_KEYS": "k"})
    assert (settings.model_cache_size, settings.extraction_batch_documents, settings.extraction_batch_characters) == (
        4, 5, 25_000,
    )
    settings = load_settings({"LANGUAGE_API_KEYS": "k", "NER_MODEL_CACHE_SIZE": "10", "NER_EXTRACTION_BATCH_DOCUMENTS": "25"})
    assert (settings.model_cache_size, settings.extraction_batch_documents) == (10, 25)


@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_non_positive_value_is_refused_naming_the_key(key: str) -> None:
    with pytest.raises(SettingsError, match=key):
        load_settings({"LANGUAGE_API_KEYS": "k", key: "0"})


def test_the_sample_settings_document_every_key_with_its_default() -> None:
    sample = json.loads((Path(__file__).resolve().parents[3] / "local.settings.sample.json").read_text())["Values"]
    assert {key: sample.get(key) for key in KEYS} == KEYS
