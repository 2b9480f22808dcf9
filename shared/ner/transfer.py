"""A pretrained spaCy pipeline the operator provides, verified before use, as the transfer base.

The operator names a pipeline folder (``nlp.to_disk`` output, e.g. the data folder inside a model
package) and the sha256 of its manifest. The manifest lists every file of the folder as
``<sha256>  ./<relative path>`` lines sorted by path, the output of::

    cd FOLDER && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum

and its own sha256 (``... | sha256sum``) is the expected value. Nothing is read before the manifest
matches, and then only data: ``config.cfg`` (parsed, never executed; the blocks used may name only
spaCy's own registered functions), ``vocab/`` (the static vectors) and the weights of the tok2vec used
(``ner/model`` or ``tok2vec/model``). No Python file of the folder or of a package around it is imported.

A transfer model reuses a tok2vec of the base (architecture and initial weights, fine-tuned) and trains
its own ner head. When the base's ner has a tok2vec of its own (spaCy's ``*_core_web_sm/md/lg``
pipelines do: their shared ``tok2vec`` component serves the tagger and parser), that one is used: it
was trained for entities, and measured better (BENCHMARKS.md, "Transfer preset"); otherwise the
base's ``tok2vec`` component. A version with ``transfer_ner_head`` also starts the ner's hidden layers
from that base ner's (none does: it measured no better at equal budget, BENCHMARKS.md section 7e).
The base's vectors are loaded once per process and shared by every pipeline built on it:
they are not copied into checkpoints or models (``nlp.to_bytes(exclude=["vectors"])``), and a transfer
model loads only in a process where the same base (same manifest digest) is configured.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.util import registry
from spacy.vectors import Vectors
from spacy.vocab import Vocab
from thinc.api import Config

from shared.config import Settings
from shared.errors import TrainingFailed

logger = logging.getLogger(__name__)

VECTORS_CALLBACK = "custom_ner.transfer_base_vectors.v1"
SHARED_EXCLUDE = ["vectors"]  # what a checkpoint or model never carries: the base's static vectors
ALLOWED_PREFIXES = ("spacy.", "spacy-legacy.")


@dataclass
class VerifiedBase:
    """A base pipeline whose manifest matched.

    Attributes:
        folder: The pipeline folder.
        digest: sha256 of its manifest (what models refer to).
        lang: The base pipeline's language.
        tok2vec: The ``[components.tok2vec]`` block of its config (interpolated).
    """

    folder: Path
    digest: str
    lang: str
    tok2vec: dict[str, Any]
    ner_model: dict[str, Any] | None = None
    """The base ner's model block when its own tok2vec is the one reused (None: the tok2vec component's)."""
    _vectors: Vectors | None = None
    _weights: bytes | None = None
    _head_weights: dict[str, tuple[dict[str, int | None], bytes]] | None = None

    def vectors(self) -> Vectors:
        """The base's static vectors, read once per process."""
        with _LOCK:
            if self._vectors is None:
                vocab = Vocab()
                vocab.from_disk(self.folder / "vocab", exclude=["strings", "lookups"])
                self._vectors = vocab.vectors
            return self._vectors

    def tok2vec_weights(self) -> bytes:
        """The reused tok2vec's trained weights (``Model.to_bytes``), read once per process."""
        with _LOCK:
            if self._weights is None:
                self._weights = (
                    self._ner_tok2vec_weights()
                    if self.ner_model is not None
                    else (self.folder / "tok2vec" / "model").read_bytes()
                )
            return self._weights

    def _ner_tok2vec_weights(self) -> bytes:
        return bytes(self._base_ner().get_ref("tok2vec").layers[0].to_bytes())

    def ner_head_weights(self) -> dict[str, tuple[dict[str, int | None], bytes]] | None:
        """The base ner's hidden layers, the tok2vec's projection and the state layer ``lower``, as
        ``{name: (dimensions, weights)}``, read once per process; None when the base's ner does not
        embed its own tok2vec."""
        if self.ner_model is None:
            return None
        with _LOCK:
            if self._head_weights is None:
                ner = self._base_ner()
                self._head_weights = {name: (_dims(layer), bytes(layer.to_bytes())) for name, layer in _head(ner).items()}
            return self._head_weights

    def _base_ner(self) -> Any:
        # the ner's model is tok2vec -> projection -> state layers; its weights carry their dimensions,
        # so the block builds with nO unset; the parts are cut out by their refs
        model = registry.resolve({"model": dict(self.ner_model or {})})["model"]
        return model.from_bytes((self.folder / "ner" / "model").read_bytes())


