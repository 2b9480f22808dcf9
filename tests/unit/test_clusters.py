"""The Brown cluster table: pinned file verified by sha256, pruned to clustered words, looked up exactly."""

from __future__ import annotations

import gzip
import hashlib
import json

import numpy
import pytest
from spacy.strings import get_string_id

from shared.errors import TrainingFailed
from shared.ner import clusters


def _ids(words: list[str]) -> numpy.ndarray:
    return numpy.array([get_string_id(word) for word in words], dtype=numpy.uint64)


def test_a_table_is_pruned_to_clustered_words_with_the_ancestor_features() -> None:
    data = gzip.compress(
        json.dumps({"the": 11, "zebra": 0, "Paris": 0b1_0110_1010_0101, "paris": 3}).encode()
    )
    table = clusters.parse_cluster_table(data, hashlib.sha256(data).hexdigest())
    assert len(table) == 3  # "zebra" has no cluster and is dropped
    rows = table.lookup(
        _ids(["the", "zebra", "Paris", "PARIS", "nope"]), _ids(["the", "zebra", "paris", "paris", "nope"])
    )
    paris = 0b1_0110_1010_0101
    assert rows.tolist() == [
        [11, 11, 11, 11],
        [0, 0, 0, 0],
        [paris, paris & 0xF, paris & 0xFF, paris & 0xFFF],  # the exact form wins over the lower case
        [3, 3, 3, 3],  # unknown form: its lower case
        [0, 0, 0, 0],
    ]


def test_a_table_with_another_digest_is_refused() -> None:
    data = gzip.compress(json.dumps({"the": 11}).encode())
    with pytest.raises(TrainingFailed, match="sha256"):
        clusters.parse_cluster_table(data, hashlib.sha256(b"something else").hexdigest())


def test_the_pinned_english_table_is_verified_and_pruned() -> None:
    table = clusters.cluster_table("en")
    assert table is clusters.cluster_table("en")  # read once per process
    # spacy-lookups-data 1.0.5: 1,000,001 words, 190,129 of them with a cluster
    assert len(table) == 190_129
    assert numpy.all(table.keys[:-1] < table.keys[1:])  # sorted, unique: binary search is valid
    assert table.features[:, 0].min() > 0
    assert table.lookup(_ids(["the"]), _ids(["the"])).tolist() == [[11, 11, 11, 11]]
    assert not clusters.has_clusters("fr")
    with pytest.raises(TrainingFailed, match="no Brown clusters"):
        clusters.cluster_table("fr")
