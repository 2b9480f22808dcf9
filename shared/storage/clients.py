"""Storage clients, created once per process and reused, and the translation of azure-core errors.

Every store reaches Azure Storage (or Azurite) through the functions here:

- ``table_client`` / ``blob_container`` / ``queue_client`` return cached SDK clients (one per connection
  string and resource name, built with a short retry policy) and create the table, container or queue
  idempotently the first time a process asks for it.
- ``storage_call`` is a context manager that turns transport and service failures into
  :class:`shared.errors.StorageError`. The three "expected" outcomes a caller decides about itself
  (``ResourceNotFoundError``, ``ResourceExistsError`` and ``ResourceModifiedError`` for a failed ETag
  condition) pass through unchanged.

A ``StorageError`` reaches clients (a 503, or a failed job's ``errors``), so its message is generic
and actionable: no table, blob or container names, no storage host, port or URL. The call that
failed and the SDK's error go to the log (warning ``storage call failed: ...``).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
import requests.adapters
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.blob import LinearRetry as BlobLinearRetry
from azure.storage.queue import LinearRetry as QueueLinearRetry
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from shared.errors import StorageError

logger = logging.getLogger(__name__)

# Retry policy of every client. Short on purpose: Durable Functions retries activities and the HTTP
# caller can retry a 503, so a storage outage should surface in seconds, not minutes (the storage
# SDKs' default exponential policy waits 15 s, 18 s, 24 s...).
RETRY_TOTAL = 3
"""Retries after the first attempt, for every client."""
RETRY_BACKOFF_SECONDS = 0.5
"""Pause between retries (linear for blobs and queues; the Tables policy doubles it per retry)."""
CONNECTION_TIMEOUT_SECONDS = 10
"""Seconds to wait for a TCP connection before the attempt counts as failed."""
READ_TIMEOUT_SECONDS = 120
"""Seconds to wait for response data (large model blobs are read in chunks, each under this limit)."""
CONNECTION_POOL_SIZE = 64
"""Kept-alive connections per host. requests' default (10) is below the Functions worker's thread count
(and the local host's 32-thread pool), so busy handlers kept discarding and reopening connections."""

_PASS_THROUGH = (ResourceNotFoundError, ResourceExistsError, ResourceModifiedError)
_ensured: set[tuple[str, str, str]] = set()
_ensure_lock = threading.Lock()


def _describe(exc: AzureError) -> str:
    if isinstance(exc, HttpResponseError):
        code = getattr(exc, "error_code", None) or getattr(exc, "reason", None)
        status = exc.status_code
        first_line = (exc.message or "").strip().splitlines()[0] if exc.message else ""
        return f"HTTP {status} {code or ''}: {first_line}".strip()
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


UNREACHABLE_MESSAGE = (
    "The service's storage is unreachable right now. Retry in a few seconds; if this persists, the "
    "service operator should check that the storage account is running and reachable (details are in "
    "the service log)."
)
REFUSED_MESSAGE = (
    "The service's storage refused the request. Retry in a few seconds; if this persists, the service "
    "operator should check the storage account and its credentials (details are in the service log)."
)


def storage_error(what: str, exc: AzureError) -> StorageError:
    """The client-facing :class:`StorageError` for a failed storage call (generic; see the module doc).

    Args:
        what: the call in plain words, e.g. ``"read project 'demo' from table nerProjects"``; logged
            by :func:`storage_call`, never put in the error.
        exc: the azure-core exception.
    """
    del what  # deliberately not in the message: it names tables and blobs
    unreachable = isinstance(exc, (ServiceRequestError, ServiceResponseError))
    return StorageError(message=UNREACHABLE_MESSAGE if unreachable else REFUSED_MESSAGE)


@contextmanager
def storage_call(what: str) -> Iterator[None]:
    """Translate azure-core failures inside the block into :class:`StorageError`.

    ``ResourceNotFoundError``, ``ResourceExistsError`` and ``ResourceModifiedError`` propagate
    unchanged: whether they are an error (and which one) is the caller's decision.

    Args:
        what: the call in plain words, used in the error message.

    Raises:
        StorageError: for transport failures, authentication failures and other service errors.
    """
    try:
        yield
    except _PASS_THROUGH:
        raise
    except AzureError as exc:
        logger.warning("storage call failed: %s: %s", what, _describe(exc))
        raise storage_error(what, exc) from exc


def _storage_retry(policy: type[BlobLinearRetry] | type[QueueLinearRetry]) -> Any:
    # LinearRetry is annotated with an int backoff but sleeps fractional seconds just fine.
    backoff: Any = RETRY_BACKOFF_SECONDS
    return policy(backoff=backoff, random_jitter_range=0, retry_total=RETRY_TOTAL)


def _transport() -> RequestsTransport:
    """An HTTP transport whose connection pool fits many concurrent callers (one per cached client)."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=CONNECTION_POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return RequestsTransport(
        session=session,
        session_owner=True,
        connection_timeout=CONNECTION_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )


@functools.cache
def table_service(connection_string: str) -> TableServiceClient:
    """The process-wide Table service client for ``connection_string``."""
    return TableServiceClient.from_connection_string(
        connection_string,
        retry_total=RETRY_TOTAL,
        retry_backoff_factor=RETRY_BACKOFF_SECONDS,
        retry_backoff_max=10,
        transport=_transport(),
    )


@functools.cache
def blob_service(connection_string: str) -> BlobServiceClient:
    """The process-wide Blob service client for ``connection_string``."""
    return BlobServiceClient.from_connection_string(
        connection_string,
        retry_policy=_storage_retry(BlobLinearRetry),
        transport=_transport(),
    )


@functools.cache
def _table_client(connection_string: str, table_name: str) -> TableClient:
    return table_service(connection_string).get_table_client(table_name)


@functools.cache
def _container_client(connection_string: str, container: str) -> ContainerClient:
    return blob_service(connection_string).get_container_client(container)


@functools.cache
def _queue_client(connection_string: str, queue_name: str) -> QueueClient:
    # Base64 text is what the Functions queue extension expects (and writes) by default.
    return QueueClient.from_connection_string(
        connection_string,
        queue_name,
        message_encode_policy=TextBase64EncodePolicy(),
        message_decode_policy=TextBase64DecodePolicy(),
        retry_policy=_storage_retry(QueueLinearRetry),
        transport=_transport(),
    )


def _ensure_once(kind: str, connection_string: str, name: str, create: Callable[[], object]) -> None:
    key = (kind, connection_string, name)
    if key in _ensured:
        return
    with _ensure_lock:
        if key in _ensured:
            return
        with storage_call(f"create {kind} '{name}' if it does not exist"):
            try:
                create()
            except ResourceExistsError:
                pass  # created by another process or an earlier run: that is the goal
        _ensured.add(key)


def table_client(connection_string: str, table_name: str) -> TableClient:
    """The cached client of ``table_name``; the table is created on the first call in this process.

    Raises:
        StorageError: the table could not be created (storage unreachable, bad credentials).
    """
    service = table_service(connection_string)
    _ensure_once(
        "table", connection_string, table_name, lambda: service.create_table_if_not_exists(table_name)
    )
    return _table_client(connection_string, table_name)


def blob_container(connection_string: str, container: str, *, create: bool = True) -> ContainerClient:
    """The cached client of ``container``; created on the first call in this process if ``create``.

    Args:
        connection_string: storage connection string.
        container: container name.
        create: create the container if missing (False for the user's input containers, which we
            only read).

    Raises:
        StorageError: the container could not be created.
    """
    client = _container_client(connection_string, container)
    if create:
        _ensure_once("container", connection_string, container, client.create_container)
    return client


def queue_client(connection_string: str, queue_name: str) -> QueueClient:
    """The cached base64-text client of ``queue_name``; the queue is created on first use.

    Raises:
        StorageError: the queue could not be created.
    """
    client = _queue_client(connection_string, queue_name)
    _ensure_once("queue", connection_string, queue_name, client.create_queue)
    return client


def forget_created(connection_string: str | None = None) -> None:
    """Forget which tables, containers and queues this process created (e.g. after deleting one).

    Args:
        connection_string: only forget resources of this account; all when None.
    """
    with _ensure_lock:
        for key in list(_ensured):
            if connection_string is None or key[1] == connection_string:
                _ensured.discard(key)