def manifest(folder: Path) -> str:
    """The manifest text of ``folder`` (see the module docstring)."""
    lines = []
    for path in folder.rglob("*"):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append((f"./{path.relative_to(folder).as_posix()}", digest))
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(lines, key=lambda item: item[0].encode()))


def _registered_names(block: Any) -> list[str]:
    """Every registry reference (``@architectures = ...`` etc.) inside a config block."""
    if isinstance(block, dict):
        names = [str(value) for key, value in block.items() if key.startswith("@")]
        for value in block.values():
            names += _registered_names(value)
        return names
    return []


def verify_base(folder: Path, expected_sha256: str) -> VerifiedBase:
    """Check the folder's manifest against ``expected_sha256`` and read its tok2vec configuration.

    Raises:
        TrainingFailed: Missing folder, another digest, no tok2vec, or a tok2vec that names functions
            outside spaCy's own (which would mean running code from elsewhere).
    """
    if not folder.is_dir():
        raise TrainingFailed("The transfer base pipeline folder does not exist.")
    digest = hashlib.sha256(manifest(folder).encode()).hexdigest()
    if digest != expected_sha256.strip().lower():
        raise TrainingFailed(
            f"The transfer base pipeline's manifest has sha256 {digest}, not the configured one."
        )
    try:
        config = Config().from_disk(folder / "config.cfg", interpolate=True)
        lang = str(config["nlp"]["lang"])
        components = dict(config["components"])
    except (OSError, KeyError, ValueError) as exc:
        raise TrainingFailed("The transfer base pipeline has no readable config.") from exc
    ner_model = _ner_with_own_tok2vec(folder, components)
    if ner_model is not None:
        tok2vec: dict[str, Any] = {"factory": "tok2vec", "model": dict(ner_model["tok2vec"])}
        used = ner_model  # built to read its weights
    else:
        tok2vec = dict(components.get("tok2vec") or {})
        used = tok2vec
        if tok2vec.get("factory") != "tok2vec" or not (folder / "tok2vec" / "model").is_file():
            raise TrainingFailed("The transfer base pipeline has no trained tok2vec component.")
    foreign = [name for name in _registered_names(used) if not name.startswith(ALLOWED_PREFIXES)]
    if foreign:
        raise TrainingFailed(f"The transfer base's tok2vec uses functions outside spaCy: {sorted(foreign)}.")
    return VerifiedBase(folder=folder, digest=digest, lang=lang, tok2vec=tok2vec, ner_model=ner_model)


def _ner_with_own_tok2vec(folder: Path, components: dict[str, Any]) -> dict[str, Any] | None:
    """The base ner's model block if that ner embeds its own tok2vec (not a listener) and has weights."""
    ner = components.get("ner")
    model = ner.get("model") if isinstance(ner, dict) else None
    if not isinstance(model, dict) or not (folder / "ner" / "model").is_file():
        return None
    inner = model.get("tok2vec")
    if not isinstance(inner, dict) or inner.get("@architectures") != "spacy.Tok2Vec.v2":
        return None  # a listener (it reads the shared tok2vec) or an architecture this does not cut out
    return dict(model)


_LOCK = threading.RLock()
_BASE: VerifiedBase | None = None
_REFUSED: tuple[Path, str, str] | None = None  # (folder, digest asked for, why): not re-hashed per call


def configure_base(folder: Path | None, expected_sha256: str | None) -> VerifiedBase | None:
    """Set this process's transfer base from the operator's settings (verified once per setting).

    ``None`` for either value means no base: the transfer version is then not offered.
    """
    global _BASE
    with _LOCK:
        if folder is None or not expected_sha256:
            _BASE = None
        elif _BASE is None or _BASE.folder != folder or _BASE.digest != expected_sha256.strip().lower():
            _BASE = verify_base(folder, expected_sha256)
        return _BASE


