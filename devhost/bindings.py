"""Blob, table and queue bindings (input and output) against Azure Storage / Azurite.

Only what this app family needs: blob input/output by path, table input by partition/row key (or a
partition query), table output (upsert), queue output. Paths and keys may use binding expressions:
``{name}`` from the trigger's binding data (route parameters, queue JSON properties, ...),
``{Query.x}``, ``{rand-guid}``, ``{DateTime}`` and ``%Setting%``. All calls are blocking; the invoker
runs them in a worker thread.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import BinaryBase64EncodePolicy, QueueClient, QueueServiceClient

from devhost import settings as host_settings

_EXPRESSION = re.compile(r"\{([^{}]+)\}")


class BindingError(RuntimeError):
    """A binding cannot be resolved or executed; the message names the binding and the cause."""


def resolve_binding_expression(template: str, data: Mapping[str, Any], *, what: str) -> str:
    """Resolve ``%Setting%`` then ``{expr}`` in a binding path/key.

    Raises:
        BindingError: an expression has no value in the binding data.
    """
    text = host_settings.resolve_setting_refs(template, what=what)
    lowered = {str(k).lower(): v for k, v in data.items()}

    def replace(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        key = expression.lower()
        if key == "rand-guid":
            return str(uuid.uuid4())
        if key == "datetime":
            return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
        if key in lowered and lowered[key] is not None:
            return str(lowered[key])
        # Dotted access into JSON-ish values: {Query.name}, {body.field}.
        head, _, tail = key.partition(".")
        value: Any = lowered.get(head)
        for part in tail.split(".") if tail else []:
            if isinstance(value, Mapping):
                value = {str(k).lower(): v for k, v in value.items()}.get(part)
            else:
                value = None
        if value is None or not tail:
            raise BindingError(f"{what}: no value for binding expression '{{{expression}}}'")
        return str(value)

    return _EXPRESSION.sub(replace, text)


def binding_data_from_json(body: bytes | str | None) -> dict[str, Any]:
    """Top-level properties of a JSON object body (empty when the body is not a JSON object)."""
    if not body:
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # Not JSON, or nested deeper than the parser goes: no binding data (the function decides).
        return {}
    return dict(value) if isinstance(value, dict) else {}


def _split_blob_path(path: str, what: str) -> tuple[str, str]:
    container, _, name = path.strip("/").partition("/")
    if not container or not name:
        raise BindingError(f"{what}: blob path '{path}' must be '<container>/<blob name>'")
    return container, name


def _as_bytes(value: Any, what: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, io.IOBase) or hasattr(value, "read"):
        data = value.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise BindingError(f"{what}: cannot write a {type(value).__name__} (use str, bytes or a stream)")


class StorageBindings:
    """Executes storage bindings; clients are cached per connection string."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blob: dict[str, BlobServiceClient] = {}
        self._table: dict[str, TableServiceClient] = {}
        self._queue: dict[str, QueueServiceClient] = {}
        self._known_queues: set[tuple[str, str]] = set()

    def _connection(self, binding: Any) -> str:
        return host_settings.storage_connection_string(getattr(binding, "connection", None))

    def blob_service(self, connection: str) -> BlobServiceClient:
        with self._lock:
            if connection not in self._blob:
                self._blob[connection] = BlobServiceClient.from_connection_string(connection)
            return self._blob[connection]

    def table_service(self, connection: str) -> TableServiceClient:
        with self._lock:
            if connection not in self._table:
                self._table[connection] = TableServiceClient.from_connection_string(connection)
            return self._table[connection]

    def queue_client(self, connection: str, queue_name: str) -> QueueClient:
        """A QueueClient that base64-encodes bytes, as the Functions queue extension expects.

        Text is sent as its UTF-8 bytes, which gives exactly what ``TextBase64EncodePolicy`` sends.
        """
        return QueueClient.from_connection_string(
            connection, queue_name, message_encode_policy=BinaryBase64EncodePolicy()
        )

    # -- blob ---------------------------------------------------------------------------------

    def blob_input(self, binding: Any, data: Mapping[str, Any], annotation: Any, function_name: str) -> Any:
        """The blob as ``InputStream`` / ``bytes`` / ``str`` (by annotation); None when it does not exist."""
        what = f"function '{function_name}' binding '{binding.name}'"
        path = resolve_binding_expression(binding.path, data, what=what)
        container, name = _split_blob_path(path, what)
        client = self.blob_service(self._connection(binding)).get_blob_client(container, name)
        try:
            downloaded = client.download_blob()
            content = downloaded.readall()
        except ResourceNotFoundError:
            return None
        if annotation is bytes or getattr(binding, "data_type", None) in {"binary", "BINARY"}:
            return content
        if annotation is str:
            return content.decode("utf-8")
        return func.blob.InputStream(data=content, name=path, uri=client.url, length=len(content))

    def blob_output(self, binding: Any, data: Mapping[str, Any], value: Any, function_name: str) -> None:
        """Write the value to the blob at the binding's path (creating the container)."""
        if value is None:
            return
        what = f"function '{function_name}' binding '{binding.name}'"
        container, name = _split_blob_path(resolve_binding_expression(binding.path, data, what=what), what)
        service = self.blob_service(self._connection(binding))
        try:
            service.create_container(container)
        except ResourceExistsError:
            pass
        service.get_blob_client(container, name).upload_blob(_as_bytes(value, what), overwrite=True)

    # -- table --------------------------------------------------------------------------------

    def table_input(self, binding: Any, data: Mapping[str, Any], function_name: str) -> str | None:
        """JSON text: one entity (partition + row key) or an array (partition and/or filter, take)."""
        what = f"function '{function_name}' binding '{binding.name}'"
        table_name = resolve_binding_expression(binding.table_name, data, what=what)
        table = self.table_service(self._connection(binding)).get_table_client(table_name)
        partition = (
            resolve_binding_expression(binding.partition_key, data, what=what) if binding.partition_key else None
        )
        row = resolve_binding_expression(binding.row_key, data, what=what) if binding.row_key else None
        try:
            if partition is not None and row is not None:
                try:
                    return json.dumps(_entity_json(table.get_entity(partition, row)))
                except ResourceNotFoundError:
                    return None
            clauses = []
            parameters: dict[str, Any] = {}
            if partition is not None:
                clauses.append("PartitionKey eq @pk")
                parameters["pk"] = partition
            if getattr(binding, "filter", None):
                clauses.append(f"({resolve_binding_expression(binding.filter, data, what=what)})")
            query = " and ".join(clauses)
            entities: Iterable[Any] = (
                table.query_entities(query, parameters=parameters) if query else table.list_entities()
            )
            take = int(binding.take) if getattr(binding, "take", None) else None
            items: list[dict[str, Any]] = []
            for entity in entities:
                if take is not None and len(items) >= take:
                    break
                items.append(_entity_json(entity))
            return json.dumps(items)
        except ResourceNotFoundError:
            return None if row is not None else json.dumps([])

    def table_output(self, binding: Any, data: Mapping[str, Any], value: Any, function_name: str) -> None:
        """Upsert (replace) one entity or a list of entities given as dicts or JSON text."""
        if value is None:
            return
        what = f"function '{function_name}' binding '{binding.name}'"
        if isinstance(value, str | bytes):
            value = json.loads(value)
        items = value if isinstance(value, list) else [value]
        table_name = resolve_binding_expression(binding.table_name, data, what=what)
        table = self.table_service(self._connection(binding)).create_table_if_not_exists(table_name)
        for item in items:
            if not isinstance(item, dict):
                raise BindingError(f"{what}: table output items must be JSON objects")
            entity = dict(item)
            entity.setdefault(
                "PartitionKey",
                resolve_binding_expression(binding.partition_key, data, what=what) if binding.partition_key else None,
            )
            entity.setdefault(
                "RowKey", resolve_binding_expression(binding.row_key, data, what=what) if binding.row_key else None
            )
            if entity["PartitionKey"] is None or entity["RowKey"] is None:
                raise BindingError(f"{what}: every table entity needs PartitionKey and RowKey")
            table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    # -- queue --------------------------------------------------------------------------------

    def queue_output(self, binding: Any, data: Mapping[str, Any], value: Any, function_name: str) -> int:
        """Send one message per item (str, bytes, QueueMessage, dict/list as JSON); returns the count."""
        if value is None:
            return 0
        what = f"function '{function_name}' binding '{binding.name}'"
        queue_name = resolve_binding_expression(binding.queue_name, data, what=what).lower()
        connection = self._connection(binding)
        client = self.queue_client(connection, queue_name)
        if (connection, queue_name) not in self._known_queues:
            try:
                client.create_queue()
            except ResourceExistsError:
                pass
            self._known_queues.add((connection, queue_name))
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            client.send_message(_queue_bytes(item, what))
        return len(items)


def _queue_bytes(item: Any, what: str) -> bytes:
    if isinstance(item, str):
        return item.encode("utf-8")
    if isinstance(item, bytes | bytearray):
        return bytes(item)
    if isinstance(item, func.QueueMessage):
        return item.get_body()
    if isinstance(item, dict | list | int | float | bool):
        return json.dumps(item).encode("utf-8")
    raise BindingError(f"{what}: cannot send a {type(item).__name__} as a queue message")


def _entity_json(entity: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in dict(entity).items():
        if isinstance(value, datetime):
            result[key] = value.isoformat()
        elif isinstance(value, bytes):
            result[key] = base64.b64encode(value).decode()
        elif isinstance(value, int | float | str | bool) or value is None:
            result[key] = value
        else:
            result[key] = str(value)
    metadata = getattr(entity, "metadata", None) or {}
    if metadata.get("timestamp") is not None:
        result["Timestamp"] = metadata["timestamp"].isoformat()
    if metadata.get("etag") is not None:
        result["ETag"] = metadata["etag"]
    return result
