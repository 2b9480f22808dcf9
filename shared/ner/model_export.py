"""A trained model as the files of a spaCy pipeline folder, so it can be taken elsewhere.

The service stores a model as ``nlp.to_bytes()``; ``spacy.load`` wants a folder (``config.cfg``,
``meta.json``, one sub-folder per component, the vocab). :func:`pipeline_files` writes that folder from
the stored bytes, so the same weights, labels and tokenizer predict the same entities offline.

Models of the Brown-cluster config (``custom_ner.ClusterHashEmbed.v1``) need that layer's code, which
spaCy cannot load from a folder by itself: the folder then also carries it as a small package,
``code/custom_ner/`` (this project's own two modules, with their imports made package-relative), and
the model card says to import it before ``spacy.load``. The cluster table itself comes from the pinned
``spacy-lookups-data`` package, checked by hash as here.
"""

from __future__ import annotations

import platform
import re
import tempfile
from pathlib import Path
from typing import Any

import spacy

from shared.errors import TrainingFailed
from shared.ner import clusters
from shared.ner.model_card import ModelCard
from shared.ner.training import cluster_embed, load_model

CARD_NAME = "README.md"
CODE_PACKAGE = "custom_ner"
CODE_DIR = "code"
"""Folder (inside the pipeline folder) that holds :data:`CODE_PACKAGE` when the model needs it."""
_BUNDLED = {cluster_embed.ARCHITECTURE}
"""Project-registered functions whose code an exported folder can carry."""


def custom_functions(config: Any) -> set[str]:
    """Registered function names of this project (``custom_ner.*``) that a pipeline config refers to."""
    found: set[str] = set()
    if isinstance(config, dict):
        for key, value in config.items():
            if key.startswith("@") and isinstance(value, str) and value.startswith(CODE_PACKAGE + "."):
                found.add(value)
            else:
                found |= custom_functions(value)
    return found


def _package_relative(source: str, module: str) -> str:
    """A module's source with its imports of this project turned into imports within :data:`CODE_PACKAGE`."""
    text = source.replace(
        "from shared.errors import TrainingFailed",
        "class TrainingFailed(RuntimeError):\n    \"\"\"A cluster table is missing or not the pinned one.\"\"\"",
    ).replace("from shared.ner.clusters import", f"from {CODE_PACKAGE}.clusters import")
    if re.search(r"^\s*(from|import) shared\b", text, flags=re.MULTILINE):
        raise TrainingFailed(f"The layer module {module} imports more of this project than an export can carry.")
    return text


def code_files() -> dict[str, bytes]:
    """``code/custom_ner/``: the Brown-cluster layer and its table loader, importable without this project."""
    root = f"{CODE_DIR}/{CODE_PACKAGE}/"
    init = (
        '"""Registers custom_ner.ClusterHashEmbed.v1 for spacy.load (copied from the Custom NER service)."""\n'
        f"from {CODE_PACKAGE} import cluster_embed  # noqa: F401\n"
    )
    return {
        root + "__init__.py": init.encode("utf-8"),
        root + "clusters.py": _package_relative(Path(clusters.__file__).read_text("utf-8"), "clusters").encode("utf-8"),
        root + "cluster_embed.py": _package_relative(
            Path(cluster_embed.__file__).read_text("utf-8"), "cluster_embed"
        ).encode("utf-8"),
    }


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
    needed = custom_functions(nlp.config)
    if needed - _BUNDLED:
        raise TrainingFailed(
            f"This model uses {sorted(needed - _BUNDLED)}, which an exported folder cannot carry; retrain it "
            "with trainingConfigVersion 2022-05-01 to export it."
        )
    if needed:
        files.update(code_files())
    files[CARD_NAME] = card.render(code_package=CODE_PACKAGE if needed else None).encode("utf-8")
    return files
