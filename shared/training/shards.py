"""The shard plan of a training job: shard ids, each shard's documents, and the manifest.

A job's documents are cut into shards of :data:`SHARD_SIZE` (one Durable activity each). The labels of a
shard's documents are written once, by ``prepare``, to a small blob per shard, so a shard step reads
only its slice of the project file.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.jobs.workspace import JobWorkspace
from shared.ner.project_file import DocumentAsset, Label, Region
from shared.storage.blobs import BlobStore
from shared.storage.documents import DOWNLOAD_WORKERS

SHARD_SIZE = 200
"""Documents per conversion / evaluation shard (one activity each)."""


def shard_ids(kind: str, locations: Sequence[str], shard_size: int) -> dict[str, list[str]]:
    """``{"<kind>-0000": [locations...], ...}``: ``locations`` cut into shards of ``shard_size``."""
    return {
        f"{kind}-{index // shard_size:04d}": list(locations[index : index + shard_size])
        for index in range(0, len(locations), shard_size)
    }


def load_manifest(blobs: BlobStore, workspace: JobWorkspace) -> dict[str, Any]:
    manifest: dict[str, Any] = blobs.get_json(workspace.manifest)
    return manifest


def by_location(documents: Sequence[DocumentAsset]) -> dict[str, DocumentAsset]:
    return {doc.location: doc for doc in documents}


def _document_from_dict(data: dict[str, Any]) -> DocumentAsset:
    """Inverse of ``DocumentAsset.to_dict`` for the validated slices :func:`write_shard_documents` writes."""
    return DocumentAsset(
        location=str(data["location"]),
        language=str(data["language"]),
        dataset=data.get("dataset"),
        regions=[
            Region(
                offset=int(region["regionOffset"]),
                length=int(region["regionLength"]),
                labels=[
                    Label(str(label["category"]), int(label["offset"]), int(label["length"]))
                    for label in region["labels"]
                ],
            )
            for region in data["entities"]
        ],
    )


def shard_documents(blobs: BlobStore, workspace: JobWorkspace, shard: str) -> list[DocumentAsset]:
    """The documents (with their labels) of one shard."""
    return [_document_from_dict(item) for item in blobs.get_json(workspace.shard_documents(shard))]


def write_shard_documents(
    blobs: BlobStore,
    workspace: JobWorkspace,
    shards: dict[str, list[str]],
    documents: dict[str, DocumentAsset],
) -> None:
    """One small blob per shard with its documents' labels, written a few at a time."""

    def write(item: tuple[str, list[str]]) -> None:
        shard, locations = item
        blobs.put_json(
            workspace.shard_documents(shard), [documents[location].to_dict() for location in locations]
        )

    with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS, thread_name_prefix="shard-plan") as pool:
        list(pool.map(write, shards.items()))
