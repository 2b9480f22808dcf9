"""Brown clusters from Explosion's ``spacy-lookups-data`` as a compact, verified per-process table.

``spacy-lookups-data`` (pinned in requirements.txt) ships one ``<lang>_lexeme_cluster.json.gz`` per
language that has clusters: a JSON object of a million words, most of them mapped to cluster 0 (none).
A cluster id is a Brown-cluster bit path stored reversed (spaCy 2 wrote ``int(path[::-1], 2)``), so the
path's first ``k`` bits are the id's low ``k`` bits: ``id & (2**k - 1)`` is the cluster's ``k``-bit
ancestor in the hierarchy.

The file is checked against the sha256 recorded here before it is parsed (a different package version
or a modified file is refused, so a model trained once predicts with the same table everywhere),
pruned to the words that have a cluster, and kept once per process as two sorted numpy arrays (word
hashes and features); load costs: BENCHMARKS.md. Only the data file is read: the package is located,
never imported.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy
from spacy.strings import get_string_id

from shared.errors import TrainingFailed

LOOKUPS_PACKAGE = "spacy_lookups_data"
LOOKUPS_VERSION = "1.0.5"

# sha256 of spacy-lookups-data 1.0.5's data/<lang>_lexeme_cluster.json.gz (the languages with clusters)
CLUSTER_TABLE_SHA256: dict[str, str] = {
    "de": "ebf93419f43c9ddde15e56b5b816efc8c579a1e4d0d7fe1fb1f766ba0bd5834c",
    "en": "0980a4bad49eaf7da2cfdf20024cd4eb8bb507bf4d26e69c561c975a50ce718c",
    "es": "11c2be84b6fd806e49435ab4ca5b28c4e84437617662dda85ce2979005176891",
}

PREFIX_BITS = (4, 8, 12)
"""Ancestors used as extra features besides the cluster itself (the issue's measured choice)."""

FEATURES = 1 + len(PREFIX_BITS)


@dataclass(frozen=True)
class ClusterTable:
    """Words that have a Brown cluster, as sorted 64-bit string hashes, and their features.

    Attributes:
        keys: ``get_string_id(word)`` (spaCy's ORTH/LOWER ids) of every clustered word, sorted.
        features: One row per key: the cluster id and its ``PREFIX_BITS`` ancestors (uint32: ids have
            at most 18 bits, and half the memory of uint64 matters for the million-word tables).
    """

    keys: numpy.ndarray
    features: numpy.ndarray

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    def lookup(self, orths: numpy.ndarray, lowers: numpy.ndarray) -> numpy.ndarray:
        """Feature rows (``len(orths)`` x FEATURES) of tokens: by exact form, else by lower case, else 0."""
        out = numpy.zeros((orths.shape[0], FEATURES), dtype=numpy.uint64)
        if not len(self) or not orths.shape[0]:
            return out
        for ids in (lowers, orths):  # the exact form wins: written last
            index = numpy.searchsorted(self.keys, ids)
            index[index == len(self)] = 0
            hit = self.keys[index] == ids
            out[hit] = self.features[index[hit]]
        return out


def _data_file(lang: str) -> Path:
    spec = importlib.util.find_spec(LOOKUPS_PACKAGE)  # locates the package without running its code
    if spec is None or not spec.submodule_search_locations:
        raise TrainingFailed(
            f"The package spacy-lookups-data=={LOOKUPS_VERSION} is not installed; it is needed for this "
            "trainingConfigVersion."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{lang}_lexeme_cluster.json.gz"


def parse_cluster_table(data: bytes, expected_sha256: str) -> ClusterTable:
    """Verify ``data`` (a gzipped JSON word -> cluster object) and prune it to the clustered words."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise TrainingFailed(
            f"The Brown cluster table has sha256 {digest}, expected {expected_sha256} "
            f"(spacy-lookups-data=={LOOKUPS_VERSION})."
        )
    words = json.loads(gzip.decompress(data))
    clustered = {get_string_id(word): int(cluster) for word, cluster in words.items() if cluster}
    keys = numpy.array(sorted(clustered), dtype=numpy.uint64)
    ids = numpy.array([clustered[int(key)] for key in keys], dtype=numpy.uint64)
    columns = [ids] + [ids & numpy.uint64((1 << bits) - 1) for bits in PREFIX_BITS]
    features = numpy.stack(columns, axis=1) if len(ids) else numpy.zeros((0, FEATURES), numpy.uint64)
    return ClusterTable(keys=keys, features=numpy.ascontiguousarray(features, dtype=numpy.uint32))


_TABLES: dict[str, ClusterTable] = {}
_TABLES_LOCK = threading.Lock()  # one load per language even when several threads start at once


def has_clusters(lang: str) -> bool:
    """True if ``lang`` (a spaCy language code) has a Brown cluster table."""
    return lang in CLUSTER_TABLE_SHA256


def cluster_table(lang: str) -> ClusterTable:
    """The verified, pruned table of ``lang``, read once per process.

    Raises:
        TrainingFailed: No table for the language, the package is missing, or the file is not the
            pinned one.
    """
    if not has_clusters(lang):
        raise TrainingFailed(f"There are no Brown clusters for language '{lang}'.")
    with _TABLES_LOCK:
        table = _TABLES.get(lang)
        if table is None:
            path = _data_file(lang)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise TrainingFailed(f"The Brown cluster table of '{lang}' cannot be read.") from exc
            table = _TABLES[lang] = parse_cluster_table(data, CLUSTER_TABLE_SHA256[lang])
    return table