def configure_from_settings(settings: Settings) -> None:
    """Use the base named by the app settings (once per process; a refused base is logged, not raised).

    A base that fails verification is treated as no base: the transfer version is then not offered and
    asking for it gets the 400 that names the settings (see :func:`refusal`).
    """
    global _REFUSED
    folder = Path(settings.transfer_base_path) if settings.transfer_base_path else None
    digest = (settings.transfer_base_sha256 or "").strip().lower()
    with _LOCK:
        if _REFUSED is not None and folder is not None and _REFUSED[:2] == (folder, digest):
            return
        try:
            configure_base(folder, digest or None)
            _REFUSED = None
        except TrainingFailed as exc:
            configure_base(None, None)
            _REFUSED = (folder or Path(), digest, exc.message)
            logger.error("The transfer base pipeline is not used: %s", exc.message)


def refusal() -> str | None:
    """Why the configured base was refused (None when it was not)."""
    with _LOCK:
        return _REFUSED[2] if _REFUSED is not None else None


def current_base() -> VerifiedBase | None:
    with _LOCK:
        return _BASE


def base_for(digest: str) -> VerifiedBase:
    """The configured base if its digest is ``digest``; TrainingFailed otherwise."""
    base = current_base()
    if base is None or base.digest != digest:
        raise TrainingFailed(
            "This model was trained on a transfer base pipeline that is not configured in this process."
        )
    return base


@registry.callbacks(VECTORS_CALLBACK)
def transfer_base_vectors(manifest_sha256: str) -> Any:
    """``[nlp.after_creation]``: share the base's vectors with the new pipeline (never copied)."""

    def attach(nlp: Language) -> Language:
        nlp.vocab.vectors = base_for(manifest_sha256).vectors()
        return nlp

    return attach


def transfer_config(head_config: str, base: VerifiedBase) -> str:
    """``head_config`` (a ner-head config text) with the base's tok2vec and the vectors callback."""
    config = Config().from_str(head_config, interpolate=False)
    config["components"]["tok2vec"] = base.tok2vec
    model = base.tok2vec.get("model", {})
    width = model.get("encode", {}).get("width", model.get("width"))
    config["components"]["ner"]["model"]["tok2vec"]["width"] = width
    config["nlp"]["after_creation"] = {"@callbacks": VECTORS_CALLBACK, "manifest_sha256": base.digest}
    return config.to_str()


def load_base_weights(nlp: Language, *, ner_head: bool = False) -> None:
    """Overwrite the initialised tok2vec of a transfer pipeline with the base's trained weights.

    ``ner_head`` also starts the ner's hidden layers (projection and state layer) from the base ner's,
    when the base has them in the same shapes; only the output layer, one row per transition of the
    project's own labels, stays new.
    """
    callback = nlp.config["nlp"].get("after_creation") or {}
    base = base_for(str(callback.get("manifest_sha256", "")))
    nlp.get_pipe("tok2vec").model.from_bytes(base.tok2vec_weights())  # type: ignore[attr-defined]
    base_head = base.ner_head_weights() if ner_head else None
    if base_head is None:
        return
    head = _head(nlp.get_pipe("ner").model)  # type: ignore[attr-defined]
    if any(_dims(layer) != base_head[name][0] for name, layer in head.items()):
        # e.g. another hidden width: the head starts fresh, as in the tok2vec-only version
        logger.warning("The transfer base's ner layers have other dimensions; only its tok2vec is used.")
        return
    for name, layer in head.items():
        layer.from_bytes(base_head[name][1])


def _head(ner_model: Any) -> dict[str, Any]:
    """A ner model's hidden layers below its output layer (spaCy's TransitionBasedParser refs)."""
    return {"projection": ner_model.get_ref("tok2vec").layers[-1], "lower": ner_model.get_ref("lower")}


def _dims(layer: Any) -> dict[str, int | None]:
    return {dim: layer.maybe_get_dim(dim) for dim in layer.dim_names}
