"""Reading the user's documents from the project's ``storageInputContainerName`` container.

Documents are read one at a time (a generator), so a large corpus is never held in memory. The blob
size is checked before downloading: UTF-8 never needs more than 3 bytes per UTF-16 code unit, so a blob
larger than ``4 * MAX_DOCUMENT_CHARS`` bytes (a generous bound, plus a byte-order mark) is certainly too
long and is refused without being read; :func:`shared.ner.documents.decode_document` then applies the exact checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from shared.config import Settings
from shared.errors import ErrorDetail, InvalidArgument
from shared.ner.documents import MAX_DOCUMENT_CHARS, decode_document
from shared.storage.clients import blob_container, storage_call

CONTAINER_TARGET = "storageInputContainerName"
MAX_DOCUMENT_BYTES = 4 * MAX_DOCUMENT_CHARS + 3
"""Larger blobs are refused unread: they cannot hold an acceptable document."""


def _missing_container(container: str) -> InvalidArgument:
    message = (
        f"The storage input container '{container}' (storageInputContainerName) was not found in the "
        "storage account; create it and upload the project's documents, or fix the project's "
        "storageInputContainerName."
    )
    return InvalidArgument(
        message=message,
        target=CONTAINER_TARGET,
        details=[ErrorDetail(code="InvalidArgument", message=message, target=CONTAINER_TARGET)],
    )


def _invalid_container_name(container: str, exc: HttpResponseError) -> InvalidArgument:
    message = (
        f"The storage input container name '{container}' (storageInputContainerName) is not a valid "
        f"container name ({exc.reason or exc.status_code}): use 3-63 lowercase letters, digits and hyphens."
    )
    return InvalidArgument(message=message, target=CONTAINER_TARGET)


def _document_error(location: str, message: str) -> InvalidArgument:
    return InvalidArgument(
        message=message,
        target=location,
        details=[ErrorDetail(code="InvalidDocument", message=message, target=location)],
    )


def _open_container(settings: Settings, container: str) -> ContainerClient:
    if not container:
        raise InvalidArgument(
            message="The project has no storageInputContainerName: set the container holding its documents.",
            target=CONTAINER_TARGET,
        )
    client = blob_container(settings.storage_connection, container, create=False)
    try:
        with storage_call(f"read properties of input container '{container}'"):
            try:
                client.get_container_properties()
            except HttpResponseError as exc:
                # The service answers 400 (InvalidResourceName / OutOfRangeInput) for an impossible name.
                if exc.status_code == 400:
                    raise _invalid_container_name(container, exc) from exc
                raise
    except ResourceNotFoundError:
        raise _missing_container(container) from None
    return client


def check_container(settings: Settings, container: str) -> None:
    """Check that the project's input container exists.

    Args:
        settings: app settings (the storage account).
        container: the project's ``storageInputContainerName``.

    Raises:
        InvalidArgument: (target ``storageInputContainerName``) the container is missing or its name is invalid.
        StorageError: storage failed.
    """
    _open_container(settings, container)


def read_document(container_client: ContainerClient, location: str) -> str:
    """Read and decode one document from an open input container.

    Raises:
        InvalidArgument: (target = location) the document is missing, too large, empty or not UTF-8.
        StorageError: storage failed.
    """
    container = container_client.container_name
    blob = container_client.get_blob_client(location)
    try:
        with storage_call(f"read properties of document '{location}' in container '{container}'"):
            size = int(blob.get_blob_properties().size)
        if size > MAX_DOCUMENT_BYTES:
            raise _document_error(
                location,
                f"Document '{location}' is {size:,} bytes, too long to hold at most {MAX_DOCUMENT_CHARS:,} "
                "characters; split it into smaller documents.",
            )
        with storage_call(f"read document '{location}' in container '{container}'"):
            data = blob.download_blob().readall()
    except ResourceNotFoundError:
        raise _document_error(
            location,
            f"Document '{location}' was not found in the storage input container '{container}'; upload it "
            "or remove it from the project's assets.",
        ) from None
    if len(data) > MAX_DOCUMENT_BYTES:  # it grew between the size check and the download
        raise _document_error(location, f"Document '{location}' is {len(data):,} bytes, too long; split it.")
    return decode_document(location, data)


def iter_documents(settings: Settings, container: str, locations: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Yield ``(location, text)`` for each document, reading one blob at a time.

    The container is checked before the first document is read (when the generator starts).

    Args:
        settings: app settings (the storage account).
        container: the project's ``storageInputContainerName``.
        locations: document locations (blob names) in the order to read them.

    Yields:
        The location and its decoded text (see :func:`shared.ner.documents.decode_document`).

    Raises:
        InvalidArgument: the container is missing (target ``storageInputContainerName``), or a document is
            missing, too large, empty or not UTF-8 (target = its location).
        StorageError: storage failed.
    """
    client = _open_container(settings, container)
    for location in locations:
        yield location, read_document(client, location)
