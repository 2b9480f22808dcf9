"""A trained model as the files of a spaCy pipeline folder, so it can be taken elsewhere.

The service stores a model as ``nlp.to_bytes()``; ``spacy.load`` wants a folder (``config.cfg``,
``meta.json``, one sub-folder per component, the vocab). :func:`pipeline_files` writes that folder from
the stored bytes, so the same weights, labels and tokenizer predict the same entities offline.
"""

from __future__ import annotations

import platform
import re
import tempfile
from pathlib import Path
from typing import Any

import spacy

from shared.ner.model_card import ModelCard
from shared.ner.training import load_model

CARD_NAME = "README.md"


def versions() -> dict[str, str]:
    """Library versions that produced (and can load) the folder."""
    import thinc

    return {"spaCy": spacy.__version__, "thinc": thinc.__version__, "Python": platform.python_version()}


def training_settings(nlp: Any) -> dict[str, Any]:
    """The training settings a reader of the card cares about, from the pipeline's own config."""
    training = nlp.config.get("training", {})
    optimizer = training.get("optimizer", {})
    return {
        "Components": ", ".join(nlp.pipe_names),
        "Seed": training.get("seed"),
        "Max steps": training.get("max_steps"),
        "Early-stopping patience (steps)": training.get("patience"),
        "Evaluation frequency (steps)": training.get("eval_frequency"),
        "Dropout": training.get("dropout"),
        "Optimizer": f"{optimizer.get('@optimizers', '?')} (learn rate {optimizer.get('learn_rate', '?')})",
    }


def _package_name(label: str) -> str:
    # meta.json "name" ends up in a package name if someone packages the folder: keep it identifier-like.
    return "custom_ner_" + (re.sub(r"[^A-Za-z0-9_]+", "_", label).strip("_").lower() or "model")


def load_for_export(model_bytes: bytes) -> Any:
    """The stored pipeline, loaded (raises TrainingFailed when the bytes are not a pipeline)."""
    return load_model(model_bytes)


def pipeline_files(nlp: Any, card: ModelCard) -> dict[str, bytes]:
    """The pipeline folder as ``{relative '/'-separated name: content}``, with the card as ``README.md``.

    Args:
        nlp: the loaded pipeline (see :func:`load_for_export`).
        card: the model card; its label and id also fill ``meta.json``.
    """
    nlp.meta["name"] = _package_name(card.model_label)
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = f"Custom NER model '{card.model_label}' ({card.model_id}) of project '{card.project_name}'."
    with tempfile.TemporaryDirectory(prefix="ner-export-") as folder:
        root = Path(folder)
        nlp.to_disk(root)
        files = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }
    files[CARD_NAME] = card.render().encode("utf-8")
    return files
