"""A bounded, per-process cache of loaded pipelines, keyed by the deployed model version.

Each worker process keeps at most ``capacity`` pipelines (least recently used out first), so a worker's
memory grows by about one model per deployed model version it serves, up to the bound. The key is the
deployed model version (the deployment record's ``cache_key``: the blob of that trained model version's
bytes). A deployment pins one version, so re-deploying (a new version) loads the new model and the old
one ages out, retraining the label without re-deploying changes nothing that is served, and two
deployments (or a swap) serving the same version share one loaded model.

Loading happens outside the cache's lock (it takes a second or so), and concurrent requests for the same
missing model wait for one load instead of loading it twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

M = TypeVar("M")


class ModelCache(Generic[M]):
    """LRU cache of loaded models (e.g. spaCy pipelines) keyed by model version."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._models: OrderedDict[str, M] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self.loads = 0  # how many times a model was loaded (a miss), for logs and tests

    def __len__(self) -> int:
        return len(self._models)

    def __contains__(self, ref: object) -> bool:
        return ref in self._models

    def get(self, ref: str, load: Callable[[], M]) -> M:
        """The model of version ``ref``; on a miss ``load()`` makes it and the least recently used beyond
        the capacity is dropped."""
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
            model = load()
            with self._lock:
                self.loads += 1
                self._models[ref] = model
                self._models.move_to_end(ref)
                while len(self._models) > self.capacity:
                    self._models.popitem(last=False)
                self._loading.pop(ref, None)
            return model

    def discard(self, ref: str) -> None:
        """Forget ``ref`` (e.g. its deployment was deleted)."""
        with self._lock:
            self._models.pop(ref, None)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
