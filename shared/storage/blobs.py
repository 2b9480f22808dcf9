"""The app's own blob container (``settings.app_container``): imported assets, job scratch data
(DocBin shards, checkpoints), trained models, evaluation results and exports."""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContainerClient, ContentSettings

from shared.config import Settings
from shared.errors import Conflict, ErrorDetail, NotFound
from shared.storage.clients import blob_container, storage_call


def blob_not_found(container: str, name: str) -> NotFound:
    """``NotFound`` naming the missing blob."""
    return NotFound(
        message=f"The blob '{name}' was not found in container '{container}'.",
        target=name,
        details=[ErrorDetail(code="NotFound", message=name, target=name)],
    )


class BlobStore:
    """Bytes and JSON documents in the app container, which is created on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._container_name = settings.app_container

    @property
    def container_name(self) -> str:
        return self._container_name

    @property
    def _container(self) -> ContainerClient:
        return blob_container(self._settings.storage_connection, self._container_name)

    def _what(self, verb: str, name: str) -> str:
        return f"{verb} blob '{name}' in container '{self._container_name}'"

    def put_bytes(
        self, name: str, data: bytes, *, overwrite: bool = True, content_type: str | None = None
    ) -> str | None:
        """Write ``data`` to blob ``name``; returns the new blob's ETag.

        Args:
            name: blob name.
            data: content.
            overwrite: replace an existing blob; otherwise an existing blob is a ``Conflict``.
            content_type: optional MIME type.

        Raises:
            Conflict: ``overwrite`` is False and the blob exists.
            StorageError: storage failed.
        """
        settings = ContentSettings(content_type=content_type) if content_type else None
        try:
            with storage_call(self._what("write", name)):
                result = self._container.get_blob_client(name).upload_blob(
                    data, overwrite=overwrite, content_settings=settings
                )
        except ResourceExistsError:
            raise Conflict(
                message=f"The blob '{name}' already exists in container '{self._container_name}'.",
                target=name,
            ) from None
        etag = result.get("etag")
        return str(etag) if etag else None

    def get_bytes(self, name: str) -> bytes:
        """The content of blob ``name``.

        Raises:
            NotFound: the blob does not exist.
            StorageError: storage failed.
        """
        try:
            with storage_call(self._what("read", name)):
                return self._container.download_blob(name).readall()
        except ResourceNotFoundError:
            raise blob_not_found(self._container_name, name) from None

    def get_bytes_and_etag(self, name: str) -> tuple[bytes, str | None]:
        """The content of blob ``name`` and the ETag of exactly that content.

        Raises:
            NotFound: the blob does not exist.
            StorageError: storage failed.
        """
        try:
            with storage_call(self._what("read", name)):
                downloader = self._container.download_blob(name)
                data = downloader.readall()
        except ResourceNotFoundError:
            raise blob_not_found(self._container_name, name) from None
        etag = downloader.properties.etag
        return data, str(etag) if etag else None

    def etag(self, name: str) -> str | None:
        """The current ETag of blob ``name`` (one HEAD request, no download).

        Raises:
            NotFound: the blob does not exist.
            StorageError: storage failed.
        """
        try:
            with storage_call(self._what("read properties of", name)):
                etag = self._container.get_blob_client(name).get_blob_properties().etag
        except ResourceNotFoundError:
            raise blob_not_found(self._container_name, name) from None
        return str(etag) if etag else None

    def put_json(self, name: str, obj: Any) -> None:
        """Write ``obj`` as UTF-8 JSON.

        Raises:
            StorageError: storage failed.
        """
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self.put_bytes(name, data, content_type="application/json")

    def get_json(self, name: str) -> Any:
        """Read and parse a JSON blob.

        Raises:
            NotFound: the blob does not exist.
            StorageError: storage failed.
        """
        return json.loads(self.get_bytes(name).decode("utf-8"))

    def exists(self, name: str) -> bool:
        """Whether blob ``name`` exists.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(self._what("check", name)):
            return bool(self._container.get_blob_client(name).exists())

    def delete(self, name: str) -> None:
        """Delete blob ``name`` (and its snapshots); a missing blob is not an error.

        Raises:
            StorageError: storage failed.
        """
        try:
            with storage_call(self._what("delete", name)):
                self._container.delete_blob(name, delete_snapshots="include")
        except ResourceNotFoundError:
            pass

    def list_names(self, prefix: str = "") -> list[str]:
        """Names of the blobs starting with ``prefix``, in name order.

        Raises:
            StorageError: storage failed.
        """
        with storage_call(f"list blobs '{prefix}*' in container '{self._container_name}'"):
            return [str(name) for name in self._container.list_blob_names(name_starts_with=prefix or None)]

    def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose name starts with ``prefix``.

        Args:
            prefix: a non-empty name prefix, e.g. ``"jobs/<jobId>/"``.

        Returns:
            How many blobs were deleted.

        Raises:
            ValueError: ``prefix`` is empty (that would empty the whole container).
            StorageError: storage failed.
        """
        if not prefix:
            raise ValueError("delete_prefix needs a non-empty prefix")
        deleted = 0
        for name in self.list_names(prefix):
            self.delete(name)
            deleted += 1
        return deleted
