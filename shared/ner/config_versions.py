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
from shared.ner import transfer
from shared.ner.clusters import CLUSTER_TABLE_SHA256

CONFIG_DIR = Path(__file__).resolve().with_name("configs")

EFFICIENCY = "2022-05-01"
EFFICIENCY_CLUSTERS = "2026-11-29"
CLUSTERS_FASTER_LEARNING = "2026-11-29.1"
TRANSFER = "2026-11-29-transfer"
LATEST = CLUSTERS_FASTER_LEARNING
"""What ``"latest"`` resolves to."""

TRANSFER_SETTINGS = ("NER_TRANSFER_BASE_PATH", "NER_TRANSFER_BASE_SHA256")
"""The app settings that configure the transfer base (named in the refusal when they are not set)."""


@dataclass(frozen=True)
class ConfigVersion:
    """One selectable training configuration.

    Attributes:
        version: The ``trainingConfigVersion`` id.
        config_file: File name in ``shared/ner/configs/``.
        languages: spaCy language codes it applies to; None means every language.
        fallback: Version whose config the other languages use (None when ``languages`` is None).
        description: One line for operators and the docs.
        transfer: The config is a ner head on the configured transfer base's tok2vec
            (:mod:`shared.ner.transfer`); it applies to the base's language only.
        later_ties: A dev score equal to the best so far replaces the best model with the later, longer
            trained one, as ``spacy train`` does (early stopping still counts from the first time the
            best score was reached). False keeps the earlier model, as every version so far does: the
            spaCy rule was measured and did not help (BENCHMARKS.md section 7.1); the flag lets the
            benchmark (``version.later_ties=true`` arms) and a future version use it.
        transfer_ner_head: A transfer version also starts the ner's hidden layers from the base's ner
            (:func:`shared.ner.transfer.load_base_weights`).
    """

    version: str
    config_file: str
    languages: frozenset[str] | None
    fallback: str | None
    description: str
    transfer: bool = False
    later_ties: bool = False
    transfer_ner_head: bool = False

    def applies_to(self, lang: str) -> bool:
        if self.transfer:
            base = transfer.current_base()
            return base is not None and base.lang == lang
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
        ConfigVersion(
            version=CLUSTERS_FASTER_LEARNING,
            config_file="2026-11-29.1.cfg",
            languages=frozenset(CLUSTER_TABLE_SHA256),
            fallback=EFFICIENCY,
            description=(
                f"{EFFICIENCY_CLUSTERS} with Adam's learning rate doubled to 0.002; other languages use "
                f"{EFFICIENCY}."
            ),
        ),
        ConfigVersion(
            version=TRANSFER,
            config_file="2022-05-01.cfg",  # the ner head and training settings; tok2vec from the base
            languages=None,
            fallback=EFFICIENCY_CLUSTERS,
            description=(
                "The operator's verified pretrained pipeline's tok2vec (and vectors) fine-tuned with a new "
                f"ner head; offered only when {' and '.join(TRANSFER_SETTINGS)} are set."
            ),
            transfer=True,
        ),
    )
}


def offered_versions() -> list[ConfigVersion]:
    """The versions a client may choose now (the transfer version only with a verified base)."""
    return [version for version in VERSIONS.values() if not version.transfer or transfer.current_base()]


def resolve_version(version: str) -> ConfigVersion:
    """The version named ``version`` (``"latest"`` is :data:`LATEST`).

    Raises:
        InvalidArgument: Unknown version (target ``trainingConfigVersion``), naming the supported ones.
    """
    found = VERSIONS.get(LATEST if version == "latest" else version)
    if found is None:
        raise InvalidArgument(
            f"The trainingConfigVersion {str(version)[:64]!r} is not supported; supported versions: "
            f"{', '.join(['latest', *(offered.version for offered in offered_versions())])}.",
            target="trainingConfigVersion",
        )
    if found.transfer and transfer.current_base() is None:
        refused = transfer.refusal()
        state = f"the configured one was refused ({refused})" if refused else "none is configured"
        raise InvalidArgument(
            f"The trainingConfigVersion {found.version!r} needs a verified pretrained base pipeline, and "
            f"{state}: the operator sets {' and '.join(TRANSFER_SETTINGS)}.",
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
    effective = effective_version(version, lang)
    text = _read(effective.config_file)
    if effective.transfer:
        base = transfer.current_base()
        assert base is not None  # effective_version only keeps a transfer version with a base
        return transfer.transfer_config(text, base)
    return text
