"""Layers only the benchmarks use: registered here so an arm's config override can name them.

``--arm 'name:2026-11-29.1,components.tok2vec.model.embed.@architectures="bench.ClusterSumEmbed.v1"'``
trains the cluster config with the four cluster embeddings summed (BENCHMARKS.md section 7e).
"""

from __future__ import annotations

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d

from shared.ner.training.cluster_embed import cluster_embedding

CLUSTER_SUM_EMBED = "bench.ClusterSumEmbed.v1"


@registry.architectures(CLUSTER_SUM_EMBED)
def cluster_sum_embed(
    width: int, attrs: list[str], rows: list[int], cluster_rows: list[int], lang: str
) -> Model[list[Doc], list[Floats2d]]:
    return cluster_embedding(width, attrs, rows, cluster_rows, lang, sum_clusters=True)
