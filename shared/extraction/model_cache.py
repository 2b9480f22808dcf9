"""A bounded, per-process cache of loaded pipelines, keyed by the deployed model version.

Each worker process keeps at most ``capacity`` pipelines (least recently used out first), so a worker's
memory grows by about one model per deployment it serves, up to the bound. The key is the
:class:`DeployedModelRef` a deployment resolves to: a deployment pins one trained model version, so
re-deploying (a new version) loads the new model and the old one ages out, while retraining the label
without re-deploying does not change what is served.

Loading happens outside the cache's lock (it takes a second or so), and concurrent requests for the same
missing model wait for one load instead of loading it twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

M = TypeVar("M")


@dataclass(frozen=True)
class DeployedModelRef:
    """What a deployment serves: where the trained model's files are and which version it is.

    Attributes:
        model_blob_prefix: Blob path (in the app container) of the trained model's files.
        model_version: Identifies one trained model; a new training of the same label is a new version.
    """

    model_blob_prefix: str
    model_version: str


class ModelCache(Generic[M]):
    """LRU cache of loaded models; ``loader`` turns a reference into a model (e.g. a spaCy pipeline)."""

    def __init__(self, capacity: int, loader: Callable[[DeployedModelRef], M]) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._loader = loader
        self._models: OrderedDict[DeployedModelRef, M] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[DeployedModelRef, threading.Lock] = {}
        self.loads = 0  # how many times a model was loaded (a miss), for logs and tests

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, ref: object) -> bool:
        return ref in self._models

    def get(self, ref: DeployedModelRef) -> M:
        """The model for ``ref``, loading it on a miss and evicting the least recently used beyond capacity."""
        with self._lock:
            model = self._models.get(ref)
            if model is not None:
                self._models.move_to_end(ref)
                return model
            load_lock = self._loading.setdefault(ref, threading.Lock())
        with load_lock:  # one load per reference at a time
            with self._lock:
                model = self._models.get(ref)
                if model is not None:
                    self._models.move_to_end(ref)
                    return model
            model = self._loader(ref)
            with self._lock:
                self.loads += 1
                self._models[ref] = model
                self._models.move_to_end(ref)
                while len(self._models) > self.capacity:
                    self._models.popitem(last=False)
                self._loading.pop(ref, None)
            return model

    def discard(self, ref: DeployedModelRef) -> None:
        """Forget ``ref`` (e.g. its deployment was deleted)."""
        with self._lock:
            self._models.pop(ref, None)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
