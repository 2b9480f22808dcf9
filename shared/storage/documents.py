"""Reading the user's documents from the project's ``storageInputContainerName`` container.

Documents are streamed (a generator) in the order asked for, a few downloads in flight at a time on a
small thread pool, so a large corpus is never held in memory and the per-blob round trips overlap.
Sizes are bounded before anything large is transferred: UTF-8 never needs more than 3 bytes per UTF-16
code unit, so a blob larger than ``4 * MAX_DOCUMENT_CHARS`` bytes (a generous bound, plus a byte-order
mark) is certainly too long and is refused unread; :func:`shared.ner.documents.decode_document` then
applies the exact checks. :func:`check_documents` checks existence and size of many documents from one
container listing, without downloading any.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import ContainerClient

from shared.config import Settings
from shared.errors import ErrorDetail, InvalidArgument
from shared.ner.documents import MAX_DOCUMENT_CHARS, decode_document
from shared.storage.clients import blob_container, storage_call

CONTAINER_TARGET = "storageInputContainerName"
MAX_DOCUMENT_BYTES = 4 * MAX_DOCUMENT_CHARS + 3
"""Larger blobs are refused unread: they cannot hold an acceptable document."""
DOWNLOAD_WORKERS = 8
"""Documents downloaded concurrently by one reader (network-bound: threads overlap the round trips)."""


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


def _too_large(location: str, size: int) -> InvalidArgument:
    return _document_error(
        location,
        f"Document '{location}' is {size:,} bytes, too long to hold at most {MAX_DOCUMENT_CHARS:,} "
        "characters; split it into smaller documents.",
    )


def _not_found(location: str, container: str) -> InvalidArgument:
    return _document_error(
        location,
        f"Document '{location}' was not found in the storage input container '{container}'; upload it "
        "or remove it from the project's assets.",
    )


def _total_size(content_range: str | None, fallback: int) -> int:
    """The blob's full size from a ``Content-Range`` value such as ``bytes 0-99/1234``."""
    if content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        if total.isdigit():
            return int(total)
    return fallback


def check_documents(settings: Settings, container: str, locations: Sequence[str]) -> list[InvalidArgument]:
    """Check that documents exist and are not empty or oversized, from one listing of the container.

    Nothing is downloaded: names and sizes come from listing the blobs under the locations' common
    prefix (a few requests of 5,000 names each). Decoding and label checks need the text and happen
    when the documents are read (:func:`iter_document_results`).

    Args:
        settings: app settings (the storage account).
        container: the project's ``storageInputContainerName``.
        locations: the document locations (blob names).

    Returns:
        One error per unusable document, in the order of ``locations`` (target = its location, same
        messages as :func:`read_document`); empty when every document looks usable.

    Raises:
        InvalidArgument: (target ``storageInputContainerName``) the container is missing or its name is invalid.
        StorageError: storage failed.
    """
    client = _open_container(settings, container)
    wanted = set(locations)
    sizes: dict[str, int] = {}
    prefix = os.path.commonprefix(list(wanted)) if wanted else ""
    with storage_call(f"list documents '{prefix}*' in container '{container}'"):
        for blob in client.list_blobs(name_starts_with=prefix or None):
            if blob.name in wanted:
                sizes[blob.name] = int(blob.size or 0)
    problems: list[InvalidArgument] = []
    for location in locations:
        size = sizes.get(location)
        if size is None:
            problems.append(_not_found(location, container))
        elif size > MAX_DOCUMENT_BYTES:
            problems.append(_too_large(location, size))
        elif size == 0:
            try:
                decode_document(location, b"")  # the exact "empty document" error
            except InvalidArgument as error:
                problems.append(error)
    return problems


