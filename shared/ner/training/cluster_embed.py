"""``custom_ner.ClusterHashEmbed.v1``: spaCy's ``MultiHashEmbed`` plus hashed Brown-cluster features.

The layer is spaCy's ``MultiHashEmbed`` (a ``HashEmbed`` table per column, concatenated, mixed by one
``Maxout``), with its ``FeatureExtractor`` replaced by one that appends the token's cluster id and its
4/8/12-bit ancestors (:mod:`shared.ner.clusters`) to the lexical attributes. Those four values per
cluster are computed once when the table is loaded; per token the extractor does a vectorised binary
search over the pruned table (C loops, no Python per token), next to ``doc.to_array`` for the other
attributes. The table is not part of the model: it is the pinned, verified package file, loaded once
per process, so models stay small and share it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy
from spacy.attrs import LOWER, ORTH
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import HashEmbed, Maxout, Model, add, chain, concatenate, list2ragged, ragged2list, with_array
from thinc.types import Floats2d, Ints2d, Ragged

from shared.ner.clusters import FEATURES, ClusterTable, cluster_table

ARCHITECTURE = "custom_ner.ClusterHashEmbed.v1"


def cluster_feature_extractor(attrs: list[str], table: ClusterTable) -> Model[list[Doc], list[Ints2d]]:
    """Per doc: ``doc.to_array(attrs)`` with the tokens' cluster features appended as columns."""
    return Model("extract_cluster_features", _extract, attrs={"columns": list(attrs), "table": table})


def _extract(model: Model[list[Doc], list[Ints2d]], docs: list[Doc], is_train: bool) -> tuple[Any, Callable]:
    columns: list[str] = model.attrs["columns"]
    table: ClusterTable = model.attrs["table"]
    features: list[Ints2d] = []
    for doc in docs:
        lexical = numpy.asarray(doc.to_array([*columns, ORTH, LOWER]), dtype=numpy.uint64)  # 2-d: 2+ attrs
        clusters = table.lookup(lexical[:, -2], lexical[:, -1])
        rows = numpy.concatenate([lexical[:, :-2], clusters], axis=1)
        features.append(model.ops.asarray2i(cast(Ints2d, rows), dtype="uint64"))
    return features, lambda d_features: []


def cluster_embedding(
    width: int, attrs: list[str], rows: list[int], cluster_rows: list[int], lang: str, *, sum_clusters: bool = False
) -> Model[list[Doc], list[Floats2d]]:
    """The layer of :func:`cluster_hash_embed`; ``sum_clusters`` adds the four cluster embeddings into one
    column instead of concatenating them. No version uses that: it predicts ~5 % faster but scored lower on
    loan-agreements (BENCHMARKS.md section 7e, where ``bench/layers.py`` registers it for the benchmarks)."""
    if len(rows) != len(attrs):
        raise ValueError(f"Mismatched lengths: {len(rows)} rows for {len(attrs)} attrs")
    if len(cluster_rows) != FEATURES:
        raise ValueError(f"cluster_rows needs {FEATURES} values, got {len(cluster_rows)}")
    # seeds 8, 9, ... per column, as MultiHashEmbed numbers them
    embeddings: list[Model[Ints2d, Floats2d]] = [
        HashEmbed(width, size, column=index, seed=8 + index, dropout=0.0)
        for index, size in enumerate([*rows, *cluster_rows])
    ]
    if sum_clusters:  # the cluster and its ancestors as one vector: the mixing layer's input stays narrow
        embeddings = [*embeddings[: len(rows)], add(*embeddings[len(rows) :])]
    max_out: Model[Ragged, Ragged] = with_array(
        Maxout(width, width * len(embeddings), nP=3, dropout=0.0, normalize=True)
    )
    return chain(
        cluster_feature_extractor(attrs, cluster_table(lang)),
        cast(Model[list[Ints2d], Ragged], list2ragged()),
        with_array(concatenate(*embeddings)),
        max_out,
        ragged2list(),
    )


@registry.architectures(ARCHITECTURE)
def cluster_hash_embed(
    width: int, attrs: list[str], rows: list[int], cluster_rows: list[int], lang: str
) -> Model[list[Doc], list[Floats2d]]:
    """Embed ``attrs`` and the Brown-cluster features of ``lang``, like spaCy's ``MultiHashEmbed``.

    Args:
        width: Output width and width of every embedding table.
        attrs: Lexical attributes to embed (e.g. NORM, PREFIX, SUFFIX, SHAPE).
        rows: Rows of each attribute's table.
        cluster_rows: Rows of the tables of the cluster id and its 4, 8 and 12-bit ancestors.
        lang: Language whose cluster table is used (``${nlp.lang}``).
    """
    return cluster_embedding(width, attrs, rows, cluster_rows, lang)
