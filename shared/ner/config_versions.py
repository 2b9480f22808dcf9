"""The training configurations a project can ask for (``trainingConfigVersion``), and their configs.

A version names one spaCy config file in ``shared/ner/configs/``. A version may apply to some
languages only (it needs data that exists for them); other languages train with its ``fallback``
version's config. Older versions stay selectable so an existing project retrains reproducibly; the
trained model carries the config it was trained with, so prediction never looks versions up.

Measured quality of each version: BENCHMARKS.md ("Training configurations").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from shared.errors import InvalidArgument
from shared.ner.clusters import CLUSTER_TABLE_SHA256

CONFIG_DIR = Path(__file__).resolve().with_name("configs")

EFFICIENCY = "2022-05-01"
EFFICIENCY_CLUSTERS = "2026-11-29"
LATEST = EFFICIENCY_CLUSTERS
"""What ``"latest"`` resolves to."""


@dataclass(frozen=True)
class ConfigVersion:
    """One selectable training configuration.

    Attributes:
        version: The ``trainingConfigVersion`` id.
        config_file: File name in ``shared/ner/configs/``.
        languages: spaCy language codes it applies to; None means every language.
        fallback: Version whose config the other languages use (None when ``languages`` is None).
        description: One line for operators and the docs.
    """

    version: str
    config_file: str
    languages: frozenset[str] | None
    fallback: str | None
    description: str

    def applies_to(self, lang: str) -> bool:
        return self.languages is None or lang in self.languages


VERSIONS: dict[str, ConfigVersion] = {
    version.version: version
    for version in (
        ConfigVersion(
            version=EFFICIENCY,
            config_file="2022-05-01.cfg",
            languages=None,
            fallback=None,
            description="spaCy's generated efficiency config: blank tok2vec + ner.",
        ),
        ConfigVersion(
            version=EFFICIENCY_CLUSTERS,
            config_file="2026-11-29.cfg",
            languages=frozenset(CLUSTER_TABLE_SHA256),
            fallback=EFFICIENCY,
            description=(
                "Efficiency config plus Brown-cluster features from spacy-lookups-data "
                f"({', '.join(sorted(CLUSTER_TABLE_SHA256))}); other languages use {EFFICIENCY}."
            ),
        ),
    )
}


def resolve_version(version: str) -> ConfigVersion:
    """The version named ``version`` (``"latest"`` is :data:`LATEST`).

    Raises:
        InvalidArgument: Unknown version (target ``trainingConfigVersion``), naming the supported ones.
    """
    found = VERSIONS.get(LATEST if version == "latest" else version)
    if found is None:
        raise InvalidArgument(
            f"The trainingConfigVersion {str(version)[:64]!r} is not supported; supported versions: "
            f"{', '.join(['latest', *VERSIONS])}.",
            target="trainingConfigVersion",
        )
    return found


def effective_version(version: str, lang: str) -> ConfigVersion:
    """The version whose config trains ``lang`` when ``version`` is asked for (following fallbacks)."""
    current = resolve_version(version)
    while not current.applies_to(lang) and current.fallback is not None:
        current = resolve_version(current.fallback)
    return current


@cache
def _read(config_file: str) -> str:
    return (CONFIG_DIR / config_file).read_text(encoding="utf-8")


def config_text(version: str, lang: str) -> str:
    """The spaCy config (text, not interpolated) that trains ``lang`` under ``version``."""
    return _read(effective_version(version, lang).config_file)