def read_document(container_client: ContainerClient, location: str) -> str:
    """Read and decode one document from an open input container, in one ranged request.

    At most ``MAX_DOCUMENT_BYTES + 1`` bytes are transferred: the response's ``Content-Range`` carries
    the blob's full size, so an oversized blob is refused without downloading the rest of it.

    Raises:
        InvalidArgument: (target = location) the document is missing, too large, empty or not UTF-8.
        StorageError: storage failed.
    """
    container = container_client.container_name
    try:
        with storage_call(f"read document '{location}' in container '{container}'"):
            try:
                downloader = container_client.download_blob(location, offset=0, length=MAX_DOCUMENT_BYTES + 1)
            except HttpResponseError as exc:
                # A range request on an existing but empty blob is answered 416 (range not satisfiable).
                if exc.status_code != 416:
                    raise
                return decode_document(location, b"")
            size = _total_size(downloader.properties.content_range, downloader.size)
            if size > MAX_DOCUMENT_BYTES:
                raise _too_large(location, size)
            data = downloader.readall()
    except ResourceNotFoundError:
        raise _not_found(location, container) from None
    if len(data) > MAX_DOCUMENT_BYTES:  # cannot happen with the range above; kept as a hard bound
        raise _too_large(location, len(data))
    return decode_document(location, data)


def _read_or_error(client: ContainerClient, location: str) -> str | InvalidArgument:
    try:
        return read_document(client, location)
    except InvalidArgument as error:
        return error


def iter_document_results(
    settings: Settings, container: str, locations: Iterable[str], *, workers: int = DOWNLOAD_WORKERS
) -> Iterator[tuple[str, str | InvalidArgument]]:
    """Yield ``(location, text or error)`` for each document, in order, downloading a few concurrently.

    A document the user must fix (missing, too large, empty, not UTF-8) is yielded as its
    ``InvalidArgument`` so the caller can report every bad document, not just the first. At most
    ``2 * workers`` documents are downloaded ahead of the consumer, so memory stays bounded. The
    container is checked when the generator starts.

    Args:
        settings: app settings (the storage account).
        container: the project's ``storageInputContainerName``.
        locations: document locations (blob names) in the order to yield them.
        workers: concurrent downloads (1 reads one blob at a time).

    Raises:
        InvalidArgument: (target ``storageInputContainerName``) the container is missing or its name is invalid.
        StorageError: storage failed.
    """
    client = _open_container(settings, container)
    if workers <= 1:
        for location in locations:
            yield location, _read_or_error(client, location)
        return
    window = 2 * workers
    pending: deque[tuple[str, Future[str | InvalidArgument]]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="read-documents") as pool:
        try:
            for location in locations:
                pending.append((location, pool.submit(_read_or_error, client, location)))
                if len(pending) >= window:
                    done_location, future = pending.popleft()
                    yield done_location, future.result()
            while pending:
                done_location, future = pending.popleft()
                yield done_location, future.result()
        finally:
            # The consumer stopped early (or a read failed): do not start the downloads still queued.
            for _, future in pending:
                future.cancel()


def iter_documents(
    settings: Settings, container: str, locations: Iterable[str], *, workers: int = DOWNLOAD_WORKERS
) -> Iterator[tuple[str, str]]:
    """Yield ``(location, text)`` for each document, in order, downloading a few concurrently.

    The container is checked before the first document is read (when the generator starts).

    Args:
        settings: app settings (the storage account).
        container: the project's ``storageInputContainerName``.
        locations: document locations (blob names) in the order to read them.
        workers: concurrent downloads (see :func:`iter_document_results`).

    Yields:
        The location and its decoded text (see :func:`shared.ner.documents.decode_document`).

    Raises:
        InvalidArgument: the container is missing (target ``storageInputContainerName``), or a document is
            missing, too large, empty or not UTF-8 (target = its location), raised when the consumer
            reaches that document.
        StorageError: storage failed.
    """
    for location, result in iter_document_results(settings, container, locations, workers=workers):
        if isinstance(result, InvalidArgument):
            raise result
        yield location, result
