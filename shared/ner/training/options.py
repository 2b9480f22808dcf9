"""What a training run needs besides its data, and how a run can end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidArgument
from shared.ner.config_versions import EFFICIENCY, LATEST, resolve_version

STOP_MAX_STEPS = "max_steps"
STOP_EARLY = "early_stopping"
STOP_CANCELLED = "cancelled"


@dataclass
class TrainingOptions:
    """What a training run needs besides its data.

    Attributes:
        lang: spaCy language code of the blank pipeline ("en", "de", "xx", ...).
        labels: Every entity category of the project; all are added to the ner component.
        max_steps: Total number of updates after which training ends.
        patience: Stop after this many steps without a better dev score (0 disables early stopping).
        eval_frequency: Evaluate on the dev set every this many steps.
        seed: Seed for initialisation, data order, dropout.
        config_version: The ``trainingConfigVersion`` whose config is trained (see
            :mod:`shared.ner.config_versions`; ``"latest"`` is resolved by :meth:`validate`).
    """

    lang: str
    labels: list[str]
    max_steps: int
    patience: int
    eval_frequency: int
    seed: int
    config_version: str = LATEST

    def to_dict(self) -> dict[str, Any]:
        return {
            "lang": self.lang,
            "labels": list(self.labels),
            "max_steps": self.max_steps,
            "patience": self.patience,
            "eval_frequency": self.eval_frequency,
            "seed": self.seed,
            "config_version": self.config_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingOptions:
        return cls(
            lang=str(data["lang"]),
            labels=[str(label) for label in data["labels"]],
            max_steps=int(data["max_steps"]),
            patience=int(data["patience"]),
            eval_frequency=int(data["eval_frequency"]),
            seed=int(data["seed"]),
            # checkpoints written before versions existed trained the efficiency config
            config_version=str(data.get("config_version", EFFICIENCY)),
        )

    def validate(self) -> None:
        """Raise InvalidArgument naming the first unusable option; resolve ``"latest"``."""
        self.config_version = resolve_version(self.config_version).version
        if not self.labels:
            raise InvalidArgument("The project has no entity categories to train.", target="labels")
        if self.max_steps < 1:
            raise InvalidArgument(f"max_steps must be at least 1, got {self.max_steps}.", target="max_steps")
        if self.patience < 0:
            raise InvalidArgument(f"patience must not be negative, got {self.patience}.", target="patience")
        if self.eval_frequency < 1:
            raise InvalidArgument(
                f"eval_frequency must be at least 1, got {self.eval_frequency}.", target="eval_frequency"
            )
