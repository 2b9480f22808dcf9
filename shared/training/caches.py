"""Per-process caches of a training job's blobs (a Functions worker runs many activities of a job).

The training DocBins (immutable once converted), the last checkpoint this process wrote (reused only
while the blob's ETag still matches) and the evaluation model. All are bounded and keyed by blob name,
which includes the job id; :func:`forget_job` drops a job's entries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from spacy.language import Language

from shared.jobs.workspace import JobWorkspace
from shared.ner.training import load_model
from shared.storage.blobs import BlobStore

SHARD_CACHE_BYTES = 128 * 1024 * 1024
"""Training DocBin bytes kept per process between chunks (least recently used dropped first)."""


class BlobBytesCache:
    """Process-wide LRU of immutable blobs' bytes, bounded by total size."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, blobs: BlobStore, name: str) -> bytes:
        with self._lock:
            data = self._items.get(name)
            if data is not None:
                self._items.move_to_end(name)
                return data
        data = blobs.get_bytes(name)
        with self._lock:
            if name not in self._items and len(data) <= self._max_bytes:
                self._items[name] = data
                self._size += len(data)
                while self._size > self._max_bytes:
                    _, dropped = self._items.popitem(last=False)
                    self._size -= len(dropped)
        return data

    def forget_prefix(self, prefix: str) -> None:
        with self._lock:
            for name in [name for name in self._items if name.startswith(prefix)]:
                self._size -= len(self._items.pop(name))


shard_cache = BlobBytesCache(SHARD_CACHE_BYTES)


class CheckpointCache:
    """The last checkpoint this process wrote, with its ETag, so the next chunk here skips the download.

    A chunk first asks for the blob's current ETag (a HEAD request); only if another process wrote the
    checkpoint since does it download it. One entry: a worker trains one chunk at a time.
    """

    def __init__(self) -> None:
        self._entry: tuple[str, str, bytes] | None = None
        self._lock = threading.Lock()

    def read(self, blobs: BlobStore, name: str) -> bytes:
        with self._lock:
            entry = self._entry
        if entry is not None and entry[0] == name and blobs.etag(name) == entry[1]:
            return entry[2]
        data, etag = blobs.get_bytes_and_etag(name)
        self._remember(name, etag, data)
        return data

    def write(self, blobs: BlobStore, name: str, data: bytes) -> None:
        self._remember(name, blobs.put_bytes(name, data), data)

    def forget_prefix(self, prefix: str) -> None:
        with self._lock:
            if self._entry is not None and self._entry[0].startswith(prefix):
                self._entry = None

    def _remember(self, name: str, etag: str | None, data: bytes) -> None:
        with self._lock:
            self._entry = (name, etag, data) if etag else None


checkpoint_cache = CheckpointCache()


class ModelCache:
    """The evaluation model of the latest job this process evaluated, loaded once for all its shards.

    ``nlp.pipe`` is not documented as thread-safe, so shards evaluated concurrently in one process
    take turns on the shared model (prediction is CPU-bound: the GIL serialises it anyway).
    """

    def __init__(self) -> None:
        self._entry: tuple[str, Language, threading.Lock] | None = None
        self._lock = threading.Lock()

    def get(self, blobs: BlobStore, name: str) -> tuple[Language, threading.Lock]:
        with self._lock:
            if self._entry is None or self._entry[0] != name:
                self._entry = (name, load_model(blobs.get_bytes(name)), threading.Lock())
            return self._entry[1], self._entry[2]

    def forget_prefix(self, prefix: str) -> None:
        with self._lock:
            if self._entry is not None and self._entry[0].startswith(prefix):
                self._entry = None


model_cache = ModelCache()


def forget_job(workspace: JobWorkspace) -> None:
    """Drop every cached blob of one job (it ended, or this process no longer needs it)."""
    shard_cache.forget_prefix(workspace.prefix)
    checkpoint_cache.forget_prefix(workspace.prefix)
    model_cache.forget_prefix(workspace.prefix)
